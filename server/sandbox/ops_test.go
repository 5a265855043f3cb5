package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/gateway"
)

// smtpDial opens a real TCP session on a lesson port and says EHLO.
func smtpDial(t *testing.T, s *Sandbox, port int) *textproto.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", s.SMTPAddr(port))
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cmd("EHLO ops.example"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	return c
}

func cmd(t *testing.T, c *textproto.Conn, line string, code int) {
	t.Helper()
	if _, err := c.Cmd("%s", line); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.ReadResponse(code); err != nil {
		t.Fatalf("%s: %v %s", line, err, msg)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// SIGTERM's path with the real sandbox: /readyz turns 503 at once, an
// SMTP session between commands gets 421 4.3.2, a message in DATA is let
// finish and is in the mailbox once it got 250, a tunnel gets its
// session's 421 and then closes with 1001 and a reason in words, and
// Shutdown returns when all are done.
func TestShutdown(t *testing.T) {
	s, err := New(Config{PortOffset: "-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if code, body := get(t, s.URL()+"/readyz"); code != 200 {
		t.Fatalf("/readyz before shutdown: %d %s", code, body)
	}

	idle := smtpDial(t, s, 25)
	busy := smtpDial(t, s, 25)
	cmd(t, busy, "MAIL FROM:<a@example.org>", 250)
	cmd(t, busy, "RCPT TO:<b@sandbox.test>", 250)
	cmd(t, busy, "DATA", 354)
	fmt.Fprintf(busy.W, "Subject: in flight\r\n\r\nthe first half\r\n")
	busy.W.Flush()

	l, err := s.Lab("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Shutdown's own deadline: passing it means something held it.
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	u, err := tunnel.Target{Server: s.URL(), Lab: l.ID, Key: l.Key, Profile: "datacenter", Host: "mx.sandbox.test", Port: 25}.URL()
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: []string{tunnel.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// A page's live event stream, which never goes idle, must not hold
	// the shutdown to its deadline.
	stream, err := http.Get(s.URL() + "/api/labs/" + l.ID + "/events?key=" + l.Key)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", stream, err)
	}
	defer stream.Body.Close()
	var tunnelled strings.Builder
	readTunnel := func(until string) error {
		for !strings.Contains(tunnelled.String(), until) {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return err
			}
			tunnelled.Write(b)
		}
		return nil
	}
	if err := readTunnel("220 "); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(sctx) }()

	if _, msg, err := idle.ReadResponse(421); err != nil || msg != "4.3.2 mx.sandbox.test Service shutting down" {
		t.Fatalf("the idle session got %q, %v", msg, err)
	}
	// Shutdown waits for the message in DATA, so the HTTP server still
	// answers, and /readyz already says no.
	if code, body := get(t, s.URL()+"/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/readyz while shutting down: %d %s", code, body)
	}
	if code, _ := get(t, s.URL()+"/healthz"); code != 200 {
		t.Errorf("/healthz while shutting down: %d", code)
	}

	err = readTunnel("421 4.3.2")
	if err == nil {
		_, _, err = ws.Read(ctx)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != gateway.ShutdownReason {
		t.Errorf("the tunnel ended with %v after %q; want 1001 %q", err, tunnelled.String(), gateway.ShutdownReason)
	}

	fmt.Fprintf(busy.W, "the second half\r\n.\r\n")
	busy.W.Flush()
	if _, msg, err := busy.ReadResponse(250); err != nil {
		t.Fatalf("the message in DATA: %v %s", err, msg)
	}
	var stored bool
	for _, m := range s.Store().List("classroom") {
		stored = stored || m.Subject == "in flight"
	}
	if !stored {
		t.Error("a message acknowledged with 250 is not in the mailbox")
	}
	if _, msg, err := busy.ReadResponse(421); err != nil || !strings.Contains(msg, "Service shutting down") {
		t.Errorf("after its 250 the session got %q, %v", msg, err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.Dial("tcp", s.SMTPAddr(25)); err == nil {
		t.Error("the SMTP listener still accepts after Shutdown")
	}
}

// After a session, /metrics shows it: bounded labels only.
func TestMetrics(t *testing.T) {
	s, err := New(Config{PortOffset: "-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := smtpDial(t, s, 25)
	cmd(t, c, "MAIL FROM:<a@example.org>", 250)
	cmd(t, c, "RCPT TO:<b@sandbox.test>", 250)
	cmd(t, c, "DATA", 354)
	fmt.Fprintf(c.W, "Subject: counted\r\n\r\nx\r\n.\r\n")
	c.W.Flush()
	if _, _, err := c.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	cmd(t, c, "QUIT", 221)
	// STARTTLS and AUTH on 587: one good password, one bad.
	for _, pw := range []string{"barbaz", "wrong"} {
		sc, err := smtp.Dial(s.SMTPAddr(587))
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.StartTLS(&tls.Config{RootCAs: s.Roots(), ServerName: "localhost"}); err != nil {
			t.Fatal(err)
		}
		if err := sc.Auth(smtp.PlainAuth("", "foo", pw, "127.0.0.1")); (err == nil) != (pw == "barbaz") {
			t.Fatalf("AUTH with %q: %v", pw, err)
		}
		sc.Close()
	}
	if _, err := s.Lab(""); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, s.MetricsURL())
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`portlab_smtp_connections_total{host="mx.sandbox.test",port="25"} 1`,
		`portlab_smtp_replies_total{code="250"} `,
		`portlab_smtp_replies_total{code="354"} 1`,
		`portlab_messages_accepted_total 1`,
		`portlab_labs 2`,
		`portlab_classes 0`,
		`portlab_tunnels_open 0`,
		`portlab_mailbox_messages 1`,
		`portlab_store_seconds_count{op="Classes"} `,
		`portlab_lessons_passed_total 0`,
		`portlab_smtp_auth_total{result="ok"} 1`,
		`portlab_smtp_auth_total{result="failed"} 1`,
		`portlab_tls_handshakes_total{version="TLS 1.3"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "a@example.org") {
		t.Error("/metrics carries a client's address")
	}
	// Not for other origins: the HTTP guard refuses a foreign Host.
	req, _ := http.NewRequest("GET", s.MetricsURL(), nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Error("/metrics answered a foreign Host header")
	}
}
