//go:build !js

package tunnel_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/sandbox"
)

// server starts the real sandbox in-process; only tests import it, so the
// browser's share of scenarios/ stays free of server packages.
func server(t *testing.T, cfg sandbox.Config) string {
	t.Helper()
	s, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.URL()
}

func TestDial(t *testing.T) {
	srv := server(t, sandbox.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tunnel.Dial(ctx, tunnel.Target{Server: srv, Profile: "home-isp", Host: "smtp.relay.test", Port: 587})
	if err != nil {
		t.Fatal(err)
	}
	if info := c.Info(); info.Type != tunnel.TypeConnected || info.Host != "smtp.relay.test" || info.Port != 587 || info.Profile != "home-isp" {
		t.Errorf("Info = %+v", info)
	}
	cancel() // the connection must outlive the dial's context
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "220 smtp.relay.test") {
		t.Fatalf("greeting %q, %v", buf[:n], err)
	}
	c.Write([]byte("QUIT\r\n"))
	rest, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(rest), "221") {
		t.Fatalf("after QUIT: %q, %v (want 221 then EOF)", rest, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the server hung up: %v", err)
	}
}

func TestDialRefusals(t *testing.T) {
	srv := server(t, sandbox.Config{DropTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct {
		t    tunnel.Target
		is   error
		code int
	}{
		{tunnel.Target{Profile: "home-isp", Host: "mx.sandbox.test", Port: 25}, tunnel.ErrRefused, tunnel.CodeRefused},
		{tunnel.Target{Host: "smtp.relay.test", Port: 465}, tunnel.ErrRefused, tunnel.CodeNoDoor},
		{tunnel.Target{Profile: "cloud-vm", Host: "smtp.relay.test", Port: 587}, tunnel.ErrTimedOut, tunnel.CodeTimedOut},
		{tunnel.Target{Host: "nowhere.test", Port: 25}, tunnel.ErrUnknownHost, tunnel.CodeUnknownHost},
		{tunnel.Target{Host: "localhost", Port: 25}, tunnel.ErrUnknownHost, tunnel.CodeUnknownHost},
		{tunnel.Target{Lab: "no-such-lab", Host: "mx.sandbox.test", Port: 25}, nil, tunnel.CodeNoSuchLab},
		{tunnel.Target{Profile: "no-such-profile", Host: "mx.sandbox.test", Port: 25}, nil, tunnel.CodeBadRequest},
	} {
		tt.t.Server = srv
		_, err := tunnel.Dial(ctx, tt.t)
		var ce *tunnel.CloseError
		if !errors.As(err, &ce) || ce.Code != tt.code || ce.Reason == "" {
			t.Errorf("%s under %q: got %v, want close code %d with a reason", tt.t, tt.t.Profile, err, tt.code)
			continue
		}
		if tt.is != nil && (!errors.Is(err, tt.is) || err.Error() != tt.is.Error()) {
			t.Errorf("%s under %q: got %q, want %q", tt.t, tt.t.Profile, err, tt.is)
		}
	}
	// One tunnel per client address: a second gets 4008.
	srv = server(t, sandbox.Config{TunnelsPerClient: 1})
	held, err := tunnel.Dial(ctx, tunnel.Target{Server: srv, Profile: "datacenter", Host: "mx.sandbox.test", Port: 25})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, err = tunnel.Dial(ctx, tunnel.Target{Server: srv, Profile: "datacenter", Host: "mx.sandbox.test", Port: 25})
	var ce *tunnel.CloseError
	if !errors.As(err, &ce) || ce.Code != tunnel.CodeTooMany {
		t.Errorf("second tunnel: %v, want close code %d", err, tunnel.CodeTooMany)
	}
}

func TestDialNotAGateway(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := tunnel.Dial(context.Background(), tunnel.Target{Server: srv.URL, Host: "h", Port: 25})
	if err == nil {
		t.Fatal("no error dialling a server without a gateway")
	}
}

func TestDialerInterface(t *testing.T) {
	var d interface {
		Dial(context.Context, tunnel.Target) (net.Conn, error)
	} = tunnel.Dialer{}
	c, err := d.Dial(context.Background(), tunnel.Target{Server: server(t, sandbox.Config{}), Profile: "home-isp", Host: "mx.sandbox.test", Port: 25})
	if c != nil || !errors.Is(err, tunnel.ErrRefused) {
		t.Fatalf("Dialer.Dial = %v, %v; want nil conn and ErrRefused", c, err)
	}
}

// A read deadline ends a Read waiting on a silent server (a 465 door
// waits for a TLS ClientHello), and one already past fails the next Read
// at once: the read path keeps websocket.NetConn's deadlines.
func TestReadDeadline(t *testing.T) {
	srv := server(t, sandbox.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct {
		name string
		set  func(c *tunnel.Conn)
	}{
		{"passes during the Read", func(c *tunnel.Conn) { c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)) }},
		{"already past", func(c *tunnel.Conn) { c.SetDeadline(time.Unix(1, 0)) }},
	} {
		c, err := tunnel.Dial(ctx, tunnel.Target{Server: srv, Profile: "datacenter", Host: "legacy.mail.test", Port: 465})
		if err != nil {
			t.Fatal(err)
		}
		tt.set(c)
		if _, err := c.Read(make([]byte, 16)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: Read = %v, want a deadline error", tt.name, err)
		}
		c.Close()
	}
}

// The server shutting down ends a tunnel with 1001 and the gateway's
// reason; Read returns them, as in the browser, not a bare io.EOF.
func TestReadGoingAway(t *testing.T) {
	s, err := sandbox.New(sandbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := tunnel.Dial(ctx, tunnel.Target{Server: s.URL(), Profile: "datacenter", Host: "mx.sandbox.test", Port: 25})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	greeting := make([]byte, 512)
	if n, err := c.Read(greeting); err != nil || !strings.HasPrefix(string(greeting[:n]), "220 ") {
		t.Fatalf("greeting %q, %v", greeting[:n], err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.Shutdown(ctx) }()
	defer func() { <-stopped }()
	rest, err := io.ReadAll(c)
	var ce *tunnel.CloseError
	if !strings.HasPrefix(string(rest), "421 4.3.2") || !errors.As(err, &ce) || ce.Code != tunnel.CodeGoingAway || ce.Reason == "" {
		t.Errorf("after shutdown: %q, %v; want the 421, then close code 1001 with a reason", rest, err)
	}
}
