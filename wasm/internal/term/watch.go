package term

import (
	"net"
	"os"
	"sync"
	"time"
)

// watchConn reads its connection all the time, in a goroutine of its own,
// so that the terminal learns that the server spoke or hung up while no
// command waits for a reply (a 421 on an idle session, the gateway's idle
// close) and can say so at once. The session reads through it as through
// the connection. Its read deadline is its own: a read it cuts short (a
// command typed while the terminal listens) loses no byte, and a TLS
// connection on top sees a temporary error, not a broken stream.
type watchConn struct {
	net.Conn

	mu       sync.Mutex
	buf      []byte // read from the peer, not yet taken
	err      error  // the connection's read error, after buf (io.EOF: the peer hung up)
	closed   bool
	deadline time.Time
	changed  chan struct{} // closed and replaced at every change
}

// watchAhead bounds what is read ahead of the session.
const watchAhead = 64 << 10

func newWatchConn(c net.Conn) *watchConn {
	w := &watchConn{Conn: c, changed: make(chan struct{})}
	go w.readLoop()
	return w
}

// broadcast wakes everyone waiting for a change; w.mu is held.
func (w *watchConn) broadcast() {
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *watchConn) readLoop() {
	b := make([]byte, 4096)
	for {
		w.mu.Lock()
		for len(w.buf) >= watchAhead && !w.closed {
			ch := w.changed
			w.mu.Unlock()
			<-ch
			w.mu.Lock()
		}
		closed := w.closed
		w.mu.Unlock()
		if closed {
			return
		}
		n, err := w.Conn.Read(b)
		w.mu.Lock()
		w.buf = append(w.buf, b[:n]...)
		if err != nil {
			w.err = err
		}
		w.broadcast()
		w.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// pending reports whether bytes or the connection's end wait to be read,
// and a channel closed at the next change.
func (w *watchConn) pending() (changed <-chan struct{}, ready bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed, !w.closed && (len(w.buf) > 0 || w.err != nil)
}

func (w *watchConn) Read(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		switch {
		case w.closed:
			return 0, net.ErrClosed
		case len(w.buf) > 0:
			n := copy(p, w.buf)
			w.buf = w.buf[n:]
			w.broadcast()
			return n, nil
		case w.err != nil:
			return 0, w.err
		}
		var timeout <-chan time.Time
		var timer *time.Timer
		if !w.deadline.IsZero() {
			d := time.Until(w.deadline)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-timeout:
		}
		if timer != nil {
			timer.Stop()
		}
		w.mu.Lock()
	}
}

// SetDeadline sets the read deadline here and the write deadline on the
// connection.
func (w *watchConn) SetDeadline(t time.Time) error {
	w.SetReadDeadline(t)
	return w.Conn.SetWriteDeadline(t)
}

func (w *watchConn) SetReadDeadline(t time.Time) error {
	w.mu.Lock()
	w.deadline = t
	w.broadcast()
	w.mu.Unlock()
	return nil
}

func (w *watchConn) Close() error {
	w.mu.Lock()
	w.closed = true
	w.broadcast()
	w.mu.Unlock()
	return w.Conn.Close()
}
