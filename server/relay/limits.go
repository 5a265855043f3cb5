package relay

import (
	"net/netip"
	"sync"
	"time"

	"github.com/portlab/portlab/server/internal/failures"
	"github.com/portlab/portlab/server/policy"
)

// clientLimits counts open TCP connections, per client address and
// overall, and recent AUTH failures per real client (Postfix's anvil:
// smtpd_client_connection_count_limit; the overall cap as postscreen's
// post-queue limit). Tunnelled sessions hold no descriptor of their own
// here; the gateway counts them.
type clientLimits struct {
	lim   policy.Limits
	total int // the overall cap on TCP connections
	now   func() time.Time
	mu    sync.Mutex
	conn  map[netip.Addr]int
	open  int
	fail  *failures.Window // AUTH failures by limitKey
}

func newClientLimits(lim policy.Limits, now func() time.Time) *clientLimits {
	return &clientLimits{lim: lim, total: connectionCap(lim), now: now, conn: map[netip.Addr]int{}, fail: failures.New(lim.AuthFailureWindow, now)}
}

// connectionCap is the overall cap on SMTP connections: the policy's
// max-connections. For "auto" the sandbox sets it from its descriptor
// budget (server/sandbox/budget.go: 40 % of the open-file limit, the
// rest for HTTP and a reserve); a relay run on its own (tests) takes
// autoMaxConnections.
func connectionCap(lim policy.Limits) int {
	if lim.MaxConnections > 0 {
		return lim.MaxConnections
	}
	return autoMaxConnections
}

// autoMaxConnections is 40 % of 1024, the smallest common open-file limit.
const autoMaxConnections = 409

// refusal says why a connection was not admitted.
type refusal int

const (
	admitted refusal = iota
	tooManyFromClient
	tooManyOverall
)

// connect admits a connection from addr, returning the release to call
// when it closes; otherwise why not.
func (c *clientLimits) connect(addr netip.Addr) (func(), refusal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn[addr] >= c.lim.MaxConnectionsPerClient {
		return nil, tooManyFromClient
	}
	if c.open >= c.total {
		return nil, tooManyOverall
	}
	c.conn[addr]++
	c.open++
	return sync.OnceFunc(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.open--
		if c.conn[addr]--; c.conn[addr] <= 0 {
			delete(c.conn, addr)
		}
	}), admitted
}

// AUTH failures slow a client down rather than lock it out: after
// MaxAuthFailures recent failures, each further AUTH waits one more step,
// up to authDelayMax, before it is even looked at (so a right password
// still works, later, and the wait says nothing about the password).
// Postfix's model: past smtpd_soft_error_limit, smtpd waits error_count
// seconds (smtpd_error_sleep_time) before it answers.
const (
	authDelayStep = time.Second
	authDelayMax  = 30 * time.Second
)

// authFailed records a failed AUTH from a connection's real client.
func (c *clientLimits) authFailed(m Meta) { c.fail.Add(limitKey(m)) }

// authDelay is how long the client's next AUTH waits.
func (c *clientLimits) authDelay(m Meta) time.Duration {
	over := len(c.fail.Recent(limitKey(m))) - c.lim.MaxAuthFailures + 1
	if over <= 0 {
		return 0
	}
	return min(time.Duration(over)*authDelayStep, authDelayMax)
}

// limitKey is the real client AUTH failures count against: the TCP
// client's address; for a tunnel, the address of the browser behind it
// and its lab. Never the simulated source address, which every tunnel of
// a network profile shares (one student would slow the class).
func limitKey(m Meta) string {
	if m.Tunnel {
		return "tunnel " + m.Peer.String() + " " + m.Lab
	}
	return "tcp " + m.Client.String()
}
