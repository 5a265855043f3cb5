package term

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/ca"
)

// recorder is a UI that keeps everything and lets a test wait for it.
type recorder struct {
	mu     sync.Mutex
	lines  []Display
	states []ConnState
	ports  map[int]PortState
	data   bool
	notice Notice
	change chan struct{}
}

func newRecorder() *recorder {
	return &recorder{ports: map[int]PortState{}, change: make(chan struct{}, 1000)}
}

func (r *recorder) poke() {
	select {
	case r.change <- struct{}{}:
	default:
	}
}
func (r *recorder) Line(d Display) {
	r.mu.Lock()
	r.lines = append(r.lines, d)
	r.mu.Unlock()
	r.poke()
}
func (r *recorder) State(s ConnState, _ string) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.poke()
}
func (r *recorder) Port(_ string, p int, s PortState) {
	r.mu.Lock()
	r.ports[p] = s
	r.mu.Unlock()
	r.poke()
}
func (r *recorder) Notice(n Notice) {
	r.mu.Lock()
	r.data, r.notice = n.Data, n
	r.mu.Unlock()
	r.poke()
}

// waitFor waits until cond holds for the recorded UI.
func (r *recorder) waitFor(t *testing.T, what string, cond func(r *recorder) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.change:
		case <-timeout:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("timed out waiting for %s; transcript:\n%s", what, r.transcript())
		}
	}
}

func (r *recorder) transcript() string {
	var b strings.Builder
	for _, l := range r.lines {
		b.WriteString(l.Mark + " " + l.Code + l.Text)
		if l.Title != "" {
			b.WriteString("   [" + l.Title + "]")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (r *recorder) has(mark, text string) bool {
	for _, l := range r.lines {
		if l.Mark == mark && strings.Contains(l.Code+l.Text, text) {
			return true
		}
	}
	return false
}

func (r *recorder) last() ConnState {
	if len(r.states) == 0 {
		return ""
	}
	return r.states[len(r.states)-1]
}

// fakeMTA answers like the sandbox's submission port: STARTTLS before AUTH.
func fakeMTA(t *testing.T, c net.Conn, cert *tls.Certificate) {
	t.Helper()
	defer c.Close()
	rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	say := func(s string) { rw.WriteString(s + "\r\n"); rw.Flush() }
	say("220 smtp.relay.test ESMTP portlab")
	secure := false
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if secure {
				say("250-smtp.relay.test\r\n250 AUTH PLAIN LOGIN")
			} else {
				say("250-smtp.relay.test\r\n250 STARTTLS")
			}
		case cmd == "STARTTLS":
			say("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			rw = bufio.NewReadWriter(bufio.NewReader(tc), bufio.NewWriter(tc))
			secure = true
		case strings.HasPrefix(cmd, "AUTH") && !secure:
			say("530 5.7.0 Must issue a STARTTLS command first")
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			say("235 2.7.0 Authentication successful")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			say("250 2.1.0 Ok")
		case cmd == "DATA":
			say("354 End data with <CR><LF>.<CR><LF>")
			for {
				l, err := rw.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			say("250 2.0.0 Ok: queued as 1")
		case cmd == "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("500 5.5.2 Error: command not recognized")
		}
	}
}

// testCA is the sandbox's own CA, in memory, and its leaf for
// smtp.relay.test: the certificates the browser really verifies. Only the
// test imports server/ca; the wasm itself stays free of server packages
// (wasm/deps_test.go).
func testCA(t *testing.T) (*x509.CertPool, *tls.Certificate) {
	t.Helper()
	a, err := ca.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := a.Leaf("smtp.relay.test")
	if err != nil {
		t.Fatal(err)
	}
	return a.Pool(), leaf
}

func TestSubmissionSession(t *testing.T) {
	pool, cert := testCA(t)
	ui := newRecorder()
	done := make(chan struct{})
	term := New(Config{
		UI: ui, RootCAs: pool,
		Dial: func(ctx context.Context, host string, port int) (net.Conn, error) {
			client, server := net.Pipe()
			go func() { defer close(done); fakeMTA(t, server, cert) }()
			return client, nil
		},
	})
	term.Input("open smtp.relay.test 587")
	ui.waitFor(t, "the greeting", func(r *recorder) bool { return r.ports[587] == PortOpen })
	if !ui.has("===", "Trying smtp.relay.test...") || !ui.has("===", "Connected to smtp.relay.test.") {
		t.Errorf("no telnet lines:\n%s", ui.transcript())
	}
	term.Input("EHLO student.example")
	term.Input("AUTH PLAIN AGZvbwBiYXJiYXo=")
	ui.waitFor(t, "AUTH refused before TLS", func(r *recorder) bool { return r.ports[587] == PortAuthNeedsTLS })
	term.Input("STARTTLS")
	ui.waitFor(t, "TLS", func(r *recorder) bool { return r.last() == Secure && r.ports[587] == PortTLS })
	term.Input("EHLO student.example")
	term.Auth("PLAIN", "foo", "barbaz")
	ui.waitFor(t, "AUTH ok", func(r *recorder) bool { return r.ports[587] == PortAuthOK })
	term.Send(Message{From: "foo@relay.test", To: "student@sandbox.test", Subject: "hi", Body: ".dot\nline", Envelope: true})
	ui.waitFor(t, "queued", func(r *recorder) bool { return r.has("<~", "queued as 1") })
	term.Input("QUIT")
	ui.waitFor(t, "closed", func(r *recorder) bool { return r.last() == Closed })
	<-done

	ui.mu.Lock()
	defer ui.mu.Unlock()
	for _, want := range []struct{ mark, text string }{
		{"<-", "220 smtp.relay.test ESMTP"},
		{"->", "EHLO student.example"},
		{"<-", "530 5.7.0 Must issue a STARTTLS command first"},
		{"===", "TLS 1.3"},
		{"~>", "AUTH PLAIN"},
		{"<~", "235 2.7.0"},
		{"~>", "..dot"},
		{"~>", "."},
		{"<~", "221 2.0.0 Bye"},
	} {
		if !ui.has(want.mark, want.text) {
			t.Errorf("transcript lacks %s %q:\n%s", want.mark, want.text, ui.transcript())
		}
	}
	for _, l := range ui.lines {
		if l.Mark == "->" && strings.HasPrefix(l.Text, "AUTH PLAIN") && !strings.Contains(l.Title, `\0foo\0barbaz`) {
			t.Errorf("AUTH line title %q, want the decoded credentials", l.Title)
		}
		if l.Mark == "<-" && l.Code == "530" && l.Text != " 5.7.0 Must issue a STARTTLS command first" {
			t.Errorf("530 split as %q %q", l.Code, l.Text)
		}
	}
}

func TestDialFailures(t *testing.T) {
	for _, tt := range []struct {
		err   error
		state ConnState
		port  PortState
		text  string
	}{
		{&tunnel.CloseError{Code: tunnel.CodeRefused}, Refused, PortRefused, "telnet: Unable to connect to remote host: Connection refused"},
		{&tunnel.CloseError{Code: tunnel.CodeTimedOut}, TimedOut, PortTimeout, "telnet: Unable to connect to remote host: Connection timed out"},
		{&tunnel.CloseError{Code: tunnel.CodeUnknownHost}, UnknownHost, PortUnknown, "telnet: could not resolve mx.sandbox.test/25: Name or service not known"},
		{&tunnel.CloseError{Code: tunnel.CodeTooMany, Reason: "x"}, Closed, PortConnecting, "too many connections"},
	} {
		t.Run(tt.text, func(t *testing.T) {
			ui := newRecorder()
			term := New(Config{UI: ui, Dial: func(context.Context, string, int) (net.Conn, error) { return nil, tt.err }})
			term.Open("mx.sandbox.test", 25, false)
			ui.waitFor(t, string(tt.state), func(r *recorder) bool { return r.last() == tt.state && len(r.lines) >= 2 })
			ui.mu.Lock()
			defer ui.mu.Unlock()
			if !ui.has("===", tt.text) {
				t.Errorf("transcript lacks %q:\n%s", tt.text, ui.transcript())
			}
			// The note opens to the gateway close code's explanation.
			if i := ui.index("===", tt.text); i >= 0 && ui.lines[i].Close != int(tt.err.(*tunnel.CloseError).Code) {
				t.Errorf("the note carries close code %d, want %d", ui.lines[i].Close, tt.err.(*tunnel.CloseError).Code)
			}
			if ui.ports[25] != tt.port {
				t.Errorf("port 25: %q, want %q", ui.ports[25], tt.port)
			}
		})
	}
}

// TestSilentServer is 465 met by a plaintext client: no greeting; a typed
// line goes out raw and the server hangs up.
func TestSilentServer(t *testing.T) {
	ui := newRecorder()
	server := make(chan net.Conn, 1)
	term := New(Config{UI: ui, GreetingWait: time.Millisecond, Dial: func(context.Context, string, int) (net.Conn, error) {
		c, s := net.Pipe()
		server <- s
		return c, nil
	}})
	term.Input("telnet legacy.mail.test 465")
	s := <-server
	ui.waitFor(t, "silent", func(r *recorder) bool { return r.ports[465] == PortSilent })
	go func() {
		b := make([]byte, 100)
		s.Read(b)
		s.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x16})
		s.Close()
	}()
	term.Input("EHLO student.example")
	ui.waitFor(t, "closed", func(r *recorder) bool { return r.last() == Closed })
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if !ui.has("->", "EHLO student.example") {
		t.Errorf("typed line not shown:\n%s", ui.transcript())
	}
	for _, l := range ui.lines {
		if strings.ContainsAny(l.Text, "\x00\x15\x16") {
			t.Errorf("raw binary in the transcript: %q", l.Text)
		}
	}
}

func TestHistory(t *testing.T) {
	var h History
	for _, l := range []string{"EHLO a", "", "STARTTLS", "STARTTLS", "QUIT"} {
		h.Add(l)
	}
	if got := h.Lines(); strings.Join(got, "|") != "EHLO a|STARTTLS|QUIT" {
		t.Fatalf("lines %q", got)
	}
	steps := []struct {
		up   bool
		want string
	}{
		{true, "QUIT"}, {true, "STARTTLS"}, {true, "EHLO a"}, {true, "EHLO a"},
		{false, "STARTTLS"}, {false, "QUIT"}, {false, "draft"}, {false, "draft"},
	}
	cur := "draft"
	for i, s := range steps {
		if s.up {
			cur = h.Up(cur)
		} else {
			cur = h.Down(cur)
		}
		if cur != s.want {
			t.Fatalf("step %d: %q, want %q", i, cur, s.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("a\x15\x03\xffb"); got != `a\x15\x03\xffb` {
		t.Errorf("printable: %q", got)
	}
	if got := printable("250 ok\tfine"); got != "250 ok\tfine" {
		t.Errorf("printable: %q", got)
	}
}

// newFakeMTATerminal is a terminal whose every connection reaches
// fakeMTA over an in-memory pipe, trusting the test CA.
func newFakeMTATerminal(t *testing.T) (*Terminal, *recorder) {
	t.Helper()
	pool, cert := testCA(t)
	ui := newRecorder()
	term := New(Config{UI: ui, RootCAs: pool, Dial: func(context.Context, string, int) (net.Conn, error) {
		client, server := net.Pipe()
		go fakeMTA(t, server, cert)
		return client, nil
	}})
	return term, ui
}

// TestNetworkWhy: after telnet's words, the terminal says why the network
// refused or dropped the connection, in the page's language, with the
// gateway's reason (asked for in that language); a host without the door
// or a gateway limit adds no such line.
func TestNetworkWhy(t *testing.T) {
	de := locales.Catalog("de")
	reason := "ausgehende Verbindungen auf Port 25 werden abgewiesen (private Internetanbieter sperren ihn gegen Spam)"
	ui := newRecorder()
	term := New(Config{UI: ui, Catalog: de, Profile: func() string { return "home-isp" }, Dial: func(context.Context, string, int) (net.Conn, error) {
		return nil, &tunnel.CloseError{Code: tunnel.CodeRefused, Reason: reason}
	}})
	term.Open("mx.sandbox.test", 25, false)
	want := "Netzwerk home-isp: " + reason + "."
	ui.waitFor(t, "the reason", func(r *recorder) bool { return r.has("===", want) })
	ui.mu.Lock()
	if i, j := ui.index("===", "telnet: Unable to connect to remote host: Connection refused"), ui.index("===", want); i < 0 || j != i+1 {
		t.Errorf("the reason is line %d, telnet's %d; want it right after:\n%s", j, i, ui.transcript())
	}
	ui.mu.Unlock()

	for _, err := range []error{
		&tunnel.CloseError{Code: tunnel.CodeNoDoor, Reason: "smtp.relay.test hat keinen Dienst auf Port 465"},
		&tunnel.CloseError{Code: tunnel.CodeTooMany, Reason: "too many"},
		&tunnel.CloseError{Code: tunnel.CodeRefused},
		tunnel.ErrRefused,
	} {
		if got := NetworkWhy(de, "home-isp", err); got != "" {
			t.Errorf("NetworkWhy(%v) = %q, want none", err, got)
		}
	}
	if got := NetworkWhy(nil, "cloud-vm", fmt.Errorf("dial: %w", &tunnel.CloseError{Code: tunnel.CodeTimedOut, Reason: "outbound port 587 is dropped"})); got != "Network cloud-vm: outbound port 587 is dropped." {
		t.Errorf("NetworkWhy of a time-out = %q", got)
	}
}
