package relay

import (
	"bufio"
	"crypto/tls"
	"net"
	"slices"
	"testing"
	"time"
)

// A simulated host's certificate names that host alone, so a client that
// refuses it tells the student "the certificate is for
// smtp.hotel-wifi.test", nothing more; the same door on a real listener
// adds the names real clients dial (Config.ExtraNames).
func TestCertificateNames(t *testing.T) {
	sb := newSandbox(t, "")
	sb.r.extra = []string{"localhost", "127.0.0.1"} // as serve.go passes them
	d := Door{Host: "smtp.hotel-wifi.test", Port: 25}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go sb.r.Serve(ln, d)
	real, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	real.SetDeadline(time.Now().Add(10 * time.Second))

	for _, tc := range []struct {
		name     string
		c        *client
		dns, ips []string
	}{
		{"tunnel", pipe(t, sb, d, Meta{Lab: "lab-a"}), []string{"smtp.hotel-wifi.test"}, nil},
		{"real listener", &client{t: t, conn: real, br: bufio.NewReader(real), host: d.Host}, []string{"smtp.hotel-wifi.test", "localhost"}, []string{"127.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.t = t
			c.run(sb, "!greeting\nEHLO client.example\nSTARTTLS")
			if c.last != lineReadyTLS {
				t.Fatalf("STARTTLS: %q\n%s", c.last, c.log.String())
			}
			tlsConn := tls.Client(c.conn, sb.ca.ClientConfig(d.Host))
			if err := tlsConn.Handshake(); err != nil {
				t.Fatal(err)
			}
			defer tlsConn.Close()
			cert := tlsConn.ConnectionState().PeerCertificates[0]
			var ips []string
			for _, ip := range cert.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(cert.DNSNames, tc.dns) || !slices.Equal(ips, tc.ips) {
				t.Errorf("certificate names DNS %q, IP %q; want DNS %q, IP %q", cert.DNSNames, ips, tc.dns, tc.ips)
			}
		})
	}
}
