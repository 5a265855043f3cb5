// Package term is the browser terminal's logic without the DOM: it runs an
// SMTP conversation through scenarios/session for the lines a student
// types, keeps the input history, builds the AUTH and message helpers'
// commands, and tells a [UI] what to show: transcript lines marked the way
// swaks marks them, the connection state, and the port board's verdicts.
//
// It has no syscall/js, so its tests run natively; wasm/ wires it to the
// page.
package term

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/explain"
	"github.com/portlab/portlab/scenarios/session"
)

// Display is one transcript line as the page shows it.
type Display struct {
	// Who is "client", "server", "tls", "note", "error", "typed" or
	// "hint" (a CSS class).
	Who string
	// Mark is swaks's marker: "->" sent, "<-" received, "~>" and "<~"
	// inside TLS, "===" a note, an error or a TLS event.
	Mark string
	// Code is the reply code of a server line ("250"), "" otherwise.
	Code string
	// Text is the rest of the line, after Code when there is one.
	Text string
	// Secure is true for lines that crossed the wire inside TLS.
	Secure bool
	// Title is shown on hover: base64 AUTH data decoded.
	Title string
	// Reply marks a server line that ends its reply (the last line of a
	// multi-line one): the line the student can open to an explanation,
	// of the reply as a whole, in Context.
	Reply   bool
	Context explain.Context
	// Close is the gateway's close code behind a failed or ended
	// connection's line (4001 refused, 4002 timed out, …), explained
	// with [explain.Catalog.Close]; 0 for other lines.
	Close int
}

// ConnState is the terminal's connection state, the data-state of its
// status element: the lesson engine's [scenarios.ConnState], so the
// terminal and the player show the same states.
type ConnState = scenarios.ConnState

// Connection states.
const (
	Idle        ConnState = "idle"
	Connecting            = scenarios.StateConnecting
	Connected             = scenarios.StateConnected
	Silent                = scenarios.StateSilent
	Secure                = scenarios.StateSecure
	Closed                = scenarios.StateClosed
	Refused               = scenarios.StateRefused
	TimedOut              = scenarios.StateTimedOut
	UnknownHost           = scenarios.StateUnknownHost
)

// PortFor is the port board's verdict for a connection state, or "" when
// the state says nothing about the door (closed).
func PortFor(s ConnState) PortState {
	switch s {
	case Connecting:
		return PortConnecting
	case Connected:
		return PortOpen
	case Silent:
		return PortSilent
	case Secure:
		return PortTLS
	case Refused:
		return PortRefused
	case TimedOut:
		return PortTimeout
	case UnknownHost:
		return PortUnknown
	}
	return ""
}

// PortForChange is [PortFor] for a state change, telling a refusal by
// the network from a host without the door.
func PortForChange(ch scenarios.StateChange) PortState {
	p := PortFor(ch.State)
	if p == PortRefused && scenarios.RefusedBy(ch.Err) == scenarios.RefusedByHost {
		return PortNoDoor
	}
	return p
}

// PortState is a port board cell's data-state.
type PortState string

// Port board states, in the order a connection can reach them.
const (
	PortUntried      PortState = "untried"
	PortConnecting   PortState = "connecting"
	PortOpen         PortState = "open"
	PortSilent       PortState = "silent"  // connected, no greeting (465 in plaintext)
	PortRefused      PortState = "refused" // by the network (the profile)
	PortNoDoor       PortState = "no-door" // by the host: it has no door there
	PortTimeout      PortState = "timeout"
	PortUnknown      PortState = "unknown"
	PortTLS          PortState = "tls"
	PortAuthNeedsTLS PortState = "auth-needs-tls"
	PortAuthOK       PortState = "auth-ok"
)

// Verdict is the words a port board cell shows for a state, in c's
// language (nil: English).
func (p PortState) Verdict(c *i18n.Catalog) string {
	switch p {
	case PortUntried:
		return c.T("board.untried")
	case PortConnecting:
		return c.T("board.connecting")
	case PortOpen:
		return c.T("board.open")
	case PortSilent:
		return c.T("board.silent")
	case PortRefused:
		return c.T("board.refused")
	case PortNoDoor:
		return c.T("board.no-door")
	case PortTimeout:
		return c.T("board.timeout")
	case PortUnknown:
		return c.T("board.unknown")
	case PortTLS:
		return c.T("board.tls")
	case PortAuthNeedsTLS:
		return c.T("board.auth-needs-tls")
	case PortAuthOK:
		return c.T("board.auth-ok")
	}
	return string(p)
}

// VerdictAt is [PortState.Verdict] naming who refused: the profile for
// a refusal by the network, the host for a missing door.
func (p PortState) VerdictAt(c *i18n.Catalog, profile, host string) string {
	switch {
	case p == PortRefused && profile != "":
		return c.T("route.net.refused", profile)
	case p == PortNoDoor && host != "":
		return c.T("route.door.none", host)
	}
	return p.Verdict(c)
}

// FromLine turns a session transcript line into its display form, with
// the marks the headless runner writes too ([scenarios.Mark]).
func FromLine(l session.Line) Display {
	d := Display{Text: printable(l.Text), Secure: l.Secure, Title: l.Decoded, Mark: scenarios.Mark(l)}
	switch l.Who {
	case session.Client:
		d.Who = "client"
	case session.Server:
		d.Who = "server"
		if code, rest, ok := splitCode(d.Text); ok {
			d.Code, d.Text = code, rest
		}
	case session.TLS:
		d.Who = "tls"
	default:
		d.Who = "note"
	}
	if d.Title != "" {
		d.Title = "base64 decoded: " + d.Title
	}
	return d
}

// Note is a line of the client software, like telnet's "Trying ...".
func Note(text string) Display { return FromLine(session.Line{Who: session.Note, Text: text}) }

// Typed is a line as the student typed it, echoed when it does not go to
// the server as typed (a terminal command, a line refused): ">" like the
// input's prompt.
func Typed(text string) Display {
	return Display{Who: "typed", Mark: ">", Text: printable(text)}
}

// Hint is advice about what the student just typed.
func Hint(text string) Display {
	d := Note(text)
	d.Who = "hint"
	return d
}

// Error is a failure the student must notice: a note shown as an error.
func Error(text string) Display {
	d := Note(text)
	d.Who = "error"
	return d
}

// splitCode splits "250-PIPELINING" into "250" and "-PIPELINING".
func splitCode(s string) (code, rest string, ok bool) {
	if len(s) < 3 || s[0] < '2' || s[0] > '5' || !isDigit(s[1]) || !isDigit(s[2]) {
		return "", s, false
	}
	if len(s) > 3 && s[3] != ' ' && s[3] != '-' {
		return "", s, false
	}
	return s[:3], s[3:], true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// printable replaces control characters and invalid UTF-8 (a TLS alert met
// by a plaintext client) with visible escapes, so the transcript never
// holds raw binary.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\t') {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case unicode.IsControl(r) && r != '\t':
			if r < 0x100 {
				b.WriteString(`\x`)
				b.WriteString(hex2(byte(r)))
			} else {
				b.WriteString(`\u`)
			}
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}
