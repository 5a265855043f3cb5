package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Target names one door of the simulated world and the network to cross.
type Target struct {
	// Server is the portlab base URL: http://host:port, https://..., or
	// ws:// / wss:// directly. A path prefix is kept.
	Server string
	// Lab is the lab id; empty means the shared "classroom" lab.
	Lab string
	// Key is the lab's secret key, which a named lab requires.
	Key string
	// Profile is the network profile; empty means the lab's profile.
	Profile string
	// Host is a simulated host name such as "smtp.relay.test".
	Host string
	// Port is the TCP port, 1 to 65535.
	Port int
}

// String returns host:port, the way telnet users write it.
func (t Target) String() string {
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
}

// Validate reports a missing host or a port out of range, as the gateway
// would with [CodeBadRequest].
func (t Target) Validate() error {
	if t.Host == "" {
		return &CloseError{Code: CodeBadRequest, Reason: "missing host"}
	}
	if t.Port < 1 || t.Port > 65535 {
		return &CloseError{Code: CodeBadRequest, Reason: fmt.Sprintf("port %d is not between 1 and 65535", t.Port)}
	}
	return nil
}

// URL returns the WebSocket URL that dials t.
func (t Target) URL() (string, error) {
	if err := t.Validate(); err != nil {
		return "", err
	}
	u, err := url.Parse(t.Server)
	if err != nil {
		return "", fmt.Errorf("tunnel: bad server URL %q: %w", t.Server, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("tunnel: bad server URL %q: scheme must be http, https, ws or wss", t.Server)
	}
	if u.Host == "" {
		return "", fmt.Errorf("tunnel: bad server URL %q: no host", t.Server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + Path
	u.RawPath = ""
	u.RawQuery = t.query().Encode()
	u.Fragment = ""
	return u.String(), nil
}

func (t Target) query() url.Values {
	q := url.Values{}
	if t.Lab != "" {
		q.Set("lab", t.Lab)
	}
	if t.Key != "" {
		q.Set("key", t.Key)
	}
	q.Set("host", t.Host)
	q.Set("port", strconv.Itoa(t.Port))
	if t.Profile != "" {
		q.Set("profile", t.Profile)
	}
	return q
}

// TargetFromQuery is the gateway's half of [Target.URL]: it reads lab,
// key, host, port and profile from a request's query. Errors are *[CloseError]
// with [CodeBadRequest], ready to be sent as the close frame.
func TargetFromQuery(q url.Values) (Target, error) {
	t := Target{Lab: q.Get("lab"), Key: q.Get("key"), Host: q.Get("host"), Profile: q.Get("profile")}
	p := q.Get("port")
	if p == "" {
		return t, &CloseError{Code: CodeBadRequest, Reason: "missing port"}
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return t, &CloseError{Code: CodeBadRequest, Reason: fmt.Sprintf("port %q is not a number", p)}
	}
	t.Port = n
	return t, t.Validate()
}

// Info is the "connected" control message: what the gateway did with the
// connection. The fields other than Type, Host and Port are for display.
type Info struct {
	Type    string `json:"type"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	Profile string `json:"profile"`
	// Rule names the profile rule that decided the connection's fate.
	Rule string `json:"rule"`
	// InterceptedBy is the host that really answers when the network
	// intercepts the port (hotel Wi-Fi answering port 25 itself).
	InterceptedBy string `json:"intercepted_by"`
	// Stripped is true when a middlebox removes STARTTLS on this path.
	Stripped bool `json:"stripped"`
}

// The errors a telnet user would see. A *[CloseError] with the matching
// code is errors.Is each of them, and its Error() prints the same words.
//
// The texts are capitalised because they are telnet's exact words.
var (
	//lint:ignore ST1005 telnet's exact words
	ErrRefused = errors.New("Connection refused")
	//lint:ignore ST1005 telnet's exact words
	ErrTimedOut = errors.New("Connection timed out")
	//lint:ignore ST1005 telnet's exact words
	ErrUnknownHost = errors.New("Name or service not known")
)

// CloseError is a close frame from the gateway that ended or refused the
// tunnel. Reason is the gateway's sentence, for display.
type CloseError struct {
	Code   websocket.StatusCode
	Reason string
}

func (e *CloseError) sentinel() error {
	switch e.Code {
	case CodeRefused:
		return ErrRefused
	case CodeTimedOut:
		return ErrTimedOut
	case CodeUnknownHost:
		return ErrUnknownHost
	}
	return nil
}

// Error returns the telnet words for refused, timed out and unknown host,
// otherwise the code and the gateway's reason.
func (e *CloseError) Error() string {
	if s := e.sentinel(); s != nil {
		return s.Error()
	}
	name := ""
	switch e.Code {
	case CodeBadRequest:
		name = "bad request"
	case CodeNoSuchLab:
		name = "no such lab"
	case CodeTooMany:
		name = "too many connections"
	case CodeIdle:
		name = "idle timeout"
	case CodeTooBig:
		name = "message too big"
	case CodeNormal:
		name = "closed"
	}
	switch {
	case name != "" && e.Reason != "":
		return fmt.Sprintf("tunnel %s (%d): %s", name, int(e.Code), e.Reason)
	case name != "":
		return fmt.Sprintf("tunnel %s (%d)", name, int(e.Code))
	case e.Reason != "":
		return fmt.Sprintf("tunnel closed (%d): %s", int(e.Code), e.Reason)
	}
	return fmt.Sprintf("tunnel closed (%d)", int(e.Code))
}

// Is makes errors.Is(err, ErrRefused) and friends work.
func (e *CloseError) Is(target error) bool {
	s := e.sentinel()
	return s != nil && s == target
}

// closeError turns a websocket error carrying a close frame into a
// *CloseError; other errors come back unchanged.
func closeError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: ce.Code, Reason: ce.Reason}
	}
	return err
}

// Conn is a tunnelled TCP connection. It is a [net.Conn]; the addresses it
// reports are placeholders, as the WebSocket hides the real ones.
type Conn struct {
	ws   *websocket.Conn
	nc   net.Conn
	info Info
}

var _ net.Conn = (*Conn)(nil)

// Dial opens a tunnel to t and waits for the gateway's "connected" message
// or its refusal. ctx bounds only the dial: the connection outlives it.
// A refusal is a *[CloseError]; test it with errors.Is against
// [ErrRefused], [ErrTimedOut] and [ErrUnknownHost].
func Dial(ctx context.Context, t Target) (*Conn, error) {
	u, err := t.URL()
	if err != nil {
		return nil, err
	}
	// Only Subprotocols exists on js/wasm; keep the options portable.
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial %s: %w", t, closeError(err))
	}
	if p := ws.Subprotocol(); p != Subprotocol {
		ws.Close(websocket.StatusPolicyViolation, "subprotocol "+Subprotocol+" required")
		return nil, fmt.Errorf("tunnel: dial %s: server did not accept subprotocol %s (got %q)", t, Subprotocol, p)
	}
	info, err := readConnected(ctx, ws)
	if err != nil {
		var ce *CloseError
		if errors.As(err, &ce) {
			ws.CloseNow()
			return nil, ce
		}
		ws.Close(websocket.StatusProtocolError, "bad connected message")
		return nil, fmt.Errorf("tunnel: dial %s: %w", t, err)
	}
	// NetConn's context bounds the connection's life, so it must not be
	// the dial's (often a short timeout).
	nc := websocket.NetConn(context.WithoutCancel(ctx), ws, websocket.MessageBinary)
	return &Conn{ws: ws, nc: nc, info: info}, nil
}

func readConnected(ctx context.Context, ws *websocket.Conn) (Info, error) {
	var info Info
	typ, data, err := ws.Read(ctx)
	if err != nil {
		if ce := closeError(err); ce != err {
			return info, ce
		}
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		return info, err
	}
	if typ != websocket.MessageText {
		return info, errors.New("expected the connected text message, got binary data")
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("bad connected message: %w", err)
	}
	if info.Type != TypeConnected {
		return info, fmt.Errorf("expected a %q message, got type %q", TypeConnected, info.Type)
	}
	return info, nil
}

// Info returns the gateway's "connected" message.
func (c *Conn) Info() Info { return c.info }

// Read reads tunnelled bytes. A normal close is io.EOF; other closes are
// a *[CloseError] (idle timeout, message too big).
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.nc.Read(p)
	if err != nil && err != io.EOF {
		err = closeError(err)
	}
	return n, err
}

// Write sends p as one binary message.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	if err != nil {
		err = closeError(err)
	}
	return n, err
}

// Close closes the tunnel with a normal closure. When the server closed
// first (after an SMTP 221, say) the close race is not an error.
func (c *Conn) Close() error {
	err := c.nc.Close()
	if err == nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	switch websocket.CloseStatus(err) {
	case CodeNormal, websocket.StatusGoingAway:
		return nil
	}
	return closeError(err)
}

// LocalAddr returns a placeholder address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns a placeholder address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets both deadlines. As with [websocket.NetConn], a deadline
// that expires during a Read or Write closes the tunnel.
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// SetReadDeadline sets the read deadline; see [Conn.SetDeadline].
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline; see [Conn.SetDeadline].
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

// Dialer dials through the gateway; it satisfies the scenario engine's
// Dialer interface.
type Dialer struct{}

// Dial is [Dial] returning a net.Conn.
func (Dialer) Dial(ctx context.Context, t Target) (net.Conn, error) {
	c, err := Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	return c, nil
}
