package gateway_test

import (
	"bufio"
	"context"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/internal/memstat"
	"github.com/portlab/portlab/server/sandbox"
)

// BenchmarkNOOP measures one command's round trip through the gateway and,
// in the same loop as the baseline, straight to the relay over TCP:
//
//	go test -run '^$' -bench NOOP ./server/gateway/
func BenchmarkNOOP(b *testing.B) {
	e := startB(b)
	direct, err := net.Dial("tcp", e.relayAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	tun, err := tunnel.Dial(context.Background(), tunnel.Target{Server: e.url, Profile: "datacenter", Host: "mx.sandbox.test", Port: 25})
	if err != nil {
		b.Fatal(err)
	}
	defer tun.Close()
	dr, tr := bufio.NewReader(direct), bufio.NewReader(tun)
	dr.ReadString('\n')
	tr.ReadString('\n')
	var dLat, tLat []time.Duration
	noop := func(c net.Conn, r *bufio.Reader) time.Duration {
		start := time.Now()
		c.Write([]byte("NOOP\r\n"))
		if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "250") {
			b.Fatalf("NOOP: %q %v", l, err)
		}
		return time.Since(start)
	}
	for b.Loop() {
		dLat = append(dLat, noop(direct, dr))
		tLat = append(tLat, noop(tun, tr))
	}
	pd, pt := p50(dLat), p50(tLat)
	b.ReportMetric(float64(pd.Microseconds()), "direct-p50-µs")
	b.ReportMetric(float64(pt.Microseconds()), "gateway-p50-µs")
	b.ReportMetric(float64((pt - pd).Microseconds()), "overhead-p50-µs")
	b.ReportMetric(float64(pt)/float64(pd), "ratio")
}

func p50(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// BenchmarkHeldTunnels opens b.N tunnelled SMTP sessions (greeted, then
// idle) and reports the resident memory each costs, gateway, relay and
// the in-process client together:
//
//	go test -run '^$' -bench HeldTunnels -benchtime 5000x ./server/gateway/
func BenchmarkHeldTunnels(b *testing.B) {
	e := startB(b)
	runtime.GC()
	before := rssOf(b)
	var held []*tunnel.Conn
	buf := make([]byte, 256)
	for b.Loop() {
		c, err := tunnel.Dial(context.Background(), tunnel.Target{Server: e.url, Profile: "datacenter", Host: "smtp.relay.test", Port: 587})
		if err != nil {
			b.Fatalf("tunnel %d: %v", len(held), err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
		held = append(held, c)
	}
	runtime.GC()
	b.ReportMetric(float64(rssOf(b)-before)/1024/float64(len(held)), "KiB/tunnel")
	b.ReportMetric(float64(len(held)), "tunnels")
	for _, c := range held {
		c.Close()
	}
}

type benchEnv struct {
	url, relayAddr string
}

func startB(b *testing.B) benchEnv {
	// Thousands of tunnels from one address: a budget as for a machine
	// with a high open-file limit, so that one address may hold them.
	e := start(b, sandbox.Config{TunnelsPerClient: 1 << 20, PortOffset: "-1", OpenFiles: 1 << 17, HTTPConnsPerClient: 1 << 20})
	return benchEnv{url: e.url, relayAddr: e.SMTPAddr(25)}
}

func rssOf(b *testing.B) int64 {
	n, err := memstat.RSS()
	if err != nil {
		b.Skip(err)
	}
	return n
}
