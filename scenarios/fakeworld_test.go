package scenarios

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/portlab/portlab/scenarios/tunnel"
)

// fakeWorld is a small stand-in for the portlab server, for engine tests
// until the real gateway runs: go-smtp servers on loopback behind a
// Dialer that applies a few profile rules, and a mailbox. Its replies are
// go-smtp's, not the relay's Postfix-faithful ones, so tests play lessons
// written for it (and first-contact, which needs only greetings).
type fakeWorld struct {
	t     *testing.T
	pool  *x509.CertPool
	doors map[string]string // "host:port" -> loopback address
	mu    sync.Mutex
	mail  []Message
	dials []Target
}

func newFakeWorld(t *testing.T) *fakeWorld {
	t.Helper()
	w := &fakeWorld{t: t, doors: map[string]string{}}
	caCert, caKey := newCA(t)
	w.pool = x509.NewCertPool()
	w.pool.AddCert(caCert)
	for _, d := range []struct {
		host     string
		port     int
		implicit bool
	}{
		{"mx.sandbox.test", 25, false},
		{"smtp.relay.test", 587, false},
		{"smtp.relay.test", 2525, false},
		{"legacy.mail.test", 465, true},
	} {
		w.smtpDoor(d.host, d.port, d.implicit, leaf(t, caCert, caKey, d.host))
	}
	w.bannerDoor("mail.sandbox.test", 143, "* OK [CAPABILITY IMAP4rev1] mail.sandbox.test ready")
	w.bannerDoor("mail.sandbox.test", 110, "+OK mail.sandbox.test POP3 ready")
	return w
}

func (w *fakeWorld) listen() net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

func (w *fakeWorld) smtpDoor(host string, port int, implicit bool, cert tls.Certificate) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &fakeSession{w: w, c: c, host: host, port: port}, nil
	}))
	srv.Domain = host
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ErrorLog = nopLogger{}
	l := w.listen()
	if implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	w.t.Cleanup(func() { srv.Close(); <-done })
	w.doors[fmt.Sprintf("%s:%d", host, port)] = l.Addr().String()
}

func (w *fakeWorld) bannerDoor(host string, port int, banner string) {
	l := w.listen()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.WriteString(c, banner+"\r\n")
				bufio.NewReader(c).ReadString('\n')
			}()
		}
	}()
	w.t.Cleanup(func() { l.Close(); wg.Wait() })
	w.doors[fmt.Sprintf("%s:%d", host, port)] = l.Addr().String()
}

// Dial applies the profiles of ARCHITECTURE.md in miniature.
func (w *fakeWorld) Dial(ctx context.Context, t Target) (net.Conn, error) {
	w.mu.Lock()
	w.dials = append(w.dials, t)
	w.mu.Unlock()
	switch {
	case t.Profile == "home-isp" && t.Port == 25:
		return nil, &tunnel.CloseError{Code: tunnel.CodeRefused, Reason: "home-isp refuses outbound port 25"}
	case t.Profile == "cloud-vm" && (t.Port == 25 || t.Port == 465 || t.Port == 587):
		return nil, &tunnel.CloseError{Code: tunnel.CodeTimedOut, Reason: "cloud-vm drops the port"}
	}
	addr, ok := w.doors[t.String()]
	if !ok {
		if !strings.HasSuffix(t.Host, ".test") && !strings.HasSuffix(t.Host, ".org") {
			return nil, &tunnel.CloseError{Code: tunnel.CodeUnknownHost, Reason: "no such host"}
		}
		return nil, &tunnel.CloseError{Code: tunnel.CodeRefused, Reason: "nothing listens there"}
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (w *fakeWorld) Messages(context.Context) ([]Message, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Message(nil), w.mail...), nil
}

type fakeSession struct {
	w    *fakeWorld
	c    *smtp.Conn
	host string
	port int
	user string
	msg  Message
}

func (s *fakeSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *fakeSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "foo" || pass != "barbaz" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed"}
		}
		s.user = user
		return nil
	}), nil
}
func (s *fakeSession) Mail(from string, _ *smtp.MailOptions) error { s.msg.From = from; return nil }
func (s *fakeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.user == "" && !strings.HasSuffix(to, "sandbox.test") {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "<" + to + ">: Relay access denied"}
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}
func (s *fakeSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, m.Body)
	st, ok := s.c.TLSConnectionState()
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.msg.ID = fmt.Sprint(len(s.w.mail) + 1)
	s.msg.Subject = m.Header.Get("Subject")
	s.msg.Host, s.msg.Port, s.msg.AuthUser, s.msg.TLS = s.host, s.port, s.user, ok
	if ok {
		s.msg.TLSVersion = tls.VersionName(st.Version)
	}
	s.w.mail = append(s.w.mail, s.msg)
	return nil
}
func (s *fakeSession) Reset()        { s.msg = Message{} }
func (s *fakeSession) Logout() error { return nil }

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "portlab test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, host string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
