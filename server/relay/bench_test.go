package relay

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/portlab/portlab/server/internal/memstat"
)

// The submission benchmarks send 10 KB messages through port 587 after
// STARTTLS and AUTH PLAIN once per connection, against portlab's relay and,
// as the baseline measured in the same run, a bare go-smtp server that does
// the same TLS and AUTH and discards the message. Compare msgs/s:
//
//	go test -run '^$' -bench Submission ./server/relay/
var message = []byte("From: foo@sandbox.test\r\nTo: bench@sandbox.test\r\nSubject: bench\r\n\r\n" +
	strings.Repeat(strings.Repeat("x", 76)+"\r\n", 10*1024/78))

func BenchmarkSubmission(b *testing.B) {
	for _, conns := range []int{1, 50} {
		b.Run("portlab/conns="+strconv.Itoa(conns), func(b *testing.B) {
			sb := startSandbox(b, "mailbox-size 100\nmax-connections-per-client 100")
			benchSubmit(b, sb.addr[587], "smtp.relay.test", sb.ca.Pool(), conns)
		})
		b.Run("bare-go-smtp/conns="+strconv.Itoa(conns), func(b *testing.B) {
			addr, pool := startBare(b)
			benchSubmit(b, addr, "smtp.relay.test", pool, conns)
		})
	}
}

func benchSubmit(b *testing.B, addr, host string, pool *x509.CertPool, conns int) {
	b.Helper()
	cfg := &tls.Config{ServerName: host, RootCAs: pool}
	b.SetBytes(int64(len(message)))
	b.ReportAllocs()
	b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := smtp.DialStartTLS(addr, cfg)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "foo", "barbaz")); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			if err := c.SendMail("foo@sandbox.test", []string{"bench@sandbox.test"}, strings.NewReader(string(message))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// startBare is the baseline: go-smtp alone, STARTTLS and AUTH PLAIN, no
// policy, no events, the message read and dropped.
func startBare(b *testing.B) (string, *x509.CertPool) {
	sb := startSandbox(b, "")
	tlsCfg, err := sb.ca.ServerConfig("smtp.relay.test")
	if err != nil {
		b.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return bareSession{}, nil }))
	srv.Domain = "smtp.relay.test"
	srv.TLSConfig = tlsCfg
	srv.MaxMessageBytes = 10 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close(); ln.Close() })
	return ln.Addr().String(), sb.ca.Pool()
}

type bareSession struct{}

func (bareSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (bareSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error { return nil }), nil
}
func (bareSession) Reset()                               {}
func (bareSession) Logout() error                        { return nil }
func (bareSession) Mail(string, *smtp.MailOptions) error { return nil }
func (bareSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (bareSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }

// BenchmarkIdleConnection holds b.N idle connections open on port 587
// (greeted, EHLO answered) and reports the resident memory each one costs
// the process, server and client socket together:
//
//	go test -run '^$' -bench IdleConnection -benchtime 2000x ./server/relay/
func BenchmarkIdleConnection(b *testing.B) {
	sb := startSandbox(b, "max-connections-per-client 100000\nmax-connections 100000")
	runtime.GC()
	before := rssOf(b)
	conns := make([]net.Conn, 0, b.N)
	buf := make([]byte, 512)
	for b.Loop() {
		c, err := net.Dial("tcp", sb.addr[587])
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		c.Read(buf) // greeting
		io.WriteString(c, "EHLO idle.test\r\n")
		c.Read(buf)
	}
	runtime.GC()
	after := rssOf(b)
	b.ReportMetric(float64(after-before)/1024/float64(len(conns)), "KiB/conn")
	for _, c := range conns {
		c.Close()
	}
}

func rssOf(b *testing.B) int64 {
	n, err := memstat.RSS()
	if err != nil {
		b.Skip(err)
	}
	return n
}
