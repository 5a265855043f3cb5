//go:build js && wasm

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
	"syscall/js"
	"time"
)

// Dial opens a tunnel to t with the page's WebSocket and waits for the
// gateway's "connected" message or its refusal. ctx bounds only the dial.
// It returns the same *[CloseError]s as the native build: the close code
// comes from the browser's CloseEvent (see "Two platforms, one API" in
// the package documentation for why not coder/websocket).
func Dial(ctx context.Context, t Target) (*Conn, error) {
	u, err := t.URL()
	if err != nil {
		return nil, err
	}
	c := &Conn{wake: make(chan struct{}, 1), connected: make(chan struct{})}
	c.ws = js.Global().Get("WebSocket").New(u, Subprotocol)
	c.ws.Set("binaryType", "arraybuffer")
	c.onMessage = js.FuncOf(func(this js.Value, args []js.Value) any {
		c.message(args[0].Get("data"))
		return nil
	})
	c.onClose = js.FuncOf(func(this js.Value, args []js.Value) any {
		ev := args[0]
		c.closedBy(ev.Get("code").Int(), ev.Get("reason").String())
		return nil
	})
	c.ws.Call("addEventListener", "message", c.onMessage)
	c.ws.Call("addEventListener", "close", c.onClose)

	select {
	case <-c.connected:
		return c, nil
	case <-c.wake:
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err == nil {
			err = errors.New("tunnel: closed before the connected message")
		}
		if errors.Is(err, io.EOF) {
			err = &CloseError{Code: statusAbnormal, Reason: "the gateway closed the connection"}
		}
		c.release()
		return nil, err
	case <-ctx.Done():
		c.ws.Call("close", CodeNormal)
		c.release()
		return nil, ctx.Err()
	}
}

// RFC 6455 §7.4.1 codes this build uses besides the protocol's own.
const (
	statusProtocolError = 1002
	// statusAbnormal is what a browser reports when the connection failed
	// without a close frame, a refused HTTP upgrade included.
	statusAbnormal = 1006
)

// Conn is a tunnelled TCP connection over the page's WebSocket. It is a
// [net.Conn]; the addresses it reports are placeholders.
type Conn struct {
	ws                 js.Value
	onMessage, onClose js.Func

	connected chan struct{}
	wake      chan struct{} // signalled when data or the close arrives

	mu       sync.Mutex
	info     Info
	gotInfo  bool
	buf      []byte
	err      error // set at close: io.EOF or a *CloseError
	closed   bool
	deadline time.Time
}

func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// message runs on the JS event loop: it must not block.
func (c *Conn) message(data js.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if data.Type() == js.TypeString {
		if c.gotInfo {
			return // protocol v1 sends one text message only
		}
		if err := json.Unmarshal([]byte(data.String()), &c.info); err != nil || c.info.Type != TypeConnected {
			c.err = fmt.Errorf("tunnel: bad connected message %q", data.String())
			c.signal()
			c.ws.Call("close", statusProtocolError, "bad connected message")
			return
		}
		c.gotInfo = true
		close(c.connected)
		return
	}
	arr := js.Global().Get("Uint8Array").New(data)
	b := make([]byte, arr.Get("length").Int())
	js.CopyBytesToGo(b, arr)
	c.buf = append(c.buf, b...)
	c.signal()
}

func (c *Conn) closedBy(code int, reason string) {
	c.mu.Lock()
	if c.err == nil {
		if code == CodeNormal {
			c.err = io.EOF
		} else {
			c.err = &CloseError{Code: code, Reason: reason}
		}
	}
	c.closed = true
	c.mu.Unlock()
	c.signal()
	c.release()
}

func (c *Conn) release() {
	c.ws.Call("removeEventListener", "message", c.onMessage)
	c.ws.Call("removeEventListener", "close", c.onClose)
	// The funcs may still be referenced by a queued event; let them be
	// collected with the conn rather than released under it.
}

// Read returns tunnelled bytes; after the close, io.EOF for a normal
// closure or the *CloseError.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if len(c.buf) > 0 {
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			if len(c.buf) > 0 {
				c.signal()
			}
			c.mu.Unlock()
			return n, nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return 0, err
		}
		deadline := c.deadline
		c.mu.Unlock()
		if deadline.IsZero() {
			<-c.wake
			continue
		}
		d := time.Until(deadline)
		if d <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		timer := time.NewTimer(d)
		select {
		case <-c.wake:
			timer.Stop()
		case <-timer.C:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// Write sends p as one binary message.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	closed, err := c.closed, c.err
	c.mu.Unlock()
	if closed {
		if err == nil || errors.Is(err, io.EOF) {
			err = net.ErrClosed
		}
		return 0, err
	}
	arr := js.Global().Get("Uint8Array").New(len(p))
	js.CopyBytesToJS(arr, p)
	c.ws.Call("send", arr)
	return len(p), nil
}

// Close closes the tunnel with a normal closure.
func (c *Conn) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	if c.err == nil {
		c.err = net.ErrClosed
	}
	c.mu.Unlock()
	c.signal()
	if !already {
		c.ws.Call("close", CodeNormal)
	}
	return nil
}

// Info returns the gateway's "connected" message.
func (c *Conn) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

type jsAddr struct{}

func (jsAddr) Network() string { return "websocket" }
func (jsAddr) String() string  { return "websocket" }

func (c *Conn) LocalAddr() net.Addr  { return jsAddr{} }
func (c *Conn) RemoteAddr() net.Addr { return jsAddr{} }

// SetDeadline sets the read deadline; writes never block in a browser.
func (c *Conn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline wakes a blocked Read when t passes. Unlike
// websocket.NetConn, an expired deadline does not close the tunnel.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	c.signal()
	return nil
}

// SetWriteDeadline is a no-op: WebSocket.send never blocks.
func (c *Conn) SetWriteDeadline(time.Time) error { return nil }
