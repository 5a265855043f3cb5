//go:build !(js && wasm)

package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// closeError turns a websocket error carrying a close frame into a
// *CloseError; other errors come back unchanged.
func closeError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	return err
}

// Conn is a tunnelled TCP connection. It is a [net.Conn]; the addresses it
// reports are placeholders, as the WebSocket hides the real ones.
//
// Writes, the write deadline and Close go through [websocket.NetConn];
// reads through [reader], which keeps the close frame that NetConn
// turns into a bare io.EOF for 1001 as for 1000.
type Conn struct {
	ws   *websocket.Conn
	nc   net.Conn
	rd   *reader
	info Info
}

// Dial opens a tunnel to t and waits for the gateway's "connected" message
// or its refusal. ctx bounds only the dial: the connection outlives it.
// A refusal is a *[CloseError]; test it with errors.Is against
// [ErrRefused], [ErrTimedOut] and [ErrUnknownHost].
func Dial(ctx context.Context, t Target) (*Conn, error) {
	u, err := t.URL()
	if err != nil {
		return nil, err
	}
	// Only Subprotocols exists on js/wasm; keep the options portable.
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial %s: %w", t, closeError(err))
	}
	if p := ws.Subprotocol(); p != Subprotocol {
		ws.Close(websocket.StatusPolicyViolation, "subprotocol "+Subprotocol+" required")
		return nil, fmt.Errorf("tunnel: dial %s: server did not accept subprotocol %s (got %q)", t, Subprotocol, p)
	}
	info, err := readConnected(ctx, ws)
	if err != nil {
		var ce *CloseError
		if errors.As(err, &ce) {
			ws.CloseNow()
			return nil, ce
		}
		ws.Close(websocket.StatusProtocolError, "bad connected message")
		return nil, fmt.Errorf("tunnel: dial %s: %w", t, err)
	}
	// NetConn's context bounds the connection's life, so it must not be
	// the dial's (often a short timeout).
	live := context.WithoutCancel(ctx)
	nc := websocket.NetConn(live, ws, websocket.MessageBinary)
	return &Conn{ws: ws, nc: nc, rd: newReader(live, ws), info: info}, nil
}

func readConnected(ctx context.Context, ws *websocket.Conn) (Info, error) {
	var info Info
	typ, data, err := ws.Read(ctx)
	if err != nil {
		if ce := closeError(err); ce != err {
			return info, ce
		}
		if ctx.Err() != nil {
			return info, ctx.Err()
		}
		return info, err
	}
	if typ != websocket.MessageText {
		return info, errors.New("expected the connected text message, got binary data")
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("bad connected message: %w", err)
	}
	if info.Type != TypeConnected {
		return info, fmt.Errorf("expected a %q message, got type %q", TypeConnected, info.Type)
	}
	return info, nil
}

// Info returns the gateway's "connected" message.
func (c *Conn) Info() Info { return c.info }

// Read reads tunnelled bytes. A normal close is io.EOF; other closes are
// a *[CloseError] (server going away, idle timeout, message too big), as
// in the browser build.
func (c *Conn) Read(p []byte) (int, error) { return c.rd.Read(p) }

// Write sends p as one binary message.
func (c *Conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	if err != nil {
		err = closeError(err)
	}
	return n, err
}

// Close closes the tunnel with a normal closure. When the server closed
// first (after an SMTP 221, say) the close race is not an error.
func (c *Conn) Close() error {
	c.rd.timer.Stop()
	err := c.nc.Close()
	if err == nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	switch websocket.CloseStatus(err) {
	case CodeNormal, websocket.StatusGoingAway:
		return nil
	}
	return closeError(err)
}

// LocalAddr returns a placeholder address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns a placeholder address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetDeadline sets both deadlines. As with [websocket.NetConn], a deadline
// that expires during a Read or Write closes the tunnel.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rd.setDeadline(t)
	return c.nc.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; see [Conn.SetDeadline].
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rd.setDeadline(t)
	return nil
}

// SetWriteDeadline sets the write deadline; see [Conn.SetDeadline].
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

// reader reads the tunnel's binary messages as one byte stream, as
// [websocket.NetConn] does, deadline included, but reports a close frame
// other than 1000 as a *[CloseError]: NetConn reads 1001 (the server
// going away) as io.EOF, and the *websocket.Conn cannot be asked for the
// frame afterwards, so `portlab dial` and the headless runner could not
// say why the tunnel ended.
type reader struct {
	ws     *websocket.Conn
	ctx    context.Context // cancelled by a deadline that passes mid-Read
	cancel context.CancelFunc
	timer  *time.Timer

	mu      sync.Mutex  // held for the whole of a Read
	expired atomic.Bool // the deadline passed between Reads
	msg     io.Reader   // the message being read
	err     error       // once the tunnel closed: io.EOF or a *CloseError
}

func newReader(ctx context.Context, ws *websocket.Conn) *reader {
	r := &reader{ws: ws}
	r.ctx, r.cancel = context.WithCancel(ctx)
	r.timer = time.AfterFunc(time.Hour, r.deadlinePassed)
	r.timer.Stop()
	return r
}

// deadlinePassed ends a Read in progress, which closes the tunnel (as
// NetConn's deadline does); between Reads it makes the next one fail.
func (r *reader) deadlinePassed() {
	if !r.mu.TryLock() {
		r.cancel()
		return
	}
	defer r.mu.Unlock()
	r.expired.Store(true)
}

func (r *reader) setDeadline(t time.Time) {
	r.expired.Store(false)
	if t.IsZero() {
		r.timer.Stop()
		return
	}
	r.timer.Reset(max(time.Until(t), 1))
}

func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.expired.Load() {
		return 0, fmt.Errorf("tunnel: read: %w", os.ErrDeadlineExceeded)
	}
	for r.err == nil {
		if r.msg == nil {
			typ, msg, err := r.ws.Reader(r.ctx)
			if websocket.CloseStatus(err) == CodeNormal {
				r.err = io.EOF
				break
			}
			if ce := closeError(err); ce != err {
				r.err = ce
				break
			}
			if err != nil && r.ctx.Err() != nil {
				return 0, fmt.Errorf("tunnel: read: %w", os.ErrDeadlineExceeded)
			}
			if err != nil {
				return 0, err
			}
			if typ != websocket.MessageBinary {
				// doc.go: after "connected" the tunnel carries binary
				// messages only.
				r.ws.Close(websocket.StatusUnsupportedData, "text message in the tunnel")
				return 0, errors.New("tunnel: a text message after connected")
			}
			r.msg = msg
		}
		n, err := r.msg.Read(p)
		if err == io.EOF {
			r.msg, err = nil, nil
		}
		if n > 0 || err != nil {
			return n, closeError(err)
		}
	}
	return 0, r.err
}
