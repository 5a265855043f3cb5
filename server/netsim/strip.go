// StripSTARTTLS simulates a downgrade middlebox (a "fixup" firewall or a
// meddling hotel gateway) that hides STARTTLS from both ends of an SMTP
// session, so a client that encrypts only when offered sends in clear.

package netsim

import (
	"errors"
	"net"
	"os"
	"slices"
	"sync"

	"github.com/portlab/portlab/internal/i18n"
)

var _ Effect = (*StripRule)(nil)

// StripRule puts a STARTTLS-stripping middlebox on the path (directive
// strip-starttls).
type StripRule struct{ Target }

func newStrip(d directive) (Rule, error) { return &StripRule{d.Target}, nil }

// Apply puts the middlebox on the path once: a second one would find
// nothing left to strip.
func (r *StripRule) Apply(v *Verdict) {
	if !slices.ContainsFunc(v.Effects, isStrip) {
		v.Effects = append(v.Effects, r)
	}
}

func (r *StripRule) Explain(c *i18n.Catalog, host string, port int) string {
	return r.explain(c, "net.strip", host, port)
}

func (r *StripRule) Wrap(server net.Conn) net.Conn { return StripSTARTTLS(server) }

// Stripped reports whether a STARTTLS-stripping middlebox is on the path,
// for the tunnel's "connected" message.
func (o Outcome) Stripped() bool { return slices.ContainsFunc(o.Effects, isStrip) }

func isStrip(e Effect) bool {
	_, ok := e.(*StripRule)
	return ok
}

// stripMaxLine bounds how much of one line the middlebox holds back while
// it cannot yet tell whether the line is one it rewrites; a longer line
// passes unmodified, as it does through real boxes with fixed buffers.
const stripMaxLine = 1024

// StripSTARTTLS wraps server, the connection to the SMTP server, and
// returns the connection the client side reads and writes:
//
//   - server to client, an EHLO reply line "250-STARTTLS" or "250 STARTTLS"
//     (any case, optional trailing blanks) becomes "250-XXXXXXXA" or
//     "250 XXXXXXXA", the same length, as real stripping firewalls write;
//   - client to server, a "STARTTLS" command line (any case) becomes
//     "XXXXXXXX", which the server answers as an unknown command (500 5.5.2).
//
// Since no TLS can start through it, it filters the whole connection,
// message bodies included. Lines may be split across reads and writes or
// pipelined several to a packet (RFC 2920); it holds back at most the start
// of one line while that line could still be a STARTTLS line, and a line
// longer than 1 KiB passes through unmodified.
func StripSTARTTLS(server net.Conn) net.Conn {
	return &stripConn{
		Conn: server,
		down: lineRewriter{pattern: replyPattern, at: 4, with: "XXXXXXXA"},
		up:   lineRewriter{pattern: commandPattern, at: 0, with: "XXXXXXXX"},
		rbuf: make([]byte, 4096),
	}
}

// replyPattern is "250-STARTTLS" or "250 STARTTLS" (RFC 3207 section 4, RFC
// 5321 section 4.2.1): each element lists the upper-case bytes allowed at
// that position. commandPattern is the client's "STARTTLS".
var (
	replyPattern   = []string{"2", "5", "0", "- ", "S", "T", "A", "R", "T", "T", "L", "S"}
	commandPattern = []string{"S", "T", "A", "R", "T", "T", "L", "S"}
)

type stripConn struct {
	net.Conn

	rmu     sync.Mutex
	down    lineRewriter
	rbuf    []byte // scratch for reading from the server
	pending []byte // rewritten bytes not yet returned by Read
	rerr    error  // the server's error, returned once pending is empty

	wmu sync.Mutex
	up  lineRewriter
	out []byte // scratch for rewritten writes
}

func (c *stripConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		// Everything read may be held back (the start of a possible
		// STARTTLS line), so read until there is something to return.
		n, err := c.Conn.Read(c.rbuf)
		c.pending = c.down.feed(c.pending[:0], c.rbuf[:n])
		if err != nil {
			if isTimeout(err) && len(c.pending) == 0 {
				// A deadline is not the end: keep the held bytes for
				// the next Read.
				return 0, err
			}
			if !isTimeout(err) {
				// The line will never complete: let it through as it is.
				c.pending = c.down.flush(c.pending)
				c.rerr = err
			}
		}
	}
}

func (c *stripConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.out = c.up.feed(c.out[:0], p)
	if len(c.out) > 0 {
		if _, err := c.Conn.Write(c.out); err != nil {
			return 0, err
		}
	}
	// Bytes held back count as written, as with any buffering writer;
	// they leave with the rest of their line. Close drops them: a server
	// never acts on a line without its end.
	return len(p), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// lineRewriter rewrites, in a byte stream, every line that is pattern
// followed by optional blanks and a line end, replacing the bytes from
// index at with with. It holds back the start of a line only while the
// line still matches, so other lines pass without delay.
type lineRewriter struct {
	pattern []string // per position, the upper-case bytes allowed there
	at      int
	with    string

	held    []byte // start of the current line, while it still matches
	skip    bool   // the current line cannot match: pass it until its end
	matched int    // how many pattern positions held matches
	cr      bool   // held ends with the CR of "\r\n"
}

// feed appends to dst the bytes of src that can be released, rewritten
// where a line matched, and returns dst.
func (l *lineRewriter) feed(dst, src []byte) []byte {
	for _, b := range src {
		if l.skip {
			dst = append(dst, b)
			if b == '\n' {
				l.skip = false
			}
			continue
		}
		l.held = append(l.held, b)
		switch {
		case b == '\n' && l.matched == len(l.pattern):
			copy(l.held[l.at:], l.with)
			dst = l.release(dst, false)
		case b == '\n':
			dst = l.release(dst, false)
		case len(l.held) > stripMaxLine || !l.step(b):
			dst = l.release(dst, true)
		}
	}
	return dst
}

// step advances the match by one byte and reports whether the line can
// still be one to rewrite.
func (l *lineRewriter) step(b byte) bool {
	if l.cr {
		return false // CR must be followed by LF
	}
	if l.matched < len(l.pattern) {
		if b >= 'a' && b <= 'z' {
			b -= 'a' - 'A'
		}
		for i := 0; i < len(l.pattern[l.matched]); i++ {
			if l.pattern[l.matched][i] == b {
				l.matched++
				return true
			}
		}
		return false
	}
	switch b {
	case ' ', '\t':
		return true
	case '\r':
		l.cr = true
		return true
	}
	return false
}

// release appends the held bytes to dst and starts over; skip says the
// rest of the current line passes unexamined.
func (l *lineRewriter) release(dst []byte, skip bool) []byte {
	dst = append(dst, l.held...)
	l.held, l.matched, l.cr, l.skip = l.held[:0], 0, false, skip
	return dst
}

// flush appends the held bytes, unmodified, to dst: the stream ended in
// the middle of a line, which can no longer be a complete STARTTLS line.
func (l *lineRewriter) flush(dst []byte) []byte {
	return l.release(dst, false)
}
