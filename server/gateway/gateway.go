// Package gateway lets a browser tab, which cannot open a TCP socket, reach
// a simulated host's port: one WebSocket carries one simulated TCP
// connection. The gateway resolves the host only in the world's table,
// applies the lab's network profile (refuse, drop, intercept, strip
// STARTTLS, latency) and joins the stream to the relay in-process. The wire
// protocol and its close codes are documented in scenarios/tunnel, which
// is the client side.
package gateway

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/relay"
	"github.com/portlab/portlab/server/world"
)

// Relay is the part of the relay the gateway joins streams to.
type Relay interface {
	ServeConn(c net.Conn, d relay.Door, meta relay.Meta) error
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
}

// Gateway serves GET /ws/dial.
type Gateway struct {
	cfg      Config
	mu       sync.Mutex
	perLab   map[string]int
	perAddr  map[netip.Addr]int
	ctx      context.Context
	shutdown context.CancelFunc
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
	return &Gateway{cfg: cfg, perLab: map[string]int{}, perAddr: map[netip.Addr]int{}, ctx: ctx, shutdown: cancel}
}

// outside is where a profile's connections come from when it names no
// source: an address no relay trusts (RFC 5737 documentation range).
var outside = netip.MustParseAddr("198.51.100.23")

func source(p *netsim.Profile) netip.Addr {
	if p.Source.IsValid() {
		return p.Source
	}
	return outside
}

// Close ends every tunnel that is waiting on a drop timeout.
func (g *Gateway) Close() { g.shutdown() }

// closeWith ends a tunnel with one of the documented codes.
func closeWith(c *websocket.Conn, code websocket.StatusCode, reason string) {
	if len(reason) > 120 { // a close reason must fit a control frame
		reason = reason[:120]
	}
	c.Close(code, reason)
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	client := remoteAddr(r)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{tunnel.Subprotocol},
		OriginPatterns: g.cfg.AllowOrigins,
	})
	if err != nil {
		return // Accept has answered (403 for a foreign origin)
	}
	c.SetReadLimit(g.cfg.MaxMessage)
	if c.Subprotocol() != tunnel.Subprotocol {
		closeWith(c, tunnel.CodeBadRequest, "the client must speak "+tunnel.Subprotocol)
		return
	}
	t, err := tunnel.TargetFromQuery(r.URL.Query())
	if err != nil {
		closeWith(c, tunnel.CodeBadRequest, err.Error())
		return
	}
	labID := t.Lab
	if labID == "" {
		labID = lab.Classroom
	}
	l, err := g.cfg.Labs.Get(labID)
	if err != nil {
		closeWith(c, tunnel.CodeNoSuchLab, "no such lab: it may have expired; reload the page for a new one")
		return
	}
	profileName := t.Profile
	if profileName == "" {
		profileName = l.Profile
	}
	profile, ok := g.cfg.Profiles.Profile(profileName)
	if !ok {
		closeWith(c, tunnel.CodeBadRequest, "unknown network profile "+strconv.Quote(profileName))
		return
	}
	release, ok := g.admit(labID, client)
	if !ok {
		closeWith(c, tunnel.CodeTooMany, "too many open connections for this lab or address; close some and retry")
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
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.perLab[labID]--; g.perLab[labID] <= 0 {
				delete(g.perLab, labID)
			}
			if g.perAddr[addr]--; g.perAddr[addr] <= 0 {
				delete(g.perAddr, addr)
			}
		})
	}, true
}

func (g *Gateway) dial(c *websocket.Conn, t tunnel.Target, l lab.Lab, p *netsim.Profile, client netip.Addr, release func()) {
	dialled, ok := g.cfg.World.Host(t.Host)
	if !ok {
		release()
		g.publish(l.ID, t.Host, t.Port, "unknown host "+t.Host)
		closeWith(c, tunnel.CodeUnknownHost, fmt.Sprintf("%s: Name or service not known (not a host of the sandbox's world)", t.Host))
		return
	}
	host := dialled.Name
	v := p.Decide(host, t.Port)
	switch v.Action {
	case netsim.Refuse:
		release()
		g.publish(l.ID, host, t.Port, "refused: "+v.Rule)
		closeWith(c, tunnel.CodeRefused, "Connection refused: "+v.Rule)
		return
	case netsim.Drop:
		timeout := v.Timeout
		if g.cfg.DropTimeout > 0 {
			timeout = g.cfg.DropTimeout
		}
		g.publish(l.ID, host, t.Port, "dropped: "+v.Rule)
		go g.drop(c, timeout, v.Rule, release)
		return
	}
	target := host
	if v.Action == netsim.Intercept {
		target = v.InterceptHost
	}
	door, err := g.cfg.World.Door(target, t.Port)
	if err != nil {
		release()
		g.publish(l.ID, host, t.Port, "refused by the host: port closed")
		closeWith(c, tunnel.CodeRefused, fmt.Sprintf("Connection refused: %s has no service on port %d", target, t.Port))
		return
	}
	info := tunnel.Info{Type: tunnel.TypeConnected, Host: host, Port: t.Port, Profile: p.Name, Rule: v.Rule, Stripped: v.StripSTARTTLS}
	if v.Action == netsim.Intercept {
		info.InterceptedBy = target
	}
	msg, _ := json.Marshal(info)
	ctx := g.ctx
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		release()
		c.CloseNow()
		return
	}
	g.cfg.Labs.Touch(l.ID)
	nc := &tunnelConn{Conn: websocket.NetConn(ctx, c, websocket.MessageBinary), release: release}
	// NetConn lifts the read limit (it streams); one message must still
	// stay bounded, so it is set again here.
	c.SetReadLimit(g.cfg.MaxMessage)
	var server net.Conn = nc
	if v.StripSTARTTLS || v.Latency > 0 {
		server = g.middlebox(nc, v)
	}
	h, _ := g.cfg.World.Host(target)
	if !door.Service.IsSMTP() {
		go g.banner(server, door)
		return
	}
	rd := RelayDoor(h, door)
	if err := g.cfg.Relay.ServeConn(server, rd, relay.Meta{Lab: l.ID, Client: source(p), Peer: client}); err != nil {
		server.Close()
	}
}

// drop holds the tunnel open and silent until the profile's timeout, as
// a network that swallows the SYN does, then reports the timeout.
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
		closeWith(c, tunnel.CodeTimedOut, "Connection timed out: "+rule)
	case <-gone:
		c.CloseNow()
	case <-g.ctx.Done():
		c.CloseNow()
	}
}

// middlebox puts the profile's effects between the client and the relay:
// the relay gets one end of a pipe, the middlebox copies the other end to
// and from the tunnel.
func (g *Gateway) middlebox(client net.Conn, v netsim.Verdict) net.Conn {
	relaySide, mine := net.Pipe()
	var server net.Conn = mine
	if v.StripSTARTTLS {
		server = netsim.StripSTARTTLS(server)
	}
	if v.Latency > 0 {
		server = netsim.Delay(server, v.Latency)
	}
	go join(client, server)
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

func (g *Gateway) publish(labID, host string, port int, text string) {
	g.cfg.Bus.Publish(events.Event{Time: time.Now(), Kind: events.Dial, Lab: labID, Host: host, Port: port, Text: text})
}

// RelayDoor is the relay's view of a simulated host's SMTP door.
func RelayDoor(h *world.Host, d world.Door) relay.Door {
	return relay.Door{Host: d.Host, Port: policyPort(d), NoSTARTTLS: !h.STARTTLS, LocalDomains: strings.Join(h.LocalDomains, ",")}
}

// Routes is the relay's MX lookup in the simulated world: the port-25 door
// of the host final for a domain.
type Routes struct{ World *world.World }

func (r Routes) MX(domain string) (relay.Door, bool) {
	h, ok := r.World.MX(domain)
	if !ok {
		return relay.Door{}, false
	}
	d, ok := h.Door(25)
	if !ok || !d.Service.IsSMTP() {
		return relay.Door{}, false
	}
	return RelayDoor(h, d), true
}

// policyPort is the relay listener policy a door uses.
func policyPort(d world.Door) int {
	if n, err := strconv.Atoi(d.Policy); err == nil {
		return n
	}
	return d.Port
}

// tunnelConn releases the tunnel's slots when the relay closes it.
type tunnelConn struct {
	net.Conn
	release func()
}

func (c *tunnelConn) Close() error {
	c.release()
	return c.Conn.Close()
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
