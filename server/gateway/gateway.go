// Package gateway lets a browser tab, which cannot open a TCP socket, reach
// a simulated host's port: one WebSocket carries one simulated TCP
// connection. The gateway asks netsim.Route what the lab's network and the
// world do to the connection, closes the tunnel with the matching code or
// joins it, through the outcome's effects, to the relay in-process. The wire
// protocol and its close codes are documented in scenarios/tunnel, which
// is the client side.
package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/portlab/portlab/server/internal/httpguard"

	"github.com/coder/websocket"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/relay"
	"github.com/portlab/portlab/server/world"
)

// Relay is the part of the relay the gateway joins streams to: it serves
// a simulated host's SMTP door (the assembly maps the door to the relay's
// policy).
type Relay interface {
	ServeConn(c net.Conn, h *world.Host, d world.Door, meta relay.Meta) error
}

// Certs gives the TLS configuration of IMAPS and POP3S banner doors.
type Certs interface {
	ServerConfig(host string, extra ...string) (*tls.Config, error)
}

// Config is what a Gateway needs, with its bounds.
type Config struct {
	World    *world.World
	Profiles *netsim.Set
	Labs     *lab.Manager
	Relay    Relay
	Certs    Certs
	Bus      *events.Bus
	// AllowOrigins are extra origin patterns (e.g. "docs.example.com")
	// allowed to open tunnels; the page's own origin always is.
	AllowOrigins []string
	// DropTimeout overrides the profiles' drop timeouts (0 keeps them).
	DropTimeout time.Duration
	// MaxMessage bounds one WebSocket message, and so what is buffered
	// per direction.
	MaxMessage int64
	// MaxPerLab and MaxPerClient bound open tunnels.
	MaxPerLab, MaxPerClient int
	// Closed, when set, is told the code of every close the gateway
	// sends (the metrics count them).
	Closed func(code int)
}

// Gateway serves GET /ws/dial.
type Gateway struct {
	cfg      Config
	mu       sync.Mutex
	perLab   map[string]int
	perAddr  map[netip.Addr]int
	ctx      context.Context
	shutdown context.CancelFunc
	// draining: Drain was called; every tunnel ends with 1001 from now.
	draining atomic.Bool
	stopping chan struct{} // closed by Drain
	tunnels  map[*wholeMessages]struct{}

	// open is how many tunnels admit counted and have not ended: the
	// metrics read it at every scrape without summing perAddr under mu.
	open atomic.Int64
}

// New returns a gateway.
func New(cfg Config) *Gateway {
	if cfg.MaxMessage == 0 {
		cfg.MaxMessage = 64 << 10
	}
	if cfg.MaxPerLab == 0 {
		cfg.MaxPerLab = 20
	}
	if cfg.MaxPerClient == 0 {
		cfg.MaxPerClient = 100
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Gateway{cfg: cfg, perLab: map[string]int{}, perAddr: map[netip.Addr]int{}, ctx: ctx, shutdown: cancel,
		stopping: make(chan struct{}), tunnels: map[*wholeMessages]struct{}{}}
}

// Close ends every tunnel that is waiting on a drop timeout.
func (g *Gateway) Close() { g.shutdown() }

// ShutdownReason is the close reason of every tunnel the gateway ends
// because the server is going away (code 1001); the page shows it.
const ShutdownReason = "the sandbox server is shutting down (a restart or an update); reconnect in a moment"

// Drain starts the gateway's shutdown: new tunnels are turned away, the
// tunnels waiting on a drop time-out end at once, and every tunnel that
// ends from now on ends with 1001 Going Away and [ShutdownReason]
// (RFC 6455 §7.4.1: "a server going down"), the SMTP sessions' own
// 421 first where the relay sends one.
func (g *Gateway) Drain() {
	if g.draining.CompareAndSwap(false, true) {
		close(g.stopping)
	}
}

// CloseTunnels ends every tunnel still open (after Drain: with 1001).
func (g *Gateway) CloseTunnels() {
	g.mu.Lock()
	open := make([]*wholeMessages, 0, len(g.tunnels))
	for t := range g.tunnels {
		open = append(open, t)
	}
	g.mu.Unlock()
	for _, t := range open {
		t.Close()
	}
}

// Open is how many tunnels are open now.
func (g *Gateway) Open() int {
	return int(g.open.Load())
}

// maxReason is the most a close reason may hold: a control frame's
// payload is at most 125 bytes, two of them the code (RFC 6455 §5.5).
const maxReason = 123

// closeWith ends a tunnel with one of the documented codes.
func (g *Gateway) closeWith(c *websocket.Conn, code websocket.StatusCode, reason string) {
	if g.cfg.Closed != nil {
		g.cfg.Closed(int(code))
	}
	c.Close(code, cutReason(reason))
}

// cutReason shortens a close reason to maxReason bytes at a character
// boundary: the reason must be valid UTF-8 (RFC 6455 §7.1.6), and a
// browser fails a connection whose reason is not (code 1006, the real
// code lost).
func cutReason(reason string) string {
	if len(reason) <= maxReason {
		return reason
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	client := httpguard.ClientAddr(r.RemoteAddr)
	// (The server's request time-outs do not reach the tunnel: net/http
	// clears a connection's deadlines when Accept hijacks it.)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{tunnel.Subprotocol},
		OriginPatterns: g.cfg.AllowOrigins,
	})
	if err != nil {
		return // Accept has answered (403 for a foreign origin)
	}
	c.SetReadLimit(g.cfg.MaxMessage)
	if g.draining.Load() {
		g.closeWith(c, websocket.StatusGoingAway, ShutdownReason)
		return
	}
	if c.Subprotocol() != tunnel.Subprotocol {
		g.closeWith(c, tunnel.CodeBadRequest, "the client must speak "+tunnel.Subprotocol)
		return
	}
	t, err := tunnel.TargetFromQuery(r.URL.Query())
	if err != nil {
		g.closeWith(c, tunnel.CodeBadRequest, err.Error())
		return
	}
	labID := t.Lab
	if labID == "" {
		labID = lab.Classroom
	}
	l, err := g.cfg.Labs.Open(labID, t.Key)
	switch {
	case errors.Is(err, lab.ErrNoKey), errors.Is(err, lab.ErrBadKey):
		g.closeWith(c, tunnel.CodeNoSuchLab, "this lab needs its key (key=...): only the lab's creator may open tunnels for it")
		return
	case err != nil:
		g.closeWith(c, tunnel.CodeNoSuchLab, "no such lab: it may have expired; reload the page for a new one")
		return
	}
	profileName := t.Profile
	if profileName == "" {
		profileName = l.Profile
	}
	profile, ok := g.cfg.Profiles.Profile(profileName)
	if !ok {
		g.closeWith(c, tunnel.CodeBadRequest, "unknown network profile "+strconv.Quote(profileName))
		return
	}
	release, ok := g.admit(labID, client)
	if !ok {
		g.closeWith(c, tunnel.CodeTooMany, "too many open connections for this lab or address; close some and retry")
		return
	}
	g.dial(c, t, l, profile, client, release)
}

// admit counts a tunnel against its lab and its client address.
func (g *Gateway) admit(labID string, addr netip.Addr) (func(), bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.perLab[labID] >= g.cfg.MaxPerLab && labID != lab.Classroom || g.perAddr[addr] >= g.cfg.MaxPerClient {
		return nil, false
	}
	g.perLab[labID]++
	g.perAddr[addr]++
	g.open.Add(1)
	return sync.OnceFunc(func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.open.Add(-1)
		if g.perLab[labID]--; g.perLab[labID] <= 0 {
			delete(g.perLab, labID)
		}
		if g.perAddr[addr]--; g.perAddr[addr] <= 0 {
			delete(g.perAddr, addr)
		}
	}), true
}

// dial carries out netsim's outcome for the tunnel: a close code for a
// connection that fails, or the answering door joined to the tunnel
// through the outcome's effects.
func (g *Gateway) dial(c *websocket.Conn, t tunnel.Target, l lab.Lab, p *netsim.Profile, client netip.Addr, release func()) {
	o := netsim.Route(g.cfg.World, p, t.Host, t.Port)
	// The student reads the network's reason in the page's language; the
	// close frame holds it whole (WhyIn sheds clauses to fit maxReason).
	// Events stay in English, with the profile's name, for the teacher.
	words := locales.Catalog(i18n.Supported(t.Lang))
	switch o.Kind {
	case netsim.UnknownHost:
		release()
		g.publishFailed(l.ID, o, t.Port, "unknown host "+o.Host)
		g.closeWith(c, tunnel.CodeUnknownHost, fmt.Sprintf("%s: Name or service not known (not a host of the sandbox's world)", o.Host))
		return
	case netsim.Refused:
		release()
		g.publishFailed(l.ID, o, t.Port, "refused: "+o.Why)
		g.closeWith(c, tunnel.CodeRefused, o.WhyIn(words, maxReason))
		return
	case netsim.Closed:
		release()
		g.publishFailed(l.ID, o, t.Port, "refused by the host: port closed")
		g.closeWith(c, tunnel.CodeNoDoor, o.WhyIn(words, maxReason))
		return
	case netsim.TimedOut:
		timeout := o.Timeout
		if g.cfg.DropTimeout > 0 {
			timeout = g.cfg.DropTimeout
		}
		g.publishFailed(l.ID, o, t.Port, "dropped: "+o.Why)
		go g.drop(c, timeout, o.WhyIn(words, maxReason), release)
		return
	}
	info := tunnel.Info{Type: tunnel.TypeConnected, Host: o.Host, Port: t.Port, Profile: p.Name, Rule: o.WhyIn(words, 0), Stripped: o.Stripped()}
	if o.Intercepted {
		info.InterceptedBy = o.Answering.Name
	}
	msg, _ := json.Marshal(info)
	ctx := g.ctx
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		release()
		c.CloseNow()
		return
	}
	g.cfg.Labs.Touch(l.ID)
	wm := &wholeMessages{
		Conn: websocket.NetConn(ctx, c, websocket.MessageBinary), ws: c, ctx: ctx, max: g.cfg.MaxMessage, release: release,
		msgs: make(chan message), done: make(chan struct{}), wake: make(chan struct{}, 1), g: g,
	}
	g.mu.Lock()
	g.tunnels[wm] = struct{}{}
	g.mu.Unlock()
	// NetConn lifts the read limit; wholeMessages bounds a message itself
	// (the library's limit, one byte above, is only a backstop), so that
	// it frees the tunnel's slot before the client sees the close.
	c.SetReadLimit(g.cfg.MaxMessage + 1)
	var server net.Conn = wm
	if len(o.Effects) > 0 {
		server = middlebox(wm, o)
	}
	if !o.Door.Service.IsSMTP() {
		go g.banner(server, o.Door)
		return
	}
	if err := g.cfg.Relay.ServeConn(server, o.Answering, o.Door, relay.Meta{Lab: l.ID, Client: o.Source, Peer: client}); err != nil {
		server.Close()
	}
}

// drop holds the tunnel open and silent until the profile's timeout, as
// a network that swallows the SYN does, then reports the timeout with
// the network's reason, rule.
func (g *Gateway) drop(c *websocket.Conn, timeout time.Duration, rule string, release func()) {
	defer release()
	// Reading notices a client that gives up first; nothing it sends goes
	// anywhere. (A Read's context must outlive the timeout: coder/websocket
	// closes the connection when it ends.)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := c.Read(g.ctx); err != nil {
				return
			}
		}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-t.C:
		g.closeWith(c, tunnel.CodeTimedOut, rule)
	case <-gone:
		c.CloseNow()
	case <-g.stopping:
		g.closeWith(c, websocket.StatusGoingAway, ShutdownReason)
	case <-g.ctx.Done():
		c.CloseNow()
	}
}

// middlebox puts the outcome's effects between the client and the relay:
// the relay gets one end of a pipe, and the other end, wrapped in the
// effects, is joined to the tunnel.
func middlebox(client net.Conn, o netsim.Outcome) net.Conn {
	relaySide, mine := net.Pipe()
	go join(client, o.Wrap(mine))
	return relaySide
}

// join copies both ways with small buffers (a held tunnel should cost
// little memory) and closes both ends when either side ends.
func join(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, make([]byte, 4096))
		dst.Close()
		src.Close()
	}
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}

func (g *Gateway) banner(c net.Conn, d world.Door) {
	defer c.Close()
	var conf *tls.Config
	if d.Service.ImplicitTLS() {
		var err error
		if conf, err = g.cfg.Certs.ServerConfig(d.Host); err != nil {
			return
		}
	}
	ctx, cancel := context.WithTimeout(g.ctx, 5*time.Minute)
	defer cancel()
	world.ServeBanner(ctx, c, d, conf, d.Host)
}

// publishFailed is publish for a dial the network or the host refused
// or dropped, with the reason in every page language for the teacher.
func (g *Gateway) publishFailed(labID string, o netsim.Outcome, port int, text string) {
	why := make(map[string]string, len(i18n.Languages))
	for _, lang := range i18n.Languages {
		why[lang] = o.WhyIn(locales.Catalog(lang), 0)
	}
	g.cfg.Bus.Publish(events.Event{Time: time.Now(), Kind: events.Dial, Lab: labID, Host: o.Host, Port: port, Text: text, Why: why})
}

// wholeMessages reads the tunnel one whole message at a time, so a
// message over the read limit is refused (1009) before any of it reaches
// the relay: websocket.NetConn streams a message as it arrives, and the
// first MaxMessage bytes of an oversized one were executed as SMTP before
// the limit closed the tunnel. Writes and addresses are NetConn's.
//
// A read deadline only wakes Read with os.ErrDeadlineExceeded, as on a
// TCP socket: the relay's idle time-out must still be able to write its
// 421 and close normally. (coder/websocket closes the whole connection
// when a read's context ends, so messages are read in the background
// with the gateway's own context, and Read waits for them or for the
// deadline.)
type wholeMessages struct {
	net.Conn
	ws  *websocket.Conn
	ctx context.Context
	max int64
	g   *Gateway
	// release frees the tunnel's slot; it runs before any close the
	// gateway starts, so a client that reconnects at once is admitted.
	release func()

	start    sync.Once // starts readLoop at the first Read
	msgs     chan message
	done     chan struct{} // closed by Close
	closeOne sync.Once

	mu       sync.Mutex
	deadline time.Time
	wake     chan struct{} // SetReadDeadline wakes a waiting Read
	buf      []byte
	err      error // sticky: the error that ended the reading
}

// message is one whole binary message, or the error that ended reading.
type message struct {
	data []byte
	err  error
}

func (c *wholeMessages) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// next waits for the next message until the read deadline; the message
// stays pending for the next Read if the deadline comes first.
func (c *wholeMessages) next() error {
	c.start.Do(func() { go c.readLoop() })
	for {
		c.mu.Lock()
		deadline := c.deadline
		c.mu.Unlock()
		var expired <-chan time.Time
		var t *time.Timer
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return os.ErrDeadlineExceeded
			}
			t = time.NewTimer(d)
			expired = t.C
		}
		select {
		case m := <-c.msgs:
			stop(t)
			if m.err != nil {
				c.err = m.err
				return m.err
			}
			c.buf = m.data
			return nil
		case <-expired:
			return os.ErrDeadlineExceeded
		case <-c.wake:
			// A new deadline (the relay shutting down sets one in the
			// past): wait again under it.
			stop(t)
		case <-c.done:
			stop(t)
			return net.ErrClosed
		}
	}
}

func stop(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// readLoop reads whole messages until the tunnel ends and hands each to
// next; it stops at the first error, or when the connection is closed.
func (c *wholeMessages) readLoop() {
	for {
		data, err := c.read()
		select {
		case c.msgs <- message{data, err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// read reads one whole binary message within the size limit.
func (c *wholeMessages) read() ([]byte, error) {
	typ, r, err := c.ws.Reader(c.ctx)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(r, c.max+1))
	}
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway:
			return nil, io.EOF
		}
		return nil, err
	}
	if int64(len(data)) > c.max {
		c.release()
		c.g.closeWith(c.ws, websocket.StatusMessageTooBig, fmt.Sprintf("a message over %d bytes", c.max))
		return nil, errors.New("gateway: a message over the size limit")
	}
	if typ != websocket.MessageBinary {
		c.release()
		c.ws.Close(websocket.StatusUnsupportedData, "the tunnel carries binary messages only")
		return nil, errors.New("gateway: a text message inside the tunnel")
	}
	return data, nil
}

// Close gives the tunnel's slots back and ends the tunnel and the
// background reader.
func (c *wholeMessages) Close() error {
	c.release()
	first := false
	c.closeOne.Do(func() { close(c.done); first = true })
	if first {
		c.g.mu.Lock()
		delete(c.g.tunnels, c)
		c.g.mu.Unlock()
		if c.g.draining.Load() {
			// The server is going away: say so, not a normal closure
			// (NetConn's Close below then finds the tunnel closed).
			c.g.closeWith(c.ws, websocket.StatusGoingAway, ShutdownReason)
		} else if c.g.cfg.Closed != nil {
			c.g.cfg.Closed(int(websocket.StatusNormalClosure))
		}
	}
	return c.Conn.Close()
}

// SetReadDeadline sets the deadline of the next Reads; unlike
// websocket.NetConn's, it never closes the tunnel.
func (c *wholeMessages) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *wholeMessages) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}
