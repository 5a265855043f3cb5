package ca

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// handshake runs a TLS handshake between server and client over net.Pipe
// and returns the client's view and each side's error.
func handshake(t testing.TB, server, client *tls.Config) (state tls.ConnectionState, serverErr, clientErr error) {
	t.Helper()
	cc, sc := net.Pipe()
	// A guard against a hung test, not a wait: handshakes take milliseconds.
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range []net.Conn{cc, sc} {
		if err := c.SetDeadline(deadline); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		s := tls.Server(sc, server)
		err := s.Handshake()
		// Closing unblocks a client still waiting to read; after a good
		// handshake it has read all it needs.
		sc.Close()
		done <- err
	}()
	c := tls.Client(cc, client)
	clientErr = c.Handshake()
	state = c.ConnectionState()
	cc.Close()
	serverErr = <-done
	return state, serverErr, clientErr
}

func serverConfig(t testing.TB, a *Authority, host string, extra ...string) *tls.Config {
	t.Helper()
	cfg, err := a.ServerConfig(host, extra...)
	if err != nil {
		t.Fatalf("ServerConfig(%q): %v", host, err)
	}
	return cfg
}

func TestHandshake(t *testing.T) {
	a := open(t, "", nil)
	server := serverConfig(t, a, "mx.sandbox.test")
	for _, tc := range []struct {
		name       string
		maxVersion uint16
		want       uint16 // 0: the handshake must fail
	}{
		{"default", 0, tls.VersionTLS13},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12},
		{"TLS 1.1", tls.VersionTLS11, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := a.ClientConfig("mx.sandbox.test")
			client.MaxVersion = tc.maxVersion
			client.MinVersion = tls.VersionTLS10 // let the server be the one to refuse
			state, serr, cerr := handshake(t, server, client)
			if tc.want == 0 {
				if serr == nil || cerr == nil || !strings.Contains(cerr.Error(), "protocol version") {
					t.Fatalf("handshake with a TLS 1.1 client: server err %v, client err %v; want a protocol version alert", serr, cerr)
				}
				return
			}
			if serr != nil || cerr != nil {
				t.Fatalf("server err %v, client err %v", serr, cerr)
			}
			if state.Version != tc.want {
				t.Errorf("negotiated %s, want %s", tls.VersionName(state.Version), tls.VersionName(tc.want))
			}
			if cn := state.PeerCertificates[0].Subject.CommonName; cn != "mx.sandbox.test" {
				t.Errorf("server presented %q", cn)
			}
		})
	}
}

func TestHandshakeWrongHost(t *testing.T) {
	a := open(t, "", nil)
	server := serverConfig(t, a, "mx.sandbox.test")
	_, _, err := handshake(t, server, a.ClientConfig("other.test"))
	var herr x509.HostnameError
	if !errors.As(err, &herr) {
		t.Errorf("client err = %v, want a HostnameError", err)
	}
}

func TestHandshakeOtherCA(t *testing.T) {
	server := serverConfig(t, open(t, "", nil), "mx.sandbox.test")
	_, _, err := handshake(t, server, open(t, "", nil).ClientConfig("mx.sandbox.test"))
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Errorf("client err = %v, want an UnknownAuthorityError", err)
	}
}

func TestServerConfigCached(t *testing.T) {
	a := open(t, "", nil)
	c1 := serverConfig(t, a, "smtp.relay.test", "localhost")
	c2 := serverConfig(t, a, "smtp.relay.test", "localhost")
	if c1 != c2 {
		t.Error("second call built a new config")
	}
	if c3 := serverConfig(t, a, "smtp.relay.test"); c3 == c1 {
		t.Error("other names share a config")
	}
	if c1.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %s", tls.VersionName(c1.MinVersion))
	}
	if _, err := a.ServerConfig("bad name"); err == nil {
		t.Error("ServerConfig accepted a bad name")
	}
}

// TestServerConfigRenews checks that a long-running server swaps in a new
// leaf when the old one expires, without asking for a new config.
func TestServerConfigRenews(t *testing.T) {
	clk := newClock()
	a := open(t, "", clk.Now)
	server := serverConfig(t, a, "legacy.mail.test")
	state, serr, cerr := handshake(t, server, a.ClientConfig("legacy.mail.test"))
	if serr != nil || cerr != nil {
		t.Fatalf("server err %v, client err %v", serr, cerr)
	}
	old := state.PeerCertificates[0]

	clk.Set(old.NotAfter.Add(time.Minute))
	state, serr, cerr = handshake(t, server, a.ClientConfig("legacy.mail.test"))
	if serr != nil || cerr != nil {
		t.Fatalf("after expiry: server err %v, client err %v", serr, cerr)
	}
	if state.PeerCertificates[0].SerialNumber.Cmp(old.SerialNumber) == 0 {
		t.Error("server still presents the expired leaf")
	}
}

// BenchmarkHandshake measures a full handshake (no resumption) between
// ServerConfig and ClientConfig over net.Pipe.
func BenchmarkHandshake(b *testing.B) {
	a := open(b, "", nil)
	server := serverConfig(b, a, "mx.sandbox.test")
	client := a.ClientConfig("mx.sandbox.test")
	b.ReportAllocs()
	for b.Loop() {
		if _, serr, cerr := handshake(b, server, client); serr != nil || cerr != nil {
			b.Fatalf("server err %v, client err %v", serr, cerr)
		}
	}
}

// A host with an untrusted certificate (docs/teaching-map.md L26) has one
// for its own name, from a CA that neither the sandbox pool nor a client
// of it trusts; the client's error names that CA.
func TestUntrustedServerConfig(t *testing.T) {
	a := open(t, "", nil)
	server, err := a.UntrustedServerConfig("mx.selfsigned.test")
	if err != nil {
		t.Fatal(err)
	}
	_, _, clientErr := handshake(t, server, a.ClientConfig("mx.selfsigned.test"))
	var unknown x509.UnknownAuthorityError
	if !errors.As(clientErr, &unknown) || unknown.Cert == nil || unknown.Cert.Issuer.CommonName != untrustedCommonName {
		t.Fatalf("client error = %v, want an unknown authority %q", clientErr, untrustedCommonName)
	}
	// The leaf itself is for the host's own name: only its issuer is wrong.
	u, err := a.untrusted()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := u.Leaf("mx.selfsigned.test")
	if err != nil || leaf.Leaf.VerifyHostname("mx.selfsigned.test") != nil {
		t.Errorf("leaf: %v", err)
	}
	// One untrusted CA per authority: the same config again.
	if again, _ := a.UntrustedServerConfig("mx.selfsigned.test"); again != server {
		t.Error("UntrustedServerConfig is not cached")
	}
}
