package gateway_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/sandbox"
	"github.com/portlab/portlab/server/world"
)

type env struct {
	*sandbox.Sandbox
	url string
}

// start runs the real sandbox in-process: relay, labs, gateway and API
// behind a loopback HTTP server, as `portlab serve` does, with request
// time-outs far shorter than a tunnel's life (the drop timeout is
// 300 ms): a tunnel outlives them.
func start(t testing.TB, cfg sandbox.Config) *env {
	t.Helper()
	if cfg.DropTimeout == 0 {
		cfg.DropTimeout = 300 * time.Millisecond
	}
	if cfg.HTTPTimeouts == (httpguard.Timeouts{}) {
		cfg.HTTPTimeouts = httpguard.DefaultTimeouts
		cfg.HTTPTimeouts.Read, cfg.HTTPTimeouts.Write = 100*time.Millisecond, 100*time.Millisecond
	}
	s, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{Sandbox: s, url: s.URL()}
}

func (e *env) dial(t *testing.T, lab, profile, host string, port int) (*tunnel.Conn, error) {
	t.Helper()
	return e.dialTarget(t, tunnel.Target{Lab: lab, Profile: profile, Host: host, Port: port})
}

func (e *env) dialTarget(t *testing.T, target tunnel.Target) (*tunnel.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	target.Server = e.url
	c, err := tunnel.Dial(ctx, target)
	if err == nil {
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	return c, err
}

// expect is what a profile does to a port, from ARCHITECTURE.md's table,
// written out independently of the profiles file.
func expect(profile string, port int) string {
	switch profile {
	case "home-isp":
		if port == 25 {
			return "refused"
		}
	case "cloud-vm":
		if port == 25 || port == 465 || port == 587 {
			return "timeout"
		}
	case "corporate":
		if port != 587 {
			return "refused"
		}
	case "hotel-wifi":
		if port == 25 {
			return "intercepted"
		}
		if port == 587 {
			return "stripped"
		}
	}
	return "pass"
}

// TestMatrix dials every profile x every host x every lesson door through
// the real gateway and checks what the student sees.
func TestMatrix(t *testing.T) {
	e := start(t, sandbox.Config{})
	ports := []int{25, 465, 587, 2525, 143, 993, 110, 995}
	for _, profile := range []string{"datacenter", "other-datacenter", "home-isp", "cloud-vm", "corporate", "hotel-wifi"} {
		for _, h := range e.World().Hosts() {
			for _, port := range ports {
				t.Run(fmt.Sprintf("%s/%s:%d", profile, h.Name, port), func(t *testing.T) {
					t.Parallel()
					want := expect(profile, port)
					door, open := h.Door(port)
					if want == "intercepted" {
						door, open = world.Door{Host: "smtp.hotel-wifi.test", Port: 25, Service: world.SMTPRelay}, true
					}
					code := tunnel.CodeRefused // refused by the network
					if (want == "pass" || want == "stripped") && !open {
						want, code = "refused", tunnel.CodeNoDoor // the network lets it through; the host has no door there
					}
					c, err := e.dial(t, "", profile, h.Name, port)
					switch want {
					case "refused":
						var ce *tunnel.CloseError
						if !errors.Is(err, tunnel.ErrRefused) || !errors.As(err, &ce) || ce.Code != code {
							t.Fatalf("want Connection refused (%d), got %v", code, err)
						}
						return
					case "timeout":
						if !errors.Is(err, tunnel.ErrTimedOut) {
							t.Fatalf("want Connection timed out, got %v", err)
						}
						return
					}
					if err != nil {
						t.Fatalf("want a connection (%s), got %v", want, err)
					}
					info := c.Info()
					if want == "intercepted" && info.InterceptedBy != "smtp.hotel-wifi.test" || want != "intercepted" && info.InterceptedBy != "" {
						t.Errorf("intercepted_by = %q (want %s)", info.InterceptedBy, want)
					}
					checkGreeting(t, e, c, door, want == "stripped")
				})
			}
		}
	}
}

// checkGreeting reads what the door says first, doing TLS where the door
// wants it from the first byte.
func checkGreeting(t *testing.T, e *env, c net.Conn, d world.Door, stripped bool) {
	t.Helper()
	var conn net.Conn = c
	if d.Service.ImplicitTLS() {
		tc := tls.Client(c, e.CA().ClientConfig(d.Host))
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS with %s: %v", d.Host, err)
		}
		conn = tc
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no greeting: %v", err)
	}
	switch {
	case d.Service.IsSMTP():
		if !strings.HasPrefix(line, "220 "+d.Host+" ") {
			t.Fatalf("SMTP greeting %q does not name %s", line, d.Host)
		}
		fmt.Fprintf(conn, "EHLO student\r\n")
		var caps []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			caps = append(caps, strings.TrimSpace(l))
			if l[3] == ' ' {
				break
			}
		}
		all := strings.Join(caps, "|")
		if stripped != strings.Contains(all, "XXXXXXXA") || stripped && strings.Contains(all, "STARTTLS") {
			t.Errorf("stripped=%v but EHLO said %s", stripped, all)
		}
	case d.Service == world.IMAP || d.Service == world.IMAPS:
		if !strings.HasPrefix(line, "* OK ") {
			t.Fatalf("IMAP greeting %q", line)
		}
	default:
		if !strings.HasPrefix(line, "+OK ") {
			t.Fatalf("POP3 greeting %q", line)
		}
	}
}

// A stripped STARTTLS command reaches the server as garbage: the student
// sees the server's "command not recognized".
func TestStrippedSTARTTLSCommand(t *testing.T) {
	e := start(t, sandbox.Config{})
	c, err := e.dial(t, "", "hotel-wifi", "smtp.relay.test", 587)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	br.ReadString('\n')
	fmt.Fprintf(c, "STARTTLS\r\n")
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "500 5.5.2 Error: command not recognized") {
		t.Fatalf("STARTTLS through the hotel Wi-Fi: %q", l)
	}
}

// Isolation: two labs send mail; each sees only its own.
func TestLabIsolation(t *testing.T) {
	e := start(t, sandbox.Config{})
	var labs []lab.Lab
	for _, subject := range []string{"from lab A", "from lab B"} {
		resp, err := http.Post(e.url+"/api/labs", "application/json", strings.NewReader(`{"profile":"datacenter"}`))
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create lab: %v %v", resp, err)
		}
		var l lab.Lab
		json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		labs = append(labs, l)
		// Without the key, or with another lab's, no tunnel opens.
		for _, key := range []string{"", l.ID, l.Password, labs[0].Key} {
			if key == l.Key {
				continue
			}
			_, err := e.dialTarget(t, tunnel.Target{Lab: l.ID, Key: key, Host: "mx.sandbox.test", Port: 25})
			if ce := (*tunnel.CloseError)(nil); !errors.As(err, &ce) || ce.Code != tunnel.CodeNoSuchLab {
				t.Errorf("tunnel with key %q: %v, want 4005", key, err)
			}
		}
		c, err := e.dialTarget(t, tunnel.Target{Lab: l.ID, Key: l.Key, Host: "mx.sandbox.test", Port: 25})
		if err != nil {
			t.Fatal(err)
		}
		converse(t, c, "EHLO x", "MAIL FROM:<s@x.test>", "RCPT TO:<t@sandbox.test>", "DATA", "Subject: "+subject+"\r\n\r\nhi\r\n.", "QUIT")
	}
	for i, l := range labs {
		id := l.ID
		req, _ := http.NewRequest("GET", e.url+"/api/labs/"+id+"/messages", nil)
		req.Header.Set("Authorization", "Bearer "+l.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []mailbox.Message
		json.NewDecoder(resp.Body).Decode(&msgs)
		resp.Body.Close()
		want := []string{"from lab A", "from lab B"}[i]
		if len(msgs) != 1 || msgs[0].Subject != want || msgs[0].Lab != id {
			t.Errorf("lab %d sees %+v, want only %q", i, msgs, want)
		}
	}
	if n := len(e.Store().List(lab.Classroom)); n != 0 {
		t.Errorf("the classroom got %d lab messages", n)
	}
}

// converse sends each line and reads one reply per line.
func converse(t *testing.T, c net.Conn, lines ...string) []string {
	t.Helper()
	br := bufio.NewReader(c)
	var replies []string
	read := func() string {
		var last string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading a reply: %v (so far %v)", err, replies)
			}
			last = strings.TrimSpace(l)
			if len(last) < 4 || last[3] != '-' {
				return last
			}
		}
	}
	read() // greeting
	for _, l := range lines {
		fmt.Fprintf(c, "%s\r\n", l)
		replies = append(replies, read())
	}
	return replies
}

// Hostile input gets its documented refusal, and the gateway keeps
// serving others.
func TestHostileInput(t *testing.T) {
	e := start(t, sandbox.Config{TunnelsPerClient: 4, MaxMessage: 1024})
	for _, tc := range []struct {
		host string
		port int
		code websocket.StatusCode
	}{
		{"nosuch.example", 25, tunnel.CodeUnknownHost},
		{"127.0.0.1", 25, tunnel.CodeUnknownHost},
		{"localhost", 25, tunnel.CodeUnknownHost},
		{"[::1]", 25, tunnel.CodeUnknownHost},
		{"mx.sandbox.test", 0, tunnel.CodeBadRequest},
		{"mx.sandbox.test", 70000, tunnel.CodeBadRequest},
	} {
		_, err := rawDial(t, e.url+tunnel.Path+fmt.Sprintf("?host=%s&port=%d&profile=datacenter", tc.host, tc.port), "")
		if got := websocket.CloseStatus(err); got != tc.code {
			t.Errorf("%s:%d closed with %d (%v), want %d", tc.host, tc.port, got, err, tc.code)
		}
	}
	// A lab that does not exist.
	if _, err := rawDial(t, e.url+tunnel.Path+"?lab=nope&host=mx.sandbox.test&port=25", ""); websocket.CloseStatus(err) != tunnel.CodeNoSuchLab {
		t.Errorf("unknown lab: %v", err)
	}
	// A wrong Origin is refused before any upgrade.
	if _, err := rawDial(t, e.url+tunnel.Path+"?host=mx.sandbox.test&port=25", "https://evil.example"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("foreign origin: %v", err)
	}
	// A flood from one address: past the limit each tunnel gets 4008, and
	// the open ones keep working.
	var held []*tunnel.Conn
	for range 4 {
		c, err := e.dial(t, "", "datacenter", "mx.sandbox.test", 25)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	var wg sync.WaitGroup
	var refused sync.Map
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.dial(t, "", "datacenter", "mx.sandbox.test", 25)
			var ce *tunnel.CloseError
			if errors.As(err, &ce) && ce.Code == tunnel.CodeTooMany {
				refused.Store(i, true)
			}
		}()
	}
	wg.Wait()
	n := 0
	refused.Range(func(any, any) bool { n++; return true })
	if n != 10 {
		t.Errorf("%d of 10 flood connections got 4008", n)
	}
	if r := converse(t, held[0], "NOOP"); r[0] != "250 2.0.0 Ok" {
		t.Errorf("a held tunnel stopped working: %v", r)
	}
	// An oversized message ends the tunnel with 1009 (last: the slot is
	// given back only once the relay has closed its side).
	c := held[1]
	c.Write(make([]byte, 4096))
	_, err := io.ReadAll(c)
	var ce *tunnel.CloseError
	if !errors.As(err, &ce) || ce.Code != tunnel.CodeTooBig {
		t.Errorf("oversized message: %v", err)
	}
}

func rawDial(t *testing.T, url, origin string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{tunnel.Subprotocol}, HTTPHeader: h})
	if err != nil {
		return nil, err
	}
	_, _, err = c.Read(ctx)
	c.CloseNow()
	return c, err
}

// Nothing of a message over the limit reaches the relay: a transaction in
// its first bytes is never run.
func TestOversizedMessageNotForwarded(t *testing.T) {
	e := start(t, sandbox.Config{MaxMessage: 1024})
	sub := e.Bus().Subscribe(1024, nil)
	defer sub.Close()
	c, err := e.dial(t, "", "datacenter", "mx.sandbox.test", 25)
	if err != nil {
		t.Fatal(err)
	}
	smuggled := "EHLO x\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<t@sandbox.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nhi\r\n.\r\n"
	c.Write([]byte(smuggled + strings.Repeat("x", 2048)))
	_, err = io.ReadAll(c)
	if ce := (*tunnel.CloseError)(nil); !errors.As(err, &ce) || ce.Code != tunnel.CodeTooBig {
		t.Fatalf("oversized message: %v, want 1009", err)
	}
	for ev := range sub.C {
		if ev.Kind == events.Command {
			t.Errorf("the relay saw %q from an oversized message", ev.Text)
		}
		if ev.Kind == events.Disconnect {
			break
		}
	}
	if n := len(e.Store().List(lab.Classroom)); n != 0 {
		t.Errorf("%d message(s) stored from an oversized WebSocket message", n)
	}
}

// A close reason longer than a control frame allows is cut at a character
// boundary: a browser fails a reason that is not UTF-8 with 1006.
func TestCloseReasonUTF8(t *testing.T) {
	e := start(t, sandbox.Config{})
	host := "x" + strings.Repeat("é", 70) // the cut at 123 bytes falls inside a "é"
	_, err := rawDial(t, e.url+tunnel.Path+"?port=25&profile=datacenter&host="+url.QueryEscape(host), "")
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != tunnel.CodeUnknownHost {
		t.Fatalf("closed with %v, want 4003", err)
	}
	if len(ce.Reason) > 123 || len(ce.Reason) < 120 || !utf8.ValidString(ce.Reason) {
		t.Errorf("close reason of %d bytes, valid UTF-8 %v: %q", len(ce.Reason), utf8.ValidString(ce.Reason), ce.Reason)
	}
}

// A real client in the shared classroom that authenticates as a lab's
// user (the lab's id) moves into the lab; nothing on the classroom's
// stream, which anyone may watch, names that lab, failed AUTH included.
func TestClassroomStreamNamesNoLab(t *testing.T) {
	e := start(t, sandbox.Config{})
	l, err := e.Labs().Create(netip.MustParseAddr("192.0.2.1"), "datacenter")
	if err != nil {
		t.Fatal(err)
	}
	all := e.Bus().Subscribe(1024, nil)
	defer all.Close()
	c, err := e.dial(t, "", "datacenter", "legacy.mail.test", 465)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(c, e.CA().ClientConfig("legacy.mail.test"))
	plain := func(pass string) string {
		return "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+l.ID+"\x00"+pass))
	}
	replies := converse(t, tc, "EHLO x", plain("wrong"), plain(l.Password), "QUIT")
	if !strings.HasPrefix(replies[1], "535") || !strings.HasPrefix(replies[2], "235") {
		t.Fatalf("AUTH replies %v", replies)
	}
	var inLab int
	for ev := range all.C {
		if ev.Lab == lab.Classroom {
			if data, _ := json.Marshal(ev); strings.Contains(string(data), l.ID) {
				t.Errorf("the classroom stream names the lab: %s", data)
			}
		}
		if ev.Lab == l.ID && ev.Kind == events.Auth {
			inLab++
		}
		if ev.Kind == events.Disconnect {
			break
		}
	}
	if inLab != 2 {
		t.Errorf("the lab got %d AUTH events, want 2 (the failure and the success)", inLab)
	}
}

// The network's reason reaches the student in the language the tunnel
// names (lang=...), whole: the close reason of a refused, dropped or
// doorless connection and the connected message's rule. Without lang it
// is English.
func TestReasonInLanguage(t *testing.T) {
	e := start(t, sandbox.Config{})
	tests := []struct {
		lang, profile, host string
		port                int
		code                int
		want                string
	}{
		{"de", "home-isp", "mx.sandbox.test", 25, tunnel.CodeRefused, "ausgehende Verbindungen auf Port 25 werden abgewiesen (private Internetanbieter sperren ihn gegen Spam)"},
		{"", "home-isp", "mx.sandbox.test", 25, tunnel.CodeRefused, "outbound port 25 is refused (residential ISPs block it against spam)"},
		{"pt-BR", "cloud-vm", "smtp.relay.test", 587, tunnel.CodeTimedOut, "a saída pela porta 587 é descartada (o provedor bloqueia as portas de e-mail para barrar o spam das suas VMs)"},
		{"es", "datacenter", "smtp.relay.test", 465, tunnel.CodeNoDoor, "smtp.relay.test no ofrece ningún servicio en el puerto 465"},
		{"it", "hotel-wifi", "mx.example.org", 25, 0, "la porta 25 viene intercettata: risponde smtp.hotel-wifi.test al posto di mx.example.org (l'hotel devia tutto il traffico della porta 25 verso il proprio server); 40ms di latenza aggiunta (il Wi-Fi condiviso è lento)"},
	}
	for _, tt := range tests {
		c, err := e.dialTarget(t, tunnel.Target{Profile: tt.profile, Host: tt.host, Port: tt.port, Lang: tt.lang})
		if tt.code == 0 {
			if err != nil {
				t.Fatalf("%s %s:%d: %v", tt.profile, tt.host, tt.port, err)
			}
			if got := c.Info().Rule; got != tt.want {
				t.Errorf("%s %s: rule %q, want %q", tt.lang, tt.profile, got, tt.want)
			}
			continue
		}
		var ce *tunnel.CloseError
		if !errors.As(err, &ce) || ce.Code != tt.code || ce.Reason != tt.want {
			t.Errorf("%s %s %s:%d: %v (%q), want %d %q", tt.lang, tt.profile, tt.host, tt.port, err, reasonOf(ce), tt.code, tt.want)
		}
	}
}

func reasonOf(ce *tunnel.CloseError) string {
	if ce == nil {
		return ""
	}
	return ce.Reason
}
