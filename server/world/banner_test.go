package world

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/portlab/portlab/server/ca"
)

// startBanner serves d on one end of a net.Pipe and returns the other end
// and a channel with ServeBanner's result; the server end closes when
// ServeBanner returns. Cleanup closes the pipe and waits for ServeBanner,
// so no test leaks its goroutine.
func startBanner(t *testing.T, ctx context.Context, d Door, conf *tls.Config) (net.Conn, <-chan error) {
	t.Helper()
	server, client := net.Pipe()
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		err := ServeBanner(ctx, server, d, conf, "")
		server.Close() // what a caller does: it owns the conn
		done <- err
	}()
	t.Cleanup(func() {
		client.Close()
		server.Close()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("ServeBanner did not return after the client hung up")
		}
	})
	return client, done
}

// dialogue is the client's side of a line-by-line conversation.
type dialogue struct {
	t *testing.T
	r *bufio.Reader
	w io.Writer
}

func (d dialogue) expect(want string) {
	d.t.Helper()
	line, err := d.r.ReadString('\n')
	if err != nil {
		d.t.Fatalf("reading reply (want %q): %v", want, err)
	}
	if !strings.HasSuffix(line, "\r\n") {
		d.t.Errorf("reply %q does not end with CRLF", line)
	}
	if !strings.Contains(line, want) {
		d.t.Errorf("reply = %q, want it to contain %q", line, want)
	}
}

func (d dialogue) send(line string) {
	d.t.Helper()
	if _, err := io.WriteString(d.w, line+"\r\n"); err != nil {
		d.t.Fatalf("sending %q: %v", line, err)
	}
}

func (d dialogue) expectEOF() {
	d.t.Helper()
	if b, err := d.r.ReadString('\n'); err == nil || len(b) > 0 {
		d.t.Errorf("after the end: read %q, %v; want EOF", b, err)
	}
}

func waitResult(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("ServeBanner did not return")
		return nil
	}
}

func TestServeBannerIMAP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, done := startBanner(t, t.Context(), Door{Host: "mail.sandbox.test", Port: 143, Service: IMAP}, nil)
		d := dialogue{t, bufio.NewReader(c), c}
		d.expect("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] mail.sandbox.test IMAP4 ready (portlab: this is a mailbox retrieval door, not SMTP)")
		d.send("EHLO client.example")
		d.expect("* BAD EHLO is an SMTP command, but portlab: this is the IMAP door (port 143)")
		d.send("helo x")
		d.expect("* BAD HELO is an SMTP command")
		d.send("MAIL FROM:<a@b.test>")
		d.expect("* BAD MAIL is an SMTP command")
		d.send("a1 LOGIN foo barbaz")
		d.expect("a1 BAD LOGIN is not available here: portlab: this is the IMAP door (port 143), for reading mail; sending is SMTP, on port 25, 465, 587 or 2525")
		d.send("")
		d.expect("* BAD empty command line")
		d.send("a2")
		d.expect("a2 BAD missing command")
		d.send("a\x01b NOOP")
		d.expect("* BAD NOOP")
		d.send("a3 logout")
		d.expect("* BYE mail.sandbox.test IMAP4 server logging out")
		d.expect("a3 OK LOGOUT completed")
		if err := waitResult(t, done); err != nil {
			t.Errorf("ServeBanner = %v, want nil after LOGOUT", err)
		}
		d.expectEOF()
	})
}

func TestServeBannerPOP3(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, done := startBanner(t, t.Context(), Door{Host: "mail.sandbox.test", Port: 110, Service: POP3}, nil)
		d := dialogue{t, bufio.NewReader(c), c}
		d.expect("+OK mail.sandbox.test POP3 ready (portlab: this is a mailbox retrieval door, not SMTP)")
		d.send("EHLO client.example")
		d.expect("-ERR EHLO is an SMTP command, but portlab: this is the POP3 door (port 110)")
		d.send("USER foo")
		d.expect("-ERR USER is not available here")
		d.send("")
		d.expect("-ERR empty command line")
		d.send("quit")
		d.expect("+OK mail.sandbox.test POP3 server signing off")
		if err := waitResult(t, done); err != nil {
			t.Errorf("ServeBanner = %v, want nil after QUIT", err)
		}
		d.expectEOF()
	})
}

func TestServeBannerLimits(t *testing.T) {
	t.Run("line length", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, done := startBanner(t, t.Context(), Door{Host: "h.test", Port: 110, Service: POP3}, nil)
			d := dialogue{t, bufio.NewReader(c), c}
			d.expect("+OK")
			go io.WriteString(c, strings.Repeat("x", 2000)+"\r\n")
			d.expect("-ERR line too long")
			if err := waitResult(t, done); err != nil {
				t.Errorf("ServeBanner = %v", err)
			}
		})
	})
	t.Run("line count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, done := startBanner(t, t.Context(), Door{Host: "h.test", Port: 143, Service: IMAP}, nil)
			d := dialogue{t, bufio.NewReader(c), c}
			d.expect("* OK")
			for range bannerMaxLines {
				d.send("a NOOP")
				d.expect("a BAD")
			}
			d.send("a NOOP")
			d.expect("* BYE 20 commands is enough")
			if err := waitResult(t, done); err != nil {
				t.Errorf("ServeBanner = %v", err)
			}
		})
	})
	t.Run("client hangs up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, done := startBanner(t, t.Context(), Door{Host: "h.test", Port: 143, Service: IMAP}, nil)
			d := dialogue{t, bufio.NewReader(c), c}
			d.expect("* OK")
			c.Close()
			if err := waitResult(t, done); err != nil {
				t.Errorf("ServeBanner = %v, want nil when the client leaves", err)
			}
		})
	})
}

func TestServeBannerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		c, done := startBanner(t, ctx, Door{Host: "h.test", Port: 143, Service: IMAP}, nil)
		d := dialogue{t, bufio.NewReader(c), c}
		d.expect("* OK")
		cancel() // ServeBanner is now blocked reading the next command
		if err := waitResult(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("ServeBanner = %v, want context.Canceled", err)
		}
	})
}

func TestServeBannerWrongService(t *testing.T) {
	server, client := net.Pipe()
	defer server.Close()
	defer client.Close()
	if err := ServeBanner(t.Context(), server, Door{Host: "h.test", Port: 25, Service: SMTPRelay}, nil, ""); err == nil {
		t.Error("ServeBanner served an SMTP door")
	}
}

func TestServeBannerImplicitTLS(t *testing.T) {
	serverConf, roots := testTLS(t, "mail.sandbox.test")
	for _, tt := range []struct {
		door              Door
		greet, wrong, end string
		goodbye           []string
	}{
		{Door{Host: "mail.sandbox.test", Port: 993, Service: IMAPS},
			"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] mail.sandbox.test IMAP4 ready", "* BAD EHLO is an SMTP command, but portlab: this is the IMAP door (port 993)",
			"a LOGOUT", []string{"* BYE", "a OK LOGOUT completed"}},
		{Door{Host: "mail.sandbox.test", Port: 995, Service: POP3S},
			"+OK mail.sandbox.test POP3 ready", "-ERR EHLO is an SMTP command, but portlab: this is the POP3 door (port 995)",
			"QUIT", []string{"+OK mail.sandbox.test POP3 server signing off"}},
	} {
		t.Run(string(tt.door.Service), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, done := startBanner(t, t.Context(), tt.door, serverConf)
				tc := tls.Client(c, &tls.Config{ServerName: "mail.sandbox.test", RootCAs: roots})
				d := dialogue{t, bufio.NewReader(tc), tc}
				d.expect(tt.greet)
				d.send("EHLO me")
				d.expect(tt.wrong)
				d.send(tt.end)
				for _, l := range tt.goodbye {
					d.expect(l)
				}
				d.expectEOF() // close_notify
				if err := waitResult(t, done); err != nil {
					t.Errorf("ServeBanner = %v", err)
				}
			})
		})
	}
	t.Run("plaintext client", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// A plaintext client on 993 sees no greeting: the server waits
			// for a ClientHello, and gives up on the client's garbage.
			c, done := startBanner(t, t.Context(), Door{Host: "mail.sandbox.test", Port: 993, Service: IMAPS}, serverConf)
			go io.WriteString(c, "a1 LOGIN foo bar\r\n")
			err := waitResult(t, done)
			if err == nil || !strings.Contains(err.Error(), "TLS handshake") {
				t.Errorf("ServeBanner = %v, want a TLS handshake error", err)
			}
		})
	})
	t.Run("no config", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, done := startBanner(t, t.Context(), Door{Host: "h.test", Port: 995, Service: POP3S}, nil)
			if err := waitResult(t, done); err == nil {
				t.Error("ServeBanner without a tls.Config succeeded")
			}
		})
	})
}

// testTLS is the sandbox CA's server configuration for name, with the
// CA's clock at synctest's epoch (2000), where the dialogues run.
func testTLS(t *testing.T, name string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	auth, err := ca.Open("", func() time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	conf, err := auth.ServerConfig(name)
	if err != nil {
		t.Fatal(err)
	}
	return conf, auth.Pool()
}
