//go:build js && wasm

package main

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

	"github.com/coder/websocket"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// browserDial opens a gateway tunnel (protocol portlab.tcp.v1, see
// scenarios/tunnel) with the page's own WebSocket object.
//
// Why not tunnel.Dial: in js/wasm, coder/websocket's Conn.Read returns
// net.ErrClosed once a close frame arrived and keeps the frame's code in
// an unexported field (ws_js.go, read: `case <-c.closed: return
// net.ErrClosed`). A refusal (4001) or a dropped port (4002) then reaches
// the student as "use of closed network connection" instead of telnet's
// "Connection refused" / "Connection timed out". The browser's CloseEvent
// has the code, so this dialer reads it there and returns the same
// *tunnel.CloseError that tunnel.Dial returns natively.
func browserDial(ctx context.Context, t tunnel.Target) (net.Conn, error) {
	u, err := t.URL()
	if err != nil {
		return nil, err
	}
	c := &jsConn{wake: make(chan struct{}, 1), connected: make(chan struct{})}
	c.ws = global.Get("WebSocket").New(u, tunnel.Subprotocol)
	c.ws.Set("binaryType", "arraybuffer")
	c.onMessage = js.FuncOf(func(this js.Value, args []js.Value) any {
		c.message(args[0].Get("data"))
		return nil
	})
	c.onClose = js.FuncOf(func(this js.Value, args []js.Value) any {
		ev := args[0]
		c.closedBy(websocket.StatusCode(ev.Get("code").Int()), ev.Get("reason").String())
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
			err = &tunnel.CloseError{Code: websocket.StatusAbnormalClosure, Reason: "the gateway closed the connection"}
		}
		c.release()
		return nil, err
	case <-ctx.Done():
		c.ws.Call("close", int(websocket.StatusNormalClosure))
		c.release()
		return nil, ctx.Err()
	}
}

// jsConn is a tunnel over a browser WebSocket, as a net.Conn.
type jsConn struct {
	ws                 js.Value
	onMessage, onClose js.Func

	connected chan struct{}
	wake      chan struct{} // signalled when data or the close arrives

	mu       sync.Mutex
	info     tunnel.Info
	gotInfo  bool
	buf      []byte
	err      error // set at close: io.EOF or a *tunnel.CloseError
	closed   bool
	deadline time.Time
}

func (c *jsConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// message runs on the JS event loop: it must not block.
func (c *jsConn) message(data js.Value) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if data.Type() == js.TypeString {
		if c.gotInfo {
			return // protocol v1 sends one text message only
		}
		if err := json.Unmarshal([]byte(data.String()), &c.info); err != nil || c.info.Type != tunnel.TypeConnected {
			c.err = fmt.Errorf("tunnel: bad connected message %q", data.String())
			c.signal()
			c.ws.Call("close", int(websocket.StatusProtocolError), "bad connected message")
			return
		}
		c.gotInfo = true
		close(c.connected)
		return
	}
	arr := global.Get("Uint8Array").New(data)
	b := make([]byte, arr.Get("length").Int())
	js.CopyBytesToGo(b, arr)
	c.buf = append(c.buf, b...)
	c.signal()
}

func (c *jsConn) closedBy(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.err == nil {
		if code == websocket.StatusNormalClosure {
			c.err = io.EOF
		} else {
			c.err = &tunnel.CloseError{Code: code, Reason: reason}
		}
	}
	c.closed = true
	c.mu.Unlock()
	c.signal()
	c.release()
}

func (c *jsConn) release() {
	c.ws.Call("removeEventListener", "message", c.onMessage)
	c.ws.Call("removeEventListener", "close", c.onClose)
	// The funcs may still be referenced by a queued event; let them be
	// collected with the conn rather than released under it.
}

// Read returns tunnelled bytes; after the close, io.EOF for a normal
// closure or the *tunnel.CloseError.
func (c *jsConn) Read(p []byte) (int, error) {
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
		var timeout <-chan time.Time
		if !deadline.IsZero() {
			d := time.Until(deadline)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			timer := time.NewTimer(d)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-c.wake:
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// Write sends p as one binary message.
func (c *jsConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	closed, err := c.closed, c.err
	c.mu.Unlock()
	if closed {
		if err == nil || errors.Is(err, io.EOF) {
			err = net.ErrClosed
		}
		return 0, err
	}
	arr := global.Get("Uint8Array").New(len(p))
	js.CopyBytesToJS(arr, p)
	c.ws.Call("send", arr)
	return len(p), nil
}

// Close closes the tunnel with a normal closure.
func (c *jsConn) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	if c.err == nil {
		c.err = net.ErrClosed
	}
	c.mu.Unlock()
	c.signal()
	if !already {
		c.ws.Call("close", int(websocket.StatusNormalClosure))
	}
	return nil
}

type jsAddr struct{}

func (jsAddr) Network() string { return "websocket" }
func (jsAddr) String() string  { return "websocket" }

func (c *jsConn) LocalAddr() net.Addr  { return jsAddr{} }
func (c *jsConn) RemoteAddr() net.Addr { return jsAddr{} }

// SetDeadline sets the read deadline; writes never block in a browser.
func (c *jsConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

// SetReadDeadline wakes a blocked Read when t passes. Unlike
// websocket.NetConn, an expired deadline does not close the tunnel.
func (c *jsConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	c.signal()
	return nil
}

// SetWriteDeadline is a no-op: WebSocket.send never blocks.
func (c *jsConn) SetWriteDeadline(time.Time) error { return nil }
