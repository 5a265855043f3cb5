// ResetAfter simulates a path that breaks in the middle of a transfer (a
// flaky link, a middlebox that cuts long flows): once a given number of
// bytes has crossed the connection, it is reset.

package netsim

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/portlab/portlab/internal/i18n"
)

var _ Effect = (*ResetRule)(nil)

// maxResetAfter bounds reset-after's count; a lesson moves far less.
const maxResetAfter = 1 << 30

// ResetRule resets connections after Bytes bytes (directive reset-after).
type ResetRule struct {
	Target
	Bytes int64
}

// newResetAfter reads "reset-after BYTES".
func newResetAfter(d directive) (Rule, error) {
	n, err := strconv.ParseInt(d.args[0], 10, 64)
	if err != nil || n < 1 || n > maxResetAfter {
		return nil, fmt.Errorf("reset-after: %q is not a byte count from 1 to %d", d.args[0], maxResetAfter)
	}
	return &ResetRule{Target: d.Target, Bytes: n}, nil
}

func (r *ResetRule) Apply(v *Verdict) { v.Effects = append(v.Effects, r) }

func (r *ResetRule) Explain(c *i18n.Catalog, host string, port int) string {
	return r.explain(c, "net.reset", host, port, strconv.FormatInt(r.Bytes, 10))
}

func (r *ResetRule) Wrap(server net.Conn) net.Conn { return ResetAfter(server, r.Bytes) }

// ResetAfter wraps c so that once n bytes have crossed it, reads and
// writes counted together, c is closed and every later Read and Write
// fails with ECONNRESET ("connection reset by peer"), as after a TCP RST.
// The Read or Write that reaches n carries exactly the bytes that fit;
// the rest are lost, as bytes a reset overtakes are.
func ResetAfter(c net.Conn, n int64) net.Conn {
	return &resetConn{Conn: c, left: n}
}

type resetConn struct {
	net.Conn
	mu   sync.Mutex
	left int64 // bytes that may still cross; 0: reset
}

// take lets up to want bytes cross and says how many may.
func (c *resetConn) take(want int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := int(min(int64(want), c.left))
	c.left -= int64(n)
	return n
}

func (c *resetConn) isReset() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.left == 0
}

func (c *resetConn) resetErr(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: syscall.ECONNRESET}
}

func (c *resetConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	left := c.left
	c.mu.Unlock()
	if left == 0 {
		return 0, c.resetErr("read")
	}
	n, err := c.Conn.Read(p[:min(int64(len(p)), left)])
	n = c.take(n) // a Write may have used some of left meanwhile
	if c.isReset() {
		c.Conn.Close()
		if n == 0 || err != nil {
			err = c.resetErr("read")
		}
	}
	return n, err
}

func (c *resetConn) Write(p []byte) (int, error) {
	n := c.take(len(p))
	if n == 0 && len(p) > 0 {
		return 0, c.resetErr("write")
	}
	n, err := c.Conn.Write(p[:n])
	if c.isReset() {
		c.Conn.Close()
		if n < len(p) || err != nil {
			err = c.resetErr("write")
		}
	}
	return n, err
}
