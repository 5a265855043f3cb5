package term

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// UI is what the terminal tells the page. Its methods may be called from
// any goroutine.
type UI interface {
	// Line appends a transcript line.
	Line(Display)
	// State shows the connection state and its target ("host:port" or "").
	State(s ConnState, target string)
	// Port sets the port board cell of host:port.
	Port(host string, port int, s PortState)
	// DataMode tells whether typed lines are message content (after 354).
	DataMode(on bool)
}

// DialFunc opens a connection to a simulated host and port: the gateway
// tunnel in the browser, anything in tests.
type DialFunc func(ctx context.Context, host string, port int) (net.Conn, error)

// Config configures a Terminal.
type Config struct {
	Dial    DialFunc
	RootCAs *x509.CertPool
	UI      UI
	// GreetingWait is how long a silent server may stay silent before the
	// terminal says so (the door stays open). Zero means 3 seconds.
	GreetingWait time.Duration
	// DialTimeout bounds a connection attempt. Zero means 60 seconds: the
	// gateway reports a dropped port ("timed out") well before.
	DialTimeout time.Duration
	// Now stamps transcript lines; nil means time.Now.
	Now func() time.Time
}

// Terminal is one telnet-like terminal: at most one connection at a time.
type Terminal struct {
	cfg     Config
	History History

	mu  sync.Mutex
	cur *conn
	seq int
}

// New returns a terminal. cfg.Dial and cfg.UI are required.
func New(cfg Config) *Terminal {
	if cfg.GreetingWait == 0 {
		cfg.GreetingWait = 3 * time.Second
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Terminal{cfg: cfg}
}

// conn is one connection and the goroutine that owns its session.
type conn struct {
	t        *Terminal
	id       int
	host     string
	port     int
	ctx      context.Context
	cancel   context.CancelFunc
	jobs     chan func(context.Context, *session.Session) error
	raw      atomic.Pointer[net.Conn]
	greeting atomic.Bool // waiting for the greeting: typed lines go out raw
	done     atomic.Bool
	port0    PortState // the best state reached, owned by the goroutine
}

// Connected reports whether a connection is open or being opened.
func (t *Terminal) Connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur != nil && !t.cur.done.Load()
}

// Open connects to host:port, closing any current connection first. With
// implicitTLS the TLS handshake runs at once, before the greeting (465).
func (t *Terminal) Open(host string, port int, implicitTLS bool) {
	t.Close()
	ctx, cancel := context.WithCancel(context.Background())
	t.mu.Lock()
	t.seq++
	c := &conn{t: t, id: t.seq, host: host, port: port, ctx: ctx, cancel: cancel,
		jobs: make(chan func(context.Context, *session.Session) error, 64)}
	t.cur = c
	t.mu.Unlock()
	go c.run(implicitTLS)
}

// Close hangs up the current connection, if any, without QUIT.
func (t *Terminal) Close() {
	t.mu.Lock()
	c := t.cur
	t.cur = nil
	t.mu.Unlock()
	if c == nil || c.done.Swap(true) {
		return
	}
	c.cancel()
	if p := c.raw.Load(); p != nil {
		(*p).Close()
	}
	t.cfg.UI.Line(Note("Connection closed."))
	t.cfg.UI.State(Closed, "")
	t.cfg.UI.DataMode(false)
}

// Input handles one typed line: terminal commands (open, telnet, close,
// help) when no connection is open, else an SMTP line for the server.
func (t *Terminal) Input(line string) {
	t.History.Add(line)
	t.mu.Lock()
	c := t.cur
	t.mu.Unlock()
	if c == nil || c.done.Load() {
		t.local(line)
		return
	}
	if c.greeting.Load() {
		// Nothing has been read yet: send the bytes as telnet would, and let
		// the pending read see what the server makes of them.
		if p := c.raw.Load(); p != nil {
			t.cfg.UI.Line(Display{Who: "client", Mark: "->", Text: printable(line)})
			if _, err := (*p).Write([]byte(line + "\r\n")); err != nil {
				t.cfg.UI.Line(Error("write: " + err.Error()))
			}
			return
		}
	}
	c.enqueue(func(ctx context.Context, s *session.Session) error {
		r, err := s.Exec(ctx, line)
		c.after(s, line, r)
		t.cfg.UI.DataMode(s.InData())
		if err == nil && r != nil && (r.Code == 221 || r.Code == 421) {
			// The server hangs up after 221 and 421 (RFC 5321 §4.2.2,
			// §3.8): wait for it, as telnet would show it.
			if err := s.WaitClosed(ctx); err != nil {
				return err
			}
			return session.ErrClosed
		}
		return err
	})
}

// local runs a terminal command typed while disconnected.
func (t *Terminal) local(line string) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	switch strings.ToLower(f[0]) {
	case "open", "telnet", "o", "connect", "nc":
		host, port, tlsMode, err := parseOpen(f[1:])
		if err != nil {
			t.cfg.UI.Line(Error(err.Error()))
			return
		}
		implicit := tlsMode == "tls" || (tlsMode == "" && port == 465 && strings.ToLower(f[0]) != "telnet")
		t.Open(host, port, implicit)
	case "close", "quit", "exit":
		t.cfg.UI.Line(Note("No connection is open."))
	case "help", "?":
		for _, s := range []string{
			"open HOST PORT         connect; TLS at once on 465 (like openssl s_client)",
			"open HOST PORT plain   connect without TLS, even on 465",
			"open HOST PORT tls     connect with implicit TLS on any port",
			"telnet HOST PORT       connect in plaintext, like telnet",
			"Once connected, every line goes to the server; STARTTLS upgrades in your tab.",
		} {
			t.cfg.UI.Line(Note(s))
		}
	default:
		t.cfg.UI.Line(Error("Not connected. Type: open smtp.relay.test 587 (or help)"))
	}
}

// parseOpen reads "HOST PORT [tls|plain]" or "HOST:PORT [tls|plain]".
func parseOpen(args []string) (host string, port int, mode string, err error) {
	if len(args) > 0 {
		if h, p, e := net.SplitHostPort(args[0]); e == nil {
			args = append([]string{h, p}, args[1:]...)
		}
	}
	if len(args) < 2 || len(args) > 3 {
		return "", 0, "", errors.New("usage: open HOST PORT [tls|plain]")
	}
	port, err = strconv.Atoi(args[1])
	if err != nil || port < 1 || port > 65535 {
		return "", 0, "", fmt.Errorf("bad port %q", args[1])
	}
	if len(args) == 3 {
		mode = strings.ToLower(args[2])
		if mode != "tls" && mode != "plain" {
			return "", 0, "", fmt.Errorf("unknown mode %q: use tls or plain", args[2])
		}
	}
	return strings.ToLower(args[0]), port, mode, nil
}

// Auth runs AUTH PLAIN or LOGIN with user and password.
func (t *Terminal) Auth(mech, user, password string) {
	c := t.active()
	if c == nil {
		return
	}
	c.enqueue(func(ctx context.Context, s *session.Session) error {
		var r *session.Reply
		var err error
		if strings.EqualFold(mech, "LOGIN") {
			r, err = s.AuthLogin(ctx, user, password)
		} else {
			r, err = s.AuthPlain(ctx, user, password)
		}
		c.after(s, "AUTH", r)
		return err
	})
}

// Message is what the message helper sends.
type Message struct {
	From, To, Subject, Body string
	// Envelope sends MAIL FROM and RCPT TO before DATA.
	Envelope bool
}

// Compose builds the message content: the header fields, a blank line,
// the body.
func (m Message) Compose(now time.Time, host string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\n", m.From)
	fmt.Fprintf(&b, "To: <%s>\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\n", m.Subject)
	fmt.Fprintf(&b, "Date: %s\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.portlab@%s>\n", now.UnixNano(), host)
	b.WriteString("\n")
	b.WriteString(m.Body)
	return []byte(b.String())
}

// Send sends a message with the helper: the envelope if asked, DATA unless
// the session is already after 354, the content and the lone dot.
func (t *Terminal) Send(m Message) {
	c := t.active()
	if c == nil {
		return
	}
	c.enqueue(func(ctx context.Context, s *session.Session) error {
		msg := m.Compose(t.cfg.Now(), "student.example")
		var r *session.Reply
		var err error
		switch {
		case s.InData():
			r, err = s.SendBody(ctx, msg)
		case m.Envelope:
			r, err = s.Mail(ctx, m.From, []string{m.To}, msg)
		default:
			r, err = s.Data(ctx, msg)
		}
		c.after(s, "DATA", r)
		t.cfg.UI.DataMode(s.InData())
		return err
	})
}

func (t *Terminal) active() *conn {
	t.mu.Lock()
	c := t.cur
	t.mu.Unlock()
	if c == nil || c.done.Load() {
		t.cfg.UI.Line(Error("Not connected. Type: open smtp.relay.test 587"))
		return nil
	}
	return c
}

func (c *conn) enqueue(job func(context.Context, *session.Session) error) {
	select {
	case c.jobs <- job:
	default:
		c.t.cfg.UI.Line(Error("too many lines waiting for the server; wait for its replies"))
	}
}

func (c *conn) target() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

// port reports a board state, never going back from a better one on the
// same connection (a later plain reply does not undo "TLS").
func (c *conn) setPort(s PortState) {
	rank := map[PortState]int{PortConnecting: 1, PortSilent: 2, PortOpen: 3, PortAuthNeedsTLS: 4, PortTLS: 5, PortAuthOK: 6}
	if rank[s] != 0 && rank[s] < rank[c.port0] {
		return
	}
	c.port0 = s
	c.t.cfg.UI.Port(c.host, c.port, s)
}

// after looks at a command's reply for what the board should learn.
func (c *conn) after(s *session.Session, line string, r *session.Reply) {
	if _, ok := s.TLS(); ok {
		c.setPort(PortTLS)
		c.t.cfg.UI.State(Secure, c.target())
	}
	if r == nil {
		return
	}
	verb := strings.ToUpper(strings.Fields(line + " x")[0])
	switch {
	case r.Code == 235:
		c.setPort(PortAuthOK)
	case verb == "AUTH" && r.Code == 530:
		c.setPort(PortAuthNeedsTLS)
	}
}

// run owns the connection: dial, optional implicit TLS, greeting, then the
// jobs in order until the connection ends.
func (c *conn) run(implicitTLS bool) {
	ui := c.t.cfg.UI
	defer c.cancel()
	ui.State(Connecting, c.target())
	c.setPort(PortConnecting)
	ui.Line(Note("Trying " + c.host + "..."))
	dctx, cancel := context.WithTimeout(c.ctx, c.t.cfg.DialTimeout)
	nc, err := c.t.cfg.Dial(dctx, c.host, c.port)
	cancel()
	if err != nil {
		c.dialFailed(err)
		return
	}
	c.raw.Store(&nc)
	if c.done.Load() { // closed while dialling
		nc.Close()
		return
	}
	ui.Line(Note("Connected to " + c.host + "."))
	ui.State(Connected, c.target())
	s := session.New(nc, session.Config{
		Host:    c.host,
		RootCAs: c.t.cfg.RootCAs,
		Now:     c.t.cfg.Now,
		OnLine:  func(l session.Line) { ui.Line(FromLine(l)) },
		// A deadline that expires closes the tunnel, so the terminal waits
		// as long as the student does; the gateway's idle limit ends it.
		Timeout: 24 * time.Hour,
	})
	if implicitTLS {
		if err := s.Handshake(c.ctx); err != nil {
			c.end(s, err)
			return
		}
		c.setPort(PortTLS)
		ui.State(Secure, c.target())
	}
	c.greeting.Store(true)
	silent := time.AfterFunc(c.t.cfg.GreetingWait, func() {
		if c.greeting.Load() && !c.done.Load() {
			c.setPort(PortSilent)
			ui.Line(Note(fmt.Sprintf("No greeting after %s: the server is silent. (On 465 it waits for a TLS ClientHello: open %s %d tls.)",
				c.t.cfg.GreetingWait, c.host, c.port)))
		}
	})
	_, err = s.ReadReply(c.ctx)
	silent.Stop()
	c.greeting.Store(false)
	if err != nil {
		c.end(s, err)
		return
	}
	if !implicitTLS {
		c.setPort(PortOpen)
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case job := <-c.jobs:
			if err := job(c.ctx, s); err != nil {
				c.end(s, err)
				return
			}
		}
	}
}

// dialFailed prints what telnet prints when a connection fails.
func (c *conn) dialFailed(err error) {
	ui := c.t.cfg.UI
	if c.done.Load() {
		return
	}
	c.done.Store(true)
	state, port := Closed, PortState("")
	var ce *tunnel.CloseError
	switch {
	case errors.Is(err, tunnel.ErrRefused):
		ui.Line(Error("telnet: Unable to connect to remote host: Connection refused"))
		state, port = Refused, PortRefused
	case errors.Is(err, tunnel.ErrTimedOut), errors.Is(err, context.DeadlineExceeded):
		ui.Line(Error("telnet: Unable to connect to remote host: Connection timed out"))
		state, port = TimedOut, PortTimeout
	case errors.Is(err, tunnel.ErrUnknownHost):
		ui.Line(Error("telnet: could not resolve " + c.target() + ": Name or service not known"))
		port = PortUnknown
	case errors.As(err, &ce):
		ui.Line(Error("telnet: Unable to connect to remote host: " + closeReason(ce)))
	default:
		ui.Line(Error("telnet: Unable to connect to remote host: " + err.Error()))
	}
	if port != "" {
		c.setPort(port)
	}
	ui.State(state, c.target())
}

// end closes the connection after err and tells the student why.
func (c *conn) end(s *session.Session, err error) {
	if c.done.Swap(true) {
		return
	}
	ui := c.t.cfg.UI
	var ce *tunnel.CloseError
	switch {
	case errors.Is(err, session.ErrClosed):
		// The session already printed "Connection closed by foreign host."
	case errors.Is(err, context.Canceled):
	case errors.As(err, &ce):
		ui.Line(Note("Connection closed by foreign host: " + closeReason(ce)))
	default:
		ui.Line(Error(err.Error()))
		ui.Line(Note("Connection closed."))
	}
	s.Close()
	ui.State(Closed, c.target())
	ui.DataMode(false)
}

// closeReason explains a gateway close code in words.
func closeReason(ce *tunnel.CloseError) string {
	switch ce.Code {
	case tunnel.CodeIdle:
		return "idle for too long"
	case tunnel.CodeTooMany:
		return "too many connections for this lab; close one and try again"
	case tunnel.CodeNoSuchLab:
		return "this lab has expired; reload the page for a new one"
	case tunnel.CodeTooBig:
		return "message too big for the gateway"
	case tunnel.CodeBadRequest:
		if ce.Reason != "" {
			return ce.Reason
		}
		return "bad request"
	}
	if ce.Reason != "" {
		return ce.Reason
	}
	return ce.Error()
}

// AuthPreview shows what the AUTH helper will send, for the form.
func AuthPreview(mech, user, password string) string {
	if strings.EqualFold(mech, "LOGIN") {
		u, p := session.LoginResponses(user, password)
		return "AUTH LOGIN, then " + u + " (" + user + ") and " + p + " (" + password + ")"
	}
	return "AUTH PLAIN " + session.PlainResponse(user, password) + `  (base64 of \0` + user + `\0` + password + ")"
}
