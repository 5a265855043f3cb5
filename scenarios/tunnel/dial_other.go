//go:build !(js && wasm)

package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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
type Conn struct {
	ws   *websocket.Conn
	nc   net.Conn
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
	nc := websocket.NetConn(context.WithoutCancel(ctx), ws, websocket.MessageBinary)
	return &Conn{ws: ws, nc: nc, info: info}, nil
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
// a *[CloseError] (idle timeout, message too big).
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.nc.Read(p)
	if err != nil && err != io.EOF {
		err = closeError(err)
	}
	return n, err
}

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
func (c *Conn) SetDeadline(t time.Time) error { return c.nc.SetDeadline(t) }

// SetReadDeadline sets the read deadline; see [Conn.SetDeadline].
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline; see [Conn.SetDeadline].
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }
