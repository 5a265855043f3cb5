package term

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
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
	// Notice shows the standing notice beside the input (inside a
	// message, after 354), or hides it (the zero Notice).
	Notice(Notice)
}

// Notice is the standing notice beside the input. The terminal shows one
// while typed lines are message content, from 354 to the lone dot.
type Notice struct {
	// Data is true while typed lines go into the message.
	Data bool
	Text string
	// Reminder is set when a command word was typed into the message.
	Reminder string
}

// DataNotice is the notice while typed lines are the message, in the
// catalog's language (RFC 5321 §4.5.2: only a lone dot ends the data).
func DataNotice(c *i18n.Catalog) string { return c.T("term.data-notice") }

// dataReminder is said when a command word is typed inside the message:
// the server reads nothing there as a command until the dot.
func dataReminder(c *i18n.Catalog, word string) string {
	return c.T("term.data-reminder", word)
}

// StateLabel is a connection state's short label in the catalog's
// language, for the terminal's header (data-state keeps the raw name).
func StateLabel(c *i18n.Catalog, s ConnState) string { return c.T("term.state." + string(s)) }

// commandWord is the SMTP verb a message line starts with, when it looks
// typed as a command: the verb alone, or in capitals ("QUIT",
// "MAIL FROM:<a>"), not "Quit smoking".
func commandWord(line string) string {
	f := strings.Fields(line)
	if len(f) == 0 {
		return ""
	}
	v := strings.ToUpper(f[0])
	switch v {
	case "HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "VRFY", "EXPN", "HELP", "NOOP", "QUIT", "STARTTLS", "AUTH":
		if len(f) == 1 || f[0] == v {
			return v
		}
	}
	return ""
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
	// SetProfile switches the network profile for "profile NAME"; nil
	// means the terminal cannot.
	SetProfile func(name string) error
	// Profile names the network profile the next connection crosses,
	// for the route diagram; nil leaves it to the gateway's word.
	Profile func() string
	// Catalog prints the terminal's own messages in the page language
	// (internal/i18n); nil is English. Commands and replies stay as
	// typed and as sent.
	Catalog *i18n.Catalog
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
	raw      atomic.Pointer[net.Conn] // the watchConn, once dialled
	talk     Conversation
	greeting atomic.Bool // waiting for the greeting: typed lines go out raw
	inData   atomic.Bool // after 354: typed lines are message content
	secure   bool        // a TLS handshake finished; owned by the goroutine
	done     atomic.Bool
	port0    PortState // the best state reached, owned by the goroutine

	routeMu sync.Mutex
	route   Route // what the route diagram shows
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
	c.state(scenarios.StateChange{State: Closed})
	t.cfg.UI.Notice(Notice{})
}

// state shows a connection-state change: its note in the transcript (in
// the lessons' words), the header and the port board.
func (c *conn) state(ch scenarios.StateChange) {
	ui := c.t.cfg.UI
	ch.Target = scenarios.Target{Host: c.host, Port: c.port}
	c.talk.State(ch)
	note := ch.NoteIn(c.t.cfg.Catalog)
	if ch.State == Silent {
		// portlab's own explanation, not telnet's output: in the page
		// language (the other notes are what telnet prints).
		note = c.t.cfg.Catalog.T("term.silent", ch.Wait, c.host, c.port)
	}
	if note != "" {
		// Through the conversation, as the engine's notes go: a failed
		// or ended connection's note carries its close code.
		d := c.talk.Line(session.Line{Who: session.Note, Text: note})
		if ch.State == Refused || ch.State == TimedOut || ch.State == UnknownHost || ch.State == Closed && ch.Err != nil && !ch.ByPeer {
			d.Who = "error"
		}
		ui.Line(d)
		// Then why, in the page language: portlab's word, not telnet's.
		if why := NetworkWhy(c.t.cfg.Catalog, c.profile(), ch.Err); why != "" {
			ui.Line(Note(why))
		}
	}
	target := ch.Target.String()
	if ch.State == Closed {
		target = ""
	}
	ui.State(ch.State, target)
	// "open" waits for the greeting: a door that takes the connection
	// and stays silent is not open for SMTP.
	if p := PortForChange(ch); p != "" && ch.State != Connected {
		c.setPort(p)
	}
	c.showRoute(func(r *Route) {
		if ch.State == Refused {
			r.Refused = scenarios.RefusedBy(ch.Err)
		}
		r.Secure = r.Secure || ch.State == Secure
		r.State = ch.State
	})
}

// profile is the network the connection crosses, as the route names it.
func (c *conn) profile() string {
	c.routeMu.Lock()
	p := c.route.Profile
	c.routeMu.Unlock()
	if p == "" && c.t.cfg.Profile != nil {
		p = c.t.cfg.Profile()
	}
	return p
}

// showRoute changes the route and draws it, when the UI draws routes.
func (c *conn) showRoute(change func(*Route)) {
	c.routeMu.Lock()
	if c.route.Host == "" {
		c.route = Route{Host: c.host, Port: c.port}
		if c.t.cfg.Profile != nil {
			c.route.Profile = c.t.cfg.Profile()
		}
	}
	change(&c.route)
	r := c.route
	c.routeMu.Unlock()
	if ui, ok := c.t.cfg.UI.(RouteUI); ok {
		ui.Route(r)
	}
}

// Input handles one typed line, read with the lessons' grammar
// ([lesson.ParseTyped]): the same line does the same thing here and at a
// lesson's typed step. Two moments take a line as it is: while the
// greeting has not come (telnet sends what is typed, and the student sees
// what the server makes of it) and after 354 (message content).
//
// Every typed line shows in the transcript: a line sent as typed as the
// session's "->" line, any other one as typed ([Typed]), followed by what
// it did or why it was not sent.
func (t *Terminal) Input(line string) {
	t.History.Add(line)
	t.mu.Lock()
	c := t.cur
	t.mu.Unlock()
	open := c != nil && !c.done.Load()
	if open && c.greeting.Load() {
		if p := c.raw.Load(); p != nil {
			t.cfg.UI.Line(Display{Who: "client", Mark: "->", Text: printable(line)})
			if _, err := (*p).Write([]byte(line + "\r\n")); err != nil {
				t.cfg.UI.Line(Error("write: " + err.Error()))
			}
			return
		}
	}
	if open && c.inData.Load() {
		t.exec(c, line)
		return
	}
	if strings.TrimSpace(line) == "" {
		if open {
			t.exec(c, line)
		}
		return
	}
	a, err := lesson.ParseTyped(line)
	if err != nil {
		t.cfg.UI.Line(Typed(line))
		t.cfg.UI.Line(Error(t.cfg.Catalog.T("term.not-sent", err.Error())))
		return
	}
	switch {
	case a.Kind == lesson.Send && open:
		// The session shows the line as sent.
	case open && (a.Kind == lesson.StartTLS || a.Kind == lesson.Auth || a.Kind == lesson.Message):
		// In order with the lines already waiting for the server.
		c.enqueue(func(context.Context, *session.Session) error {
			t.cfg.UI.Line(Typed(line))
			return nil
		})
	default:
		t.cfg.UI.Line(Typed(line))
	}
	t.Do(a)
}

// Do performs an action of the typed grammar.
func (t *Terminal) Do(a lesson.Action) {
	switch a.Kind {
	case lesson.Connect:
		if a.Under != "" {
			t.cfg.UI.Line(Error(t.cfg.Catalog.T("term.under", a.Under)))
			return
		}
		t.Open(a.Host, a.Port, a.TLS)
	case lesson.Close:
		if !t.Connected() {
			t.cfg.UI.Line(Note(t.cfg.Catalog.T("engine.no-connection")))
			return
		}
		t.Close()
	case lesson.Profile:
		if t.cfg.SetProfile == nil {
			t.cfg.UI.Line(Error(t.cfg.Catalog.T("term.no-profiles")))
			return
		}
		t.Close()
		if err := t.cfg.SetProfile(a.ProfileName); err != nil {
			t.cfg.UI.Line(Error(t.cfg.Catalog.T("term.profile-failed", a.ProfileName, err.Error())))
			return
		}
		t.cfg.UI.Line(Note(t.cfg.Catalog.T("engine.profile", a.ProfileName)))
	case lesson.StartTLS:
		if c := t.active(); c != nil {
			c.enqueue(func(ctx context.Context, s *session.Session) error {
				r, err := s.StartTLS(ctx)
				c.after(s, "STARTTLS", r)
				return err
			})
		}
	case lesson.Auth:
		t.Auth(a.Mechanism, a.User, a.Password)
	case lesson.Message:
		t.Send(Message{From: a.From, HeaderFrom: a.HeaderFrom, To: strings.Join(a.To, ","), Subject: a.Subject, Envelope: true})
	case lesson.Send:
		if !t.Connected() {
			t.help(a.Verb())
			return
		}
		t.mu.Lock()
		c := t.cur
		t.mu.Unlock()
		t.exec(c, a.Command)
	default:
		t.cfg.UI.Line(Error(t.cfg.Catalog.T("term.lesson-action", a.Kind.String())))
	}
}

// exec sends an SMTP line (or a message line after 354) and reads what
// comes back.
func (t *Terminal) exec(c *conn, line string) {
	c.enqueue(func(ctx context.Context, s *session.Session) error {
		inData := s.InData()
		r, err := s.Exec(ctx, line)
		c.after(s, line, r)
		c.inData.Store(s.InData())
		n := t.notice(s.InData())
		if w := commandWord(line); inData && s.InData() && w != "" {
			n.Reminder = dataReminder(t.cfg.Catalog, w)
			t.cfg.UI.Line(Hint(n.Reminder))
		}
		t.cfg.UI.Notice(n)
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

// help answers a line typed while no connection is open.
func (t *Terminal) help(verb string) {
	if verb != "HELP" && verb != "?" {
		t.cfg.UI.Line(Error(t.cfg.Catalog.T("term.not-connected")))
		return
	}
	// The commands stay as typed; translators word what they do.
	for _, k := range []string{"term.help.1", "term.help.2", "term.help.3", "term.help.4", "term.help.5", "term.help.6", "term.help.7", "term.help.8", "term.help.9"} {
		t.cfg.UI.Line(Note(t.cfg.Catalog.T(k)))
	}
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
	From, Subject, Body string
	// HeaderFrom is the From: header when it is not From (scenarios.Draft).
	HeaderFrom string
	// To is one address or several separated by commas.
	To string
	// Envelope sends MAIL FROM and RCPT TO before DATA.
	Envelope bool
}

func (m Message) recipients() []string {
	var to []string
	for _, a := range strings.Split(m.To, ",") {
		if a = strings.Trim(strings.TrimSpace(a), "<>"); a != "" {
			to = append(to, a)
		}
	}
	return to
}

// Compose builds the message content with the lessons' composer.
func (m Message) Compose(now time.Time, host string) []byte {
	return scenarios.Draft{
		From: m.From, HeaderFrom: m.HeaderFrom, To: m.recipients(), Subject: m.Subject, Date: now,
		MessageID: strconv.FormatInt(now.UnixNano(), 36) + ".portlab@" + host,
		Body:      m.Body,
	}.Bytes()
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
			r, err = s.Mail(ctx, m.From, m.recipients(), msg)
		default:
			r, err = s.Data(ctx, msg)
		}
		c.after(s, "DATA", r)
		c.inData.Store(s.InData())
		t.cfg.UI.Notice(t.notice(s.InData()))
		return err
	})
}

// notice is the standing notice for a session in or out of a message.
func (t *Terminal) notice(inData bool) Notice {
	if !inData {
		return Notice{}
	}
	return Notice{Data: true, Text: DataNotice(t.cfg.Catalog)}
}

func (t *Terminal) active() *conn {
	t.mu.Lock()
	c := t.cur
	t.mu.Unlock()
	if c == nil || c.done.Load() {
		t.cfg.UI.Line(Error(t.cfg.Catalog.T("term.not-connected")))
		return nil
	}
	return c
}

func (c *conn) enqueue(job func(context.Context, *session.Session) error) {
	select {
	case c.jobs <- job:
	default:
		c.t.cfg.UI.Line(Error(c.t.cfg.Catalog.T("term.too-many-lines")))
	}
}

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
	if _, ok := s.TLS(); ok && !c.secure {
		c.secure = true
		c.state(scenarios.StateChange{State: Secure})
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
	c.state(scenarios.StateChange{State: Connecting})
	dctx, cancel := context.WithTimeout(c.ctx, c.t.cfg.DialTimeout)
	nc, err := c.t.cfg.Dial(dctx, c.host, c.port)
	cancel()
	if err != nil {
		c.dialFailed(err)
		return
	}
	if i, ok := nc.(interface{ Info() tunnel.Info }); ok {
		c.showRoute(func(r *Route) { *r = r.withInfo(i.Info()) })
	}
	w := newWatchConn(nc)
	nc = w
	c.raw.Store(&nc)
	if c.done.Load() { // closed while dialling
		nc.Close()
		return
	}
	c.state(scenarios.StateChange{State: Connected})
	s := session.New(nc, session.Config{
		Host:    c.host,
		RootCAs: c.t.cfg.RootCAs,
		Now:     c.t.cfg.Now,
		OnLine:  func(l session.Line) { ui.Line(c.talk.Line(l)) },
		// A deadline that expires closes the tunnel, so the terminal waits
		// as long as the student does; the gateway's idle limit ends it.
		Timeout: 24 * time.Hour,
	})
	if implicitTLS {
		if err := s.Handshake(c.ctx); err != nil {
			c.end(s, err)
			return
		}
		c.secure = true
		c.state(scenarios.StateChange{State: Secure})
	}
	c.greeting.Store(true)
	silent := time.AfterFunc(c.t.cfg.GreetingWait, func() {
		if c.greeting.Load() && !c.done.Load() {
			c.state(scenarios.StateChange{State: Silent, Wait: c.t.cfg.GreetingWait})
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
		changed, ready := w.pending()
		if ready {
			if !c.listen(s) {
				return
			}
			continue
		}
		select {
		case <-c.ctx.Done():
			return
		case job := <-c.jobs:
			if err := job(c.ctx, s); err != nil {
				c.end(s, err)
				return
			}
		case <-changed:
		}
	}
}

// listen reads what the server sent while no command waited for a reply:
// a reply of its own, such as 421 before it hangs up on an idle session
// (RFC 5321 §3.8, §4.5.3.2), or the end of the connection, so the
// transcript says so when it happens, not at the next command. A command
// typed meanwhile cuts the wait short (the TLS session ticket a server
// sends after the handshake is read here too, and is no reply) and runs
// next. listen reports whether the connection is still open.
func (c *conn) listen(s *session.Session) bool {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	var held func(context.Context, *session.Session) error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case held = <-c.jobs:
			cancel()
		case <-stop:
		}
	}()
	r, err := s.ReadReply(ctx)
	close(stop)
	wg.Wait()
	switch {
	case err == nil && (r.Code == 421 || r.Code == 221):
		// The server hangs up after 421 (RFC 5321 §3.8): show it now.
		err = s.WaitClosed(c.ctx)
		if err == nil {
			err = session.ErrClosed
		}
	case errors.Is(err, context.Canceled) && c.ctx.Err() == nil:
		err = nil
	}
	if err == nil && held != nil {
		err = held(c.ctx, s)
	}
	if err != nil {
		c.end(s, err)
		return false
	}
	return true
}

// dialFailed prints what telnet prints when a connection fails.
func (c *conn) dialFailed(err error) {
	if c.done.Swap(true) {
		return
	}
	c.state(scenarios.StateChange{State: scenarios.DialState(err), Err: err})
}

// end closes the connection after err and tells the student why.
func (c *conn) end(s *session.Session, err error) {
	if c.done.Swap(true) {
		return
	}
	s.Close()
	var ce *tunnel.CloseError
	switch {
	case errors.Is(err, session.ErrClosed), errors.Is(err, context.Canceled):
		// The session printed "Connection closed by foreign host.", or the
		// student closed it (Close said so).
		c.t.cfg.UI.State(Closed, "")
	case errors.As(err, &ce):
		c.state(scenarios.StateChange{State: Closed, ByPeer: true, Err: err})
	default:
		c.t.cfg.UI.Line(Error(err.Error()))
		c.state(scenarios.StateChange{State: Closed})
	}
	c.t.cfg.UI.Notice(Notice{})
}

// AuthPreview shows what the AUTH helper will send, for the form, in c's
// language (nil: English); the commands and base64 stay as sent.
func AuthPreview(c *i18n.Catalog, mech, user, password string) string {
	if strings.EqualFold(mech, "LOGIN") {
		u, p := session.LoginResponses(user, password)
		return c.T("term.auth-login-preview", u, user, p, password)
	}
	return c.T("term.auth-plain-preview", session.PlainResponse(user, password), `\0`+user+`\0`+password)
}

// NetworkWhy is the line that says why the student's network refused or
// dropped a connection: the profile's name and the gateway's reason,
// which the tunnel asked for in the page's language (tunnel.Target.Lang),
// in c's language. It is "" for any other outcome: a host without the
// door, or a tunnel that ended for the gateway's own reasons.
func NetworkWhy(c *i18n.Catalog, profile string, err error) string {
	var ce *tunnel.CloseError
	if !errors.As(err, &ce) || ce.Reason == "" || ce.Code != tunnel.CodeRefused && ce.Code != tunnel.CodeTimedOut {
		return ""
	}
	return c.T("term.net-why", profile, ce.Reason)
}
