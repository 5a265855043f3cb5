package httpguard

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Limits bound the HTTP connections open at once.
type Limits struct {
	// PerClient is the most one client address may hold open (idle
	// keep-alive connections count). A browser opens about six per site,
	// plus one per live event stream and per tunnel; a class behind one
	// NAT address shares it.
	PerClient int
	// Total is the most open overall: below the process's descriptor
	// limit, so that the SMTP doors keep theirs.
	Total int
	// Trusted are reverse proxies, exempt from PerClient (Total still
	// holds): one proxy carries every client's connections, and which
	// client a connection is for is known only from its requests'
	// X-Forwarded-For (see [Forwarded]), after Accept. Bounding
	// connections per client is then the proxy's part.
	Trusted Proxies
}

// DefaultLimits are a listener's limits when none are given. The sandbox
// derives its own from the process's descriptor limit (its Budget) and
// takes PerClient as the most one address gets where the limit allows.
var DefaultLimits = Limits{PerClient: 512, Total: 8192}

// maxRefusing bounds the refused connections being answered at once; past
// it a refused connection is closed without an answer. Each holds a
// descriptor outside Limits.Total: the sandbox's reserve covers them.
const maxRefusing = 64

// Listen wraps ln so that a connection over a limit is answered "503
// Service Unavailable" and closed at once, before any request is read:
// it never holds a descriptor past its answer, and never reaches the
// server's handlers.
func Listen(ln net.Listener, l Limits) net.Listener {
	if l.PerClient <= 0 {
		l.PerClient = DefaultLimits.PerClient
	}
	if l.Total <= 0 {
		l.Total = DefaultLimits.Total
	}
	return &listener{Listener: ln, limits: l, perClient: map[netip.Addr]int{}, refusing: make(chan struct{}, maxRefusing)}
}

type listener struct {
	net.Listener
	limits    Limits
	mu        sync.Mutex
	perClient map[netip.Addr]int
	total     int
	refusing  chan struct{}
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := ClientAddr(c.RemoteAddr().String())
		perClient := !l.limits.Trusted.Contains(addr)
		if why := l.admit(addr, perClient); why != "" {
			l.refuse(c, why)
			continue
		}
		return &conn{Conn: c, release: sync.OnceFunc(func() { l.release(addr, perClient) })}, nil
	}
}

// admit counts a connection from addr in the total and, if perClient, in
// addr's own count.
func (l *listener) admit(addr netip.Addr, perClient bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case perClient && l.perClient[addr] >= l.limits.PerClient:
		return "too many connections from your address: close some and retry"
	case l.total >= l.limits.Total:
		return "the server holds its maximum number of connections: retry in a moment"
	}
	if perClient {
		l.perClient[addr]++
	}
	l.total++
	return ""
}

func (l *listener) release(addr netip.Addr, perClient bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if perClient {
		if l.perClient[addr]--; l.perClient[addr] <= 0 {
			delete(l.perClient, addr)
		}
	}
	l.total--
}

// refuse answers 503 (RFC 9110 §15.6.4) in the background so that Accept
// goes on, then closes. The client may already have sent its request:
// closing with unread bytes would reset the connection and lose the
// answer, so the write side is shut first and the request drained for a
// moment.
func (l *listener) refuse(c net.Conn, why string) {
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		body := why + "\n"
		c.SetDeadline(time.Now().Add(time.Second))
		io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\n"+
			"Content-Length: "+strconv.Itoa(len(body))+"\r\n"+
			"Retry-After: 5\r\n"+
			"Connection: close\r\n\r\n"+body)
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 64<<10))
	}()
}

// conn gives its slot back when closed.
type conn struct {
	net.Conn
	release func()
}

func (c *conn) Close() error {
	c.release()
	return c.Conn.Close()
}

// ClientAddr is the real client's address of a connection or a request
// (its RemoteAddr, "ip:port"), unmapped from IPv4-in-IPv6; limits are keyed
// on it. The zero Addr when it cannot be read.
func ClientAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
