//go:build !js

package tunnel

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeGateway plays the server side of the protocol for client tests: it
// refuses ports 1 to 9 with close code 4000+port, echoes on other ports
// and closes normally after echoing "bye".
func fakeGateway(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		tg, err := TargetFromQuery(r.URL.Query())
		if err != nil {
			var ce *CloseError
			errors.As(err, &ce)
			c.Close(ce.Code, ce.Reason)
			return
		}
		if tg.Port < 10 {
			c.Close(websocket.StatusCode(4000+tg.Port), "refused by the fake")
			return
		}
		info, _ := json.Marshal(Info{Type: TypeConnected, Host: tg.Host, Port: tg.Port, Profile: tg.Profile, Rule: "pass"})
		if err := c.Write(r.Context(), websocket.MessageText, info); err != nil {
			return
		}
		for {
			typ, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if typ != websocket.MessageBinary {
				c.Close(websocket.StatusUnsupportedData, "binary only")
				return
			}
			if string(data) == "idle" {
				c.Close(CodeIdle, "idle for 1s")
				return
			}
			if err := c.Write(r.Context(), websocket.MessageBinary, data); err != nil {
				return
			}
			if string(data) == "bye" {
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDialFake(t *testing.T) {
	server := fakeGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	c, err := Dial(ctx, Target{Server: server, Lab: "l", Profile: "datacenter", Host: "mx.sandbox.test", Port: 25})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Info(); got.Host != "mx.sandbox.test" || got.Port != 25 || got.Profile != "datacenter" {
		t.Errorf("Info() = %+v", got)
	}
	cancel() // the connection must outlive the dial's context
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := c.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(c)
	if err != nil || string(all) != "bye" {
		t.Fatalf("ReadAll = %q, %v; want bye then EOF", all, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the server's normal close: %v", err)
	}
}

func TestDialRefusals(t *testing.T) {
	server := fakeGateway(t)
	tests := []struct {
		port int
		is   error
		code websocket.StatusCode
	}{
		{1, ErrRefused, CodeRefused},
		{2, ErrTimedOut, CodeTimedOut},
		{3, ErrUnknownHost, CodeUnknownHost},
		{5, nil, CodeNoSuchLab},
		{8, nil, CodeTooMany},
	}
	for _, tt := range tests {
		_, err := Dial(context.Background(), Target{Server: server, Host: "h", Port: tt.port})
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != tt.code || ce.Reason != "refused by the fake" {
			t.Errorf("port %d: got %v, want close code %d", tt.port, err, tt.code)
			continue
		}
		if tt.is != nil && (!errors.Is(err, tt.is) || err.Error() != tt.is.Error()) {
			t.Errorf("port %d: got %q, want %q", tt.port, err, tt.is)
		}
	}
}

func TestIdleClose(t *testing.T) {
	c, err := Dial(context.Background(), Target{Server: fakeGateway(t), Host: "h", Port: 25})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("idle"))
	_, err = c.Read(make([]byte, 8))
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CodeIdle {
		t.Fatalf("Read = %v, want idle close error", err)
	}
}

func TestDialNotAGateway(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := Dial(context.Background(), Target{Server: srv.URL, Host: "h", Port: 25})
	if err == nil {
		t.Fatal("no error dialling a server without a gateway")
	}
}

func TestDialerInterface(t *testing.T) {
	var d interface {
		Dial(context.Context, Target) (net.Conn, error)
	} = Dialer{}
	c, err := d.Dial(context.Background(), Target{Server: fakeGateway(t), Host: "h", Port: 1})
	if c != nil || !errors.Is(err, ErrRefused) {
		t.Fatalf("Dialer.Dial = %v, %v; want nil conn and ErrRefused", c, err)
	}
}
