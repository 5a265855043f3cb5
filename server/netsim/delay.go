// Delay simulates a slow path (a crowded Wi-Fi, a far-away server): the
// bytes a client reads arrive a fixed time after the server sent them.

package netsim

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/portlab/portlab/internal/i18n"
)

var _ attemptEffect = (*LatencyRule)(nil)

// LatencyRule adds one-way delay to connections (directive latency).
type LatencyRule struct {
	Target
	Latency time.Duration
}

// newLatency reads "latency DURATION".
func newLatency(d directive) (Rule, error) {
	l, err := parseDuration(d.args[0], MaxLatency)
	if err != nil {
		return nil, fmt.Errorf("latency: %v", err)
	}
	return &LatencyRule{Target: d.Target, Latency: l}, nil
}

// Apply adds the delay to the verdict's latency effect: several latencies
// add up, to at most MaxLatency, so that one Delay carries them all.
func (r *LatencyRule) Apply(v *Verdict) {
	for i, e := range v.Effects {
		if l, ok := e.(*LatencyRule); ok {
			v.Effects[i] = &LatencyRule{Target: l.Target, Latency: min(l.Latency+r.Latency, MaxLatency)}
			return
		}
	}
	v.Effects = append(v.Effects, r)
}

// touchesAttempt: a refusal, too, comes back one latency later.
func (r *LatencyRule) touchesAttempt() {}

func (r *LatencyRule) Explain(c *i18n.Catalog, host string, port int) string {
	return c.T("net.latency", r.Latency.String())
}

func (r *LatencyRule) Wrap(server net.Conn) net.Conn { return Delay(server, r.Latency) }

// Delay wraps c so that each Read returns its data d after the data
// arrived, adding d of one-way latency server to client. Because SMTP is a
// dialogue (each reply waits for a command), that makes every round trip d
// longer, which is what a student notices. It stays simple: a reply split
// across several reads is delayed once per read, and the wait ignores read
// deadlines. Close ends a wait at once. d <= 0 returns c itself.
func Delay(c net.Conn, d time.Duration) net.Conn {
	if d <= 0 {
		return c
	}
	return &delayConn{Conn: c, d: d, closed: make(chan struct{})}
}

type delayConn struct {
	net.Conn
	d         time.Duration
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *delayConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		t := time.NewTimer(c.d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.closed:
		}
	}
	return n, err
}

func (c *delayConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
