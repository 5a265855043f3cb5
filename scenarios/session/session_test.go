package session

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/portlab/portlab/server/ca"
)

// testTLS is the sandbox CA's server configuration for host and the pool
// that trusts it (a test-only import: the session itself knows nothing of
// the server).
func testTLS(t *testing.T, host string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	auth, err := ca.Open("", nil)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := auth.ServerConfig(host)
	if err != nil {
		t.Fatal(err)
	}
	return conf, auth.Pool()
}

type received struct {
	from string
	to   []string
	data string
	user string
}

type backend struct {
	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &testSession{b: b}, nil }

type testSession struct {
	b    *backend
	user string
	msg  received
}

var _ smtp.AuthSession = (*testSession)(nil)

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != "foo" || pass != "barbaz" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.user = user
		return nil
	}
	if mech == sasl.Login {
		return &loginServer{check: check}, nil
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error { s.msg.from = from; return nil }
func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !strings.HasSuffix(to, "@sandbox.test") {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "<" + to + ">: Relay access denied"}
	}
	s.msg.to = append(s.msg.to, to)
	return nil
}
func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data, s.msg.user = string(b), s.user
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.msg)
	s.b.mu.Unlock()
	return nil
}
func (s *testSession) Reset()        { s.msg = received{} }
func (s *testSession) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch {
	case l.step == 1 && resp == nil:
		return []byte("Username:"), false, nil
	case l.step == 1:
		l.step++
		fallthrough
	case l.step == 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

// startServer runs a go-smtp server on 127.0.0.1 and returns its address
// and the pool trusting its certificate. implicit wraps it in TLS (465).
func startServer(t *testing.T, implicit bool) (string, *x509.CertPool, *backend) {
	t.Helper()
	conf, pool := testTLS(t, "smtp.relay.test")
	be := &backend{}
	srv := smtp.NewServer(be)
	srv.Domain = "smtp.relay.test"
	srv.TLSConfig = conf
	srv.ErrorLog = nopLogger{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String(), pool, be
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type transcript struct {
	mu    sync.Mutex
	lines []Line
}

func (tr *transcript) add(l Line) { tr.mu.Lock(); tr.lines = append(tr.lines, l); tr.mu.Unlock() }

func (tr *transcript) find(t *testing.T, who Who, prefix string) Line {
	t.Helper()
	for _, l := range tr.lines {
		if l.Who == who && strings.HasPrefix(l.Text, prefix) {
			return l
		}
	}
	t.Fatalf("no %s line starting %q in transcript:\n%s", who, prefix, tr)
	return Line{}
}

func (tr *transcript) String() string {
	var b strings.Builder
	for _, l := range tr.lines {
		lock := " "
		if l.Secure {
			lock = "*"
		}
		b.WriteString(lock + l.Who.String() + ": " + l.Text + "\n")
	}
	return b.String()
}

func dial(t *testing.T, addr string, pool *x509.CertPool) (*Session, *transcript) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := &transcript{}
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := New(c, Config{Host: "smtp.relay.test", RootCAs: pool, OnLine: tr.add,
		Now: func() time.Time { return clock }, Timeout: 5 * time.Second})
	t.Cleanup(func() { s.Close() })
	return s, tr
}

func must(t *testing.T, r *Reply, err error, code int, enh string) *Reply {
	t.Helper()
	if err != nil {
		t.Fatalf("want %d %s, got error %v", code, enh, err)
	}
	if r.Code != code || (enh != "" && r.Enhanced != enh) {
		t.Fatalf("want %d %s, got %q", code, enh, r)
	}
	return r
}

func TestStartTLSAuthData(t *testing.T) {
	addr, pool, be := startServer(t, false)
	s, tr := dial(t, addr, pool)
	ctx := context.Background()

	r, err := s.ReadReply(ctx)
	must(t, r, err, 220, "")
	if !strings.Contains(r.Text(), "smtp.relay.test") {
		t.Errorf("greeting %q does not name the host", r.Text())
	}
	r, err = s.Cmd(ctx, "EHLO laptop.example")
	must(t, r, err, 250, "")
	if _, ok := r.Extension("STARTTLS"); !ok {
		t.Errorf("STARTTLS not offered: %q", r)
	}
	if _, ok := r.Extension("auth"); ok {
		t.Errorf("AUTH offered before TLS: %q", r)
	}
	if s.LastEHLO() != r {
		t.Error("LastEHLO is not the EHLO reply")
	}
	// go-smtp's own answer to AUTH before TLS (the relay replaces it by 530).
	r, err = s.AuthPlain(ctx, "foo", "barbaz")
	must(t, r, err, 523, "5.7.10")

	r, err = s.StartTLS(ctx)
	must(t, r, err, 220, "2.0.0")
	st, ok := s.TLS()
	if !ok || st.Version < tls.VersionTLS12 || st.ServerName != "smtp.relay.test" {
		t.Fatalf("TLS state %v %+v", ok, st)
	}
	if s.LastEHLO() != nil {
		t.Error("EHLO knowledge survived STARTTLS (RFC 3207 §4.2)")
	}
	r, err = s.Cmd(ctx, "EHLO laptop.example")
	must(t, r, err, 250, "")
	if p, ok := r.Extension("AUTH"); !ok || !strings.Contains(p, "PLAIN") {
		t.Errorf("AUTH PLAIN not offered after TLS: %q", r)
	}
	if exts := r.Extensions(); len(exts) == 0 || exts[0] == "" {
		t.Errorf("Extensions() = %q", exts)
	}

	r, err = s.AuthPlain(ctx, "foo", "wrong")
	must(t, r, err, 535, "5.7.8")
	r, err = s.AuthLogin(ctx, "foo", "barbaz")
	must(t, r, err, 235, "2.0.0")

	body := "Subject: hi\n\nline one\n.hidden dot\n..two dots\n.\nend\n"
	r, err = s.Mail(ctx, "foo@sandbox.test", []string{"bob@sandbox.test"}, []byte(body))
	must(t, r, err, 250, "2.0.0")
	r, err = s.Mail(ctx, "foo@sandbox.test", []string{"victim@example.org"}, []byte(body))
	must(t, r, err, 554, "5.7.1")
	r, err = s.Quit(ctx)
	must(t, r, err, 221, "")

	if len(be.msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(be.msgs))
	}
	m := be.msgs[0]
	want := strings.ReplaceAll(body, "\n", "\r\n")
	if m.from != "foo@sandbox.test" || len(m.to) != 1 || m.data != want || m.user != "foo" {
		t.Errorf("server got %+v\nwant data %q", m, want)
	}

	// The transcript: who, lock, decoded AUTH.
	if l := tr.find(t, Client, "EHLO"); l.Secure {
		t.Error("first EHLO marked secure")
	}
	if l := tr.find(t, Client, "AUTH PLAIN "); l.Decoded != `\0foo\0barbaz` {
		t.Errorf("AUTH PLAIN decoded = %q", l.Decoded)
	}
	if l := tr.find(t, Server, "334 "); l.Decoded != "Username:" || !l.Secure {
		t.Errorf("334 line = %+v", l)
	}
	if l := tr.find(t, Client, Base64("barbaz")); l.Decoded != "barbaz" {
		t.Errorf("LOGIN password line decoded = %q", l.Decoded)
	}
	tr.find(t, TLS, "TLS 1.")
	tr.find(t, TLS, "certificate CN=smtp.relay.test")
	tr.find(t, Client, "..hidden dot")
	tr.find(t, Client, "...two dots")
	for _, l := range tr.lines {
		if !l.At.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Fatalf("line %q not stamped by the injected clock: %v", l.Text, l.At)
		}
	}
}

func TestImplicitTLS(t *testing.T) {
	addr, pool, _ := startServer(t, true)
	s, tr := dial(t, addr, pool)
	ctx := context.Background()
	if err := s.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.ReadReply(ctx)
	must(t, r, err, 220, "")
	if l := tr.find(t, Server, "220"); !l.Secure {
		t.Error("greeting over implicit TLS not marked secure")
	}
	r, err = s.Cmd(ctx, "EHLO laptop.example")
	must(t, r, err, 250, "")
	if _, ok := r.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered inside TLS")
	}
	r, err = s.AuthPlain(ctx, "foo", "barbaz")
	must(t, r, err, 235, "")
}

func TestPlaintextAt465IsSilent(t *testing.T) {
	addr, pool, _ := startServer(t, true)
	s, _ := dial(t, addr, pool)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.ReadReply(ctx)
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("ReadReply = %v, want a timeout", err)
	}
}

func TestHandshakeWrongName(t *testing.T) {
	addr, pool, _ := startServer(t, true)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := &transcript{}
	s := New(c, Config{Host: "legacy.mail.test", RootCAs: pool, OnLine: tr.add})
	defer s.Close()
	err = s.Handshake(context.Background())
	var herr *HandshakeError
	if !errors.As(err, &herr) {
		t.Fatalf("handshake = %v, want a *HandshakeError", err)
	}
	// The words a student reads name both hosts (docs/teaching-map.md L26).
	l := tr.find(t, TLS, "TLS handshake failed")
	if want := "TLS handshake failed: the certificate is for smtp.relay.test, not legacy.mail.test: this is not the server you asked for, so the client stops"; !strings.HasPrefix(l.Text, want) {
		t.Errorf("transcript says %q, want %q...", l.Text, want)
	}
}

// A certificate from a CA the client does not trust is refused, and the
// words name the CA that issued it.
func TestHandshakeUnknownCA(t *testing.T) {
	addr, _, _ := startServer(t, true)
	_, otherPool := testTLS(t, "smtp.relay.test") // another sandbox's CA
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := &transcript{}
	s := New(c, Config{Host: "smtp.relay.test", RootCAs: otherPool, OnLine: tr.add})
	defer s.Close()
	if err := s.Handshake(context.Background()); err == nil {
		t.Fatal("handshake accepted a certificate from an unknown CA")
	}
	l := tr.find(t, TLS, "TLS handshake failed")
	if want := `TLS handshake failed: the certificate of smtp.relay.test was issued by "portlab sandbox CA", a certificate authority this client does not trust, so the client stops`; !strings.HasPrefix(l.Text, want) {
		t.Errorf("transcript says %q, want %q...", l.Text, want)
	}
}

func TestExecTerminal(t *testing.T) {
	addr, pool, be := startServer(t, false)
	s, _ := dial(t, addr, pool)
	ctx := context.Background()
	s.ReadReply(ctx)
	for _, step := range []struct {
		line string
		code int // 0: no reply expected
	}{
		{"EHLO laptop", 250}, {"starttls", 220}, {"EHLO laptop", 250},
		{"AUTH PLAIN " + PlainResponse("foo", "barbaz"), 235},
		{"MAIL FROM:<foo@sandbox.test>", 250}, {"RCPT TO:<bob@sandbox.test>", 250},
		{"DATA", 354}, {"Subject: typed", 0}, {"", 0}, {"hello", 0}, {".", 250},
		{"NOOP", 250},
	} {
		r, err := s.Exec(ctx, step.line)
		if err != nil {
			t.Fatalf("%q: %v", step.line, err)
		}
		if step.code == 0 && r != nil || step.code != 0 && (r == nil || r.Code != step.code) {
			t.Fatalf("%q: got %v, want %d", step.line, r, step.code)
		}
	}
	if _, ok := s.TLS(); !ok {
		t.Error("typed STARTTLS did not start TLS")
	}
	if len(be.msgs) != 1 || be.msgs[0].data != "Subject: typed\r\n\r\nhello\r\n" {
		t.Errorf("server got %+v", be.msgs)
	}
}

// fakeServer answers a client over net.Pipe with a script of raw bytes.
func fakeServer(t *testing.T, script string) *Session {
	t.Helper()
	c, srv := net.Pipe()
	go io.WriteString(srv, script)
	go io.Copy(io.Discard, srv)
	t.Cleanup(func() { c.Close(); srv.Close() })
	return New(c, Config{Host: "x.test", Timeout: time.Second})
}

func TestReplyParsing(t *testing.T) {
	s := fakeServer(t, "250-mx.sandbox.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\n"+
		"530 5.7.0 Must issue a STARTTLS command first\r\n"+
		"554 5.7.1 <v@example.org>: Relay access denied\r\n"+
		"220\r\n"+
		"250 2.0.0\r\n"+
		"500 5.5.2 Error: command not recognized\r\n"+
		"421-4.4.2 first\r\n421 4.4.2 second\r\n"+
		"250 9.9.9 not enhanced\r\n")
	ctx := context.Background()
	r, err := s.ReadReply(ctx)
	must(t, r, err, 250, "")
	if got := strings.Join(r.Extensions(), ","); got != "PIPELINING,SIZE,AUTH,8BITMIME" {
		t.Errorf("Extensions = %s", got)
	}
	if p, _ := r.Extension("size"); p != "10240000" {
		t.Errorf("SIZE params = %q", p)
	}
	for _, want := range []struct {
		code      int
		enh, text string
	}{
		{530, "5.7.0", "Must issue a STARTTLS command first"},
		{554, "5.7.1", "<v@example.org>: Relay access denied"},
		{220, "", ""},
		{250, "2.0.0", ""},
		{500, "5.5.2", "Error: command not recognized"},
		{421, "4.4.2", "first\nsecond"},
		{250, "", "9.9.9 not enhanced"},
	} {
		r, err := s.ReadReply(ctx)
		must(t, r, err, want.code, want.enh)
		if r.Enhanced != want.enh || r.Text() != want.text {
			t.Errorf("%d: enhanced %q text %q, want %q %q", want.code, r.Enhanced, r.Text(), want.enh, want.text)
		}
	}
}

func TestNotSMTP(t *testing.T) {
	for _, script := range []string{
		"* OK [CAPABILITY IMAP4rev1] mail.sandbox.test IMAP ready\r\n",
		"+OK mail.sandbox.test POP3 ready\r\n",
		"250-a\r\n354 b\r\n",
		"999 nope\r\n",
	} {
		_, err := fakeServer(t, script).ReadReply(context.Background())
		if !errors.Is(err, ErrNotSMTP) {
			t.Errorf("%q: err = %v, want ErrNotSMTP", script, err)
		}
	}
	s := fakeServer(t, "* OK IMAP ready\r\n")
	if line, err := s.ReadLine(context.Background()); err != nil || line != "* OK IMAP ready" {
		t.Errorf("ReadLine = %q, %v", line, err)
	}
}

func TestLimits(t *testing.T) {
	s := fakeServer(t, "250 "+strings.Repeat("x", MaxLineLength)+"\r\n")
	if _, err := s.ReadReply(context.Background()); err == nil || !strings.Contains(err.Error(), "longer") {
		t.Errorf("long line: %v", err)
	}
	s = fakeServer(t, strings.Repeat("250-x\r\n", MaxReplyLines+1))
	if _, err := s.ReadReply(context.Background()); err == nil || !strings.Contains(err.Error(), "lines") {
		t.Errorf("long reply: %v", err)
	}
	if err := s.Send(context.Background(), "NOOP\r\nQUIT"); err == nil {
		t.Error("Send accepted a line with CRLF inside")
	}
}

func TestClosedByServer(t *testing.T) {
	c, srv := net.Pipe()
	go func() { io.WriteString(srv, "221 2.0.0 Bye\r\n"); srv.Close() }()
	tr := &transcript{}
	s := New(c, Config{OnLine: tr.add, Timeout: time.Second})
	defer s.Close()
	r, err := s.ReadReply(context.Background())
	must(t, r, err, 221, "2.0.0")
	if err := s.WaitClosed(context.Background()); err != nil {
		t.Fatalf("WaitClosed = %v", err)
	}
	tr.find(t, Note, "Connection closed by foreign host.")
}

func TestStartTLSInjection(t *testing.T) {
	s := fakeServer(t, "220 2.0.0 Ready to start TLS\r\n250 injected\r\n")
	// The 220 and "250 injected" arrive in one write: the second is
	// buffered plaintext when the handshake would start.
	r, err := s.StartTLS(context.Background())
	if err == nil || r == nil || r.Code != 220 || !strings.Contains(err.Error(), "plaintext") {
		t.Fatalf("StartTLS = %v, %v; want refusal of buffered plaintext", r, err)
	}
}

func TestHelpers(t *testing.T) {
	if got := PlainResponse("foo", "barbaz"); got != "AGZvbwBiYXJiYXo=" {
		t.Errorf("PlainResponse = %s", got)
	}
	u, p := LoginResponses("foo", "barbaz")
	if u != "Zm9v" || p != "YmFyYmF6" {
		t.Errorf("LoginResponses = %s %s", u, p)
	}
	if Decode("AGZvbwBiYXJiYXo=") != `\0foo\0barbaz` || Decode("not base64!") != "" {
		t.Error("Decode")
	}
	got := BodyLines([]byte(".a\r\nb\n..c\n"))
	if !bytes.Equal([]byte(strings.Join(got, "|")), []byte("..a|b|...c")) {
		t.Errorf("BodyLines = %q", got)
	}
}
