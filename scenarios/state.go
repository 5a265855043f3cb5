package scenarios

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// ConnState is a connection's state as the client sees it. The values are
// the data-state words of the browser's terminal header and the embed's
// `terminal` event.
type ConnState string

// Connection states, in the order a connection can reach them.
const (
	StateConnecting  ConnState = "connecting"
	StateConnected   ConnState = "connected" // the TCP connection is up
	StateSilent      ConnState = "silent"    // connected, no greeting (465 met in plaintext)
	StateSecure      ConnState = "tls"       // a TLS handshake succeeded (implicit or STARTTLS)
	StateClosed      ConnState = "closed"    // hung up, by either side, or a dial that failed otherwise
	StateRefused     ConnState = "refused"   // the dial was refused
	StateTimedOut    ConnState = "timeout"   // the dial timed out (the network dropped it)
	StateUnknownHost ConnState = "unknown"   // the host is not in the world
)

// StateChange is one connection-state change, with what a client shows
// for it. Every client of the sandbox (the lesson engine, the browser
// terminal) reports its connections this way and words them with
// [StateChange.Note], so that the same event reads the same everywhere.
type StateChange struct {
	State ConnState
	// Target is the connection's door (and its profile while connecting).
	Target Target
	// Err is the dial's error for refused, timed out, unknown host and a
	// failed dial, and the reason for a close when there is one.
	Err error
	// Wait is how long a silent server has been silent.
	Wait time.Duration
	// ByPeer is true when the server closed the connection.
	ByPeer bool
}

// Note is the transcript line telnet would print for the change, or ""
// when the transcript says it already (the TLS handshake lines).
func (c StateChange) Note() string { return c.NoteIn(nil) }

// NoteIn is Note with portlab's own sentences (why the gateway ended a
// connection) in cat's language; telnet's words stay as telnet prints
// them. A nil cat is English.
func (c StateChange) NoteIn(cat *i18n.Catalog) string {
	t := c.Target
	switch c.State {
	case StateConnecting:
		if t.Profile != "" {
			return fmt.Sprintf("Trying %s... (port %d, profile %s)", t.Host, t.Port, t.Profile)
		}
		return fmt.Sprintf("Trying %s... (port %d)", t.Host, t.Port)
	case StateConnected:
		return "Connected to " + t.Host + "."
	case StateSilent:
		return fmt.Sprintf("No greeting after %s: the server is silent. (A 465 door waits for a TLS ClientHello: open %s %d tls.)", c.Wait, t.Host, t.Port)
	case StateRefused, StateTimedOut:
		return "telnet: Unable to connect to remote host: " + DialFailureIn(cat, c.Err)
	case StateUnknownHost:
		return fmt.Sprintf("telnet: could not resolve %s/%d: %s", t.Host, t.Port, tunnel.ErrUnknownHost)
	case StateClosed:
		switch {
		case c.Err != nil && !c.ByPeer:
			return "telnet: Unable to connect to remote host: " + DialFailureIn(cat, c.Err)
		case c.Err != nil:
			return "Connection closed by foreign host: " + DialFailureIn(cat, c.Err)
		case c.ByPeer:
			return "Connection closed by foreign host."
		}
		return "Connection closed."
	}
	return ""
}

// DialState is the state a failed dial leaves: refused, timed out,
// unknown host, or closed for any other failure.
func DialState(err error) ConnState {
	switch {
	case errors.Is(err, tunnel.ErrRefused):
		return StateRefused
	case errors.Is(err, tunnel.ErrTimedOut), errors.Is(err, context.DeadlineExceeded):
		return StateTimedOut
	case errors.Is(err, tunnel.ErrUnknownHost):
		return StateUnknownHost
	}
	return StateClosed
}

// Refuser is who refused a connection. A TCP client sees the same
// "Connection refused" either way; the sandbox knows, and tells the
// student on the port board and the route diagram.
type Refuser int

// Who refused.
const (
	NotRefused Refuser = iota
	// RefusedByNetwork: the profile refused the port before it reached
	// the host (tunnel close code 4001).
	RefusedByNetwork
	// RefusedByHost: the network let it through; the host has no door
	// on that port (close code 4006).
	RefusedByHost
)

// RefusedBy says who refused the dial that failed with err.
func RefusedBy(err error) Refuser {
	var ce *tunnel.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code == tunnel.CodeNoDoor:
		return RefusedByHost
	case errors.Is(err, tunnel.ErrRefused):
		return RefusedByNetwork
	}
	return NotRefused
}

// DialFailure words why a connection could not be made or was ended by
// the gateway, in English: telnet's words for refused and timed out, a
// sentence for each gateway close code.
func DialFailure(err error) string { return DialFailureIn(nil, err) }

// DialFailureIn is DialFailure with the gateway's sentences in cat's
// language (nil: English); telnet's own words stay as telnet prints them.
func DialFailureIn(cat *i18n.Catalog, err error) string {
	var ce *tunnel.CloseError
	switch {
	case errors.Is(err, tunnel.ErrRefused):
		return tunnel.ErrRefused.Error()
	case errors.Is(err, tunnel.ErrTimedOut), errors.Is(err, context.DeadlineExceeded):
		return tunnel.ErrTimedOut.Error()
	case errors.Is(err, tunnel.ErrUnknownHost):
		return tunnel.ErrUnknownHost.Error()
	case errors.As(err, &ce):
		if key := closeWords[ce.Code]; key != "" {
			return cat.T(key)
		}
		if ce.Reason != "" {
			return ce.Reason
		}
		if ce.Code == tunnel.CodeBadRequest {
			return cat.T("tunnel.bad-request")
		}
		return ce.Error()
	case err != nil:
		return err.Error()
	}
	return ""
}

// closeWords are the catalog keys of the gateway's close codes that
// portlab words itself.
var closeWords = map[int]string{
	tunnel.CodeIdle:      "tunnel.idle",
	tunnel.CodeTooMany:   "tunnel.too-many",
	tunnel.CodeNoSuchLab: "tunnel.no-such-lab",
	tunnel.CodeTooBig:    "tunnel.too-big",
	tunnel.CodeGoingAway: "tunnel.going-away",
}

// Mark is the transcript mark of a line, as swaks writes it: "->" sent,
// "<-" received, "~>" and "<~" inside TLS, "===" a TLS event or a note of
// the client. The browser and the headless runner use the same marks.
func Mark(l session.Line) string {
	switch {
	case l.Who == session.Client && l.Secure:
		return "~>"
	case l.Who == session.Client:
		return "->"
	case l.Who == session.Server && l.Secure:
		return "<~"
	case l.Who == session.Server:
		return "<-"
	}
	return "==="
}
