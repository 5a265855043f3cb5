package relay

import (
	"net/netip"
	"sync"
	"time"

	"github.com/portlab/portlab/server/policy"
)

// clientLimits counts, per client address, open connections and recent
// AUTH failures (Postfix's anvil: smtpd_client_connection_count_limit and
// a cap on failed logins). Tunnelled sessions are limited by the gateway.
type clientLimits struct {
	lim  policy.Limits
	now  func() time.Time
	mu   sync.Mutex
	conn map[netip.Addr]int
	fail map[string][]time.Time
}

func newClientLimits(lim policy.Limits, now func() time.Time) *clientLimits {
	return &clientLimits{lim: lim, now: now, conn: map[netip.Addr]int{}, fail: map[string][]time.Time{}}
}

// connect admits a connection from addr, returning the release to call
// when it closes; false when the address already holds the maximum.
func (c *clientLimits) connect(addr netip.Addr) (func(), bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn[addr] >= c.lim.MaxConnectionsPerClient {
		return nil, false
	}
	c.conn[addr]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.conn[addr]--; c.conn[addr] <= 0 {
			delete(c.conn, addr)
		}
	}, true
}

// authFailed records a failed AUTH from a connection's client.
func (c *clientLimits) authFailed(m Meta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := limitKey(m)
	c.fail[key] = append(c.recent(key), c.now())
}

// authBlocked reports whether a client has failed AUTH too often within
// the window; further tries are refused until old failures age out.
func (c *clientLimits) authBlocked(m Meta) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := limitKey(m)
	r := c.recent(key)
	if len(r) == 0 {
		delete(c.fail, key)
	} else {
		c.fail[key] = r
	}
	return len(r) >= c.lim.MaxAuthFailures
}

func (c *clientLimits) recent(key string) []time.Time {
	cut := c.now().Add(-c.lim.AuthFailureWindow)
	r := c.fail[key]
	i := 0
	for i < len(r) && r[i].Before(cut) {
		i++
	}
	return r[i:]
}

// limitKey is what AUTH failures are counted against: the client address
// for TCP; for tunnels, whose simulated addresses many labs share, the lab.
func limitKey(m Meta) string {
	if m.Tunnel {
		return "lab:" + m.Lab
	}
	return m.Client.String()
}
