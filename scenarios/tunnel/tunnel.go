package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
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
	// Lang is the student's language (internal/i18n.Languages): the
	// gateway words the network's reasons (the close reason of a refused
	// or dropped connection, Info.Rule) in it. Empty: English.
	Lang string
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
	if t.Lang != "" {
		q.Set("lang", t.Lang)
	}
	return q
}

// TargetFromQuery is the gateway's half of [Target.URL]: it reads lab,
// key, host, port, profile and lang from a request's query. Errors are *[CloseError]
// with [CodeBadRequest], ready to be sent as the close frame.
func TargetFromQuery(q url.Values) (Target, error) {
	t := Target{Lab: q.Get("lab"), Key: q.Get("key"), Host: q.Get("host"), Profile: q.Get("profile"), Lang: q.Get("lang")}
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
	// Rule says, in the language the tunnel asked for (Target.Lang), what
	// the profile's rules do to the connection, with the teacher's
	// reasons: "nothing on this network blocks port 587; ...".
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
// Code is an int, not coder/websocket's StatusCode, so that the browser
// build does not import the WebSocket library.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) sentinel() error {
	switch e.Code {
	case CodeRefused, CodeNoDoor:
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

// [Conn] and [Dial] have one implementation per platform: natively with
// coder/websocket (dial_other.go), in the browser with the page's
// WebSocket (dial_js.go). These assertions, with [Dialer] below, keep both
// behind the same API.
var (
	_ net.Conn                 = (*Conn)(nil)
	_ interface{ Info() Info } = (*Conn)(nil)
)

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
