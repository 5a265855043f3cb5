package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/relay"
	"github.com/portlab/portlab/server/sandbox"
)

// startTestSandbox runs the whole sandbox in-process on free loopback ports.
func startTestSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	s, err := sandbox.New(sandbox.Config{PortOffset: "-1", Data: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// needTool finds a third-party client. `make test` installs them all, and
// sets PORTLAB_REQUIRE_TOOLS so that a missing one fails instead of
// skipping.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("PORTLAB_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is not installed (make test installs it)", name)
		}
		t.Skipf("%s is not installed; make test installs it", name)
	}
	return p
}

// client runs a third-party client and returns its combined output.
func client(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, needTool(t, name), args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// lastMessage is the newest message the sandbox accepted on a lesson
// port (mail for example.org also travels on to mx.example.org's port 25).
func lastMessage(t *testing.T, s *sandbox.Sandbox, port int) *mailbox.Message {
	t.Helper()
	for _, m := range s.Store().List(relay.DefaultLab) {
		if m.Port == port {
			return m
		}
	}
	t.Fatalf("no message accepted on port %d in the classroom mailbox", port)
	return nil
}

func caFile(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(p, s.CA().CertPEM(), 0o644)
	return p
}

func TestSwaks(t *testing.T) {
	s := startTestSandbox(t)
	for _, tc := range []struct {
		name string
		port int
		args []string
		tls  bool
	}{
		{"587 STARTTLS AUTH PLAIN", 587, []string{"--tls", "--auth", "PLAIN"}, true},
		{"2525 STARTTLS AUTH LOGIN", 2525, []string{"--tls", "--auth", "LOGIN"}, true},
		{"465 TLS on connect AUTH PLAIN", 465, []string{"--tlsc", "--auth", "PLAIN"}, true},
		{"587 CRAM-MD5", 587, []string{"--tls", "--auth", "CRAM-MD5"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject := "swaks " + tc.name
			args := append([]string{"--server", s.SMTPAddr(tc.port), "--from", "foo@sandbox.test", "--to", "friend@example.org",
				"--auth-user", "foo", "--auth-password", "barbaz", "--header", "Subject: " + subject}, tc.args...)
			out, err := client(t, "", "swaks", args...)
			if err != nil || !strings.Contains(out, "250 2.0.0 Ok: queued as") {
				t.Fatalf("swaks %v: %v\n%s", args, err, out)
			}
			m := lastMessage(t, s, tc.port)
			if m.Subject != subject || m.Port != tc.port || m.TLS != tc.tls || m.AuthUser != "foo" || !m.Relayed {
				t.Errorf("stored %+v", m)
			}
			// The relay passed it on to example.org's simulated MX.
			if hop := lastMessage(t, s, 25); hop.Host != "mx.example.org" || hop.Subject != subject || !hop.TLS {
				t.Errorf("next hop holds %s %q tls=%v", hop.Host, hop.Subject, hop.TLS)
			}
		})
	}
	t.Run("25 relay refusal", func(t *testing.T) {
		out, err := client(t, "", "swaks", "--server", s.SMTPAddr(25), "--from", "a@example.net", "--to", "victim@example.com")
		if err == nil || !strings.Contains(out, "554 5.7.1 <victim@example.com>: Relay access denied") {
			t.Fatalf("swaks relay attempt on 25: err=%v\n%s", err, out)
		}
	})
	t.Run("587 AUTH before STARTTLS", func(t *testing.T) {
		out, _ := client(t, "", "swaks", "--server", s.SMTPAddr(587), "--to", "x@sandbox.test",
			"--auth", "PLAIN", "--auth-user", "foo", "--auth-password", "barbaz")
		// EHLO does not advertise AUTH before TLS, so swaks refuses to try.
		if !strings.Contains(out, "250-STARTTLS") || strings.Contains(out, "250-AUTH") || !strings.Contains(out, "Host did not advertise authentication") {
			t.Fatalf("swaks without TLS on 587:\n%s", out)
		}
	})
}

func TestCurl(t *testing.T) {
	s := startTestSandbox(t)
	ca := caFile(t, s)
	body := "From: foo@sandbox.test\r\nSubject: curl %s\r\n\r\nhello from curl\r\n"
	for _, tc := range []struct {
		name, url string
		port      int
		extra     []string
	}{
		{"smtp with --ssl-reqd", "smtp://smtp.relay.test:%s", 587, []string{"--ssl-reqd"}},
		{"smtps", "smtps://legacy.mail.test:%s", 465, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := s.SMTPAddr(tc.port)
			_, port, _ := strings.Cut(addr, ":")
			host := strings.Split(strings.TrimPrefix(strings.TrimPrefix(tc.url, "smtps://"), "smtp://"), ":")[0]
			args := append([]string{"-sS", "--url", strings.Replace(tc.url, "%s", port, 1), "--resolve", host + ":" + port + ":127.0.0.1",
				"--cacert", ca, "--mail-from", "foo@sandbox.test", "--mail-rcpt", "bob@sandbox.test",
				"--user", "foo:barbaz", "-T", "-"}, tc.extra...)
			out, err := client(t, strings.ReplaceAll(body, "%s", tc.name), "curl", args...)
			if err != nil {
				t.Fatalf("curl %v: %v\n%s", args, err, out)
			}
			m := lastMessage(t, s, tc.port)
			if m.Subject != "curl "+tc.name || !m.TLS || m.AuthUser != "foo" || m.Port != tc.port {
				t.Errorf("stored %+v", m)
			}
		})
	}
	t.Run("wrong host name fails verification", func(t *testing.T) {
		_, port, _ := strings.Cut(s.SMTPAddr(587), ":")
		out, err := client(t, "x", "curl", "-sS", "--url", "smtp://mx.sandbox.test:"+port, "--resolve", "mx.sandbox.test:"+port+":127.0.0.1",
			"--cacert", ca, "--ssl-reqd", "--mail-from", "a@b.test", "--mail-rcpt", "c@sandbox.test", "--user", "foo:barbaz", "-T", "-")
		if err == nil || !strings.Contains(strings.ToLower(out), "certificate") {
			t.Fatalf("curl verified smtp.relay.test's certificate as mx.sandbox.test: %v\n%s", err, out)
		}
	})
}

func TestOpenSSLStartTLS(t *testing.T) {
	s := startTestSandbox(t)
	out, err := client(t, "EHLO openssl.test\r\nQUIT\r\n", "openssl", "s_client", "-starttls", "smtp", "-connect", s.SMTPAddr(587),
		"-servername", "smtp.relay.test", "-verify_hostname", "smtp.relay.test", "-CAfile", caFile(t, s), "-verify_return_error", "-crlf", "-ign_eof")
	if err != nil {
		t.Fatalf("openssl s_client: %v\n%s", err, out)
	}
	for _, want := range []string{"Verify return code: 0 (ok)", "250-AUTH PLAIN LOGIN CRAM-MD5", "subject=CN = smtp.relay.test", "221 2.0.0 Bye"} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "TLSv1.3") && !strings.Contains(out, "TLSv1.2") {
		t.Errorf("no TLS version in:\n%s", out)
	}
}

// Without -crlf, openssl sends what is typed with a bare LF: the sandbox
// refuses it at once, as Postfix with smtpd_forbid_bare_newline = reject,
// instead of waiting in silence (the README says to add -crlf).
func TestOpenSSLWithoutCRLF(t *testing.T) {
	s := startTestSandbox(t)
	out, _ := client(t, "EHLO openssl.test\nQUIT\n", "openssl", "s_client", "-starttls", "smtp", "-connect", s.SMTPAddr(587),
		"-servername", "smtp.relay.test", "-CAfile", caFile(t, s), "-ign_eof")
	if !strings.Contains(out, "550 5.5.2 smtp.relay.test Error: bare <LF> received") || strings.Contains(out, "221 2.0.0") {
		t.Fatalf("openssl without -crlf:\n%s", out)
	}
}

const pythonSMTP = `
import smtplib, ssl, sys
host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
s = smtplib.SMTP(host, port, timeout=10)
s.ehlo()
try:
    s.login("foo", "barbaz")
    print("LOGIN BEFORE TLS SUCCEEDED")
except smtplib.SMTPNotSupportedError:
    print("no AUTH before TLS")
s.starttls(context=ctx)
s.ehlo()
try:
    s.login("foo", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("bad password:", e.smtp_code, e.smtp_error.decode())
s.login("foo", "barbaz")
s.sendmail("foo@sandbox.test", ["pal@example.org"], "Subject: from python\r\n\r\nhi\r\n")
s.quit()
print("sent")
`

func TestPythonSmtplib(t *testing.T) {
	s := startTestSandbox(t)
	_, port, _ := strings.Cut(s.SMTPAddr(587), ":")
	// smtplib verifies the name it connected to: connect as localhost,
	// which the sandbox certificates carry for real clients.
	out, err := client(t, "", "python3", "-c", pythonSMTP, "localhost", port, caFile(t, s))
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, want := range []string{"no AUTH before TLS", "bad password: 535 5.7.8 Error: authentication failed", "sent"} {
		if !strings.Contains(out, want) {
			t.Errorf("python output lacks %q:\n%s", want, out)
		}
	}
	if m := lastMessage(t, s, 587); m.Subject != "from python" || m.AuthUser != "foo" {
		t.Errorf("stored %+v", m)
	}
}

func TestGoNetSMTP(t *testing.T) {
	s := startTestSandbox(t)
	conn, err := net.Dial("tcp", s.SMTPAddr(2525))
	if err != nil {
		t.Fatal(err)
	}
	// net/smtp's PLAIN refuses to send credentials unless the name it was
	// given matches the TLS server name.
	c, err := smtp.NewClient(conn, "smtp.relay.test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("go.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Fatal("AUTH advertised before STARTTLS on 2525")
	}
	if err := c.StartTLS(&tls.Config{ServerName: "smtp.relay.test", RootCAs: s.CA().Pool()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "foo", "barbaz", "smtp.relay.test")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("foo@sandbox.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("x@example.org"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: net/smtp\r\n\r\n.leading dot\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	m := lastMessage(t, s, 2525)
	if m.Subject != "net/smtp" || !bytes.Contains(m.Raw, []byte("\r\n\r\n.leading dot\r\n")) {
		t.Errorf("stored %+v\n%s", m, m.Raw)
	}
}

// portlabBin is the portlab binary for commands that run it as a child
// (swaks --pipe): make test's build, or one built for the test.
func portlabBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PORTLAB_BIN"); p != "" {
		return p
	}
	p := filepath.Join(t.TempDir(), "portlab")
	if out, err := exec.Command("go", "build", "-o", p, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return p
}

// swaks crosses the simulated ISP through `portlab dial`.
func TestSwaksThroughDial(t *testing.T) {
	s := startTestSandbox(t)
	bin := portlabBin(t)
	pipe := func(profile, host, port string) string {
		return fmt.Sprintf("%s dial -q --server %s --profile %s %s %s", bin, s.URL(), profile, host, port)
	}
	out, err := client(t, "", "swaks", "--pipe", pipe("cloud-vm", "smtp.relay.test", "2525"), "--tls",
		"--auth-user", "foo", "--auth-password", "barbaz", "--from", "foo@sandbox.test", "--to", "pal@example.org", "--header", "Subject: via the cloud VM")
	if err != nil || !strings.Contains(out, "250 2.0.0 Ok: queued") {
		t.Fatalf("cloud-vm 2525: %v\n%s", err, out)
	}
	if m := lastMessage(t, s, 2525); m.Subject != "via the cloud VM" || !m.TLS || m.Port != 2525 || m.Client != "198.51.100.23" {
		t.Errorf("stored %+v", m)
	}
	out, err = client(t, "", "swaks", "--pipe", pipe("home-isp", "mx.sandbox.test", "25"), "--to", "bob@sandbox.test")
	if err == nil || !strings.Contains(out, "Connection refused") {
		t.Errorf("home-isp 25: %v\n%s", err, out)
	}
	out, err = client(t, "", "swaks", "--pipe", pipe("hotel-wifi", "smtp.relay.test", "587"), "--tls",
		"--auth-user", "foo", "--auth-password", "barbaz", "--to", "bob@sandbox.test")
	if err == nil || !strings.Contains(out, "STARTTLS") || !strings.Contains(out, "250-XXXXXXXA") {
		t.Errorf("hotel-wifi 587: %v\n%s", err, out)
	}
}
