package httpguard

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestParseProxies(t *testing.T) {
	ps, err := ParseProxies(" 10.0.0.0/8, fd00::/8,192.0.2.7 ,172.16.5.4/12")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ps.String(), "10.0.0.0/8,fd00::/8,192.0.2.7/32,172.16.0.0/12"; got != want {
		t.Errorf("ParseProxies = %s, want %s", got, want)
	}
	if ps, err := ParseProxies(""); err != nil || len(ps) != 0 {
		t.Errorf(`ParseProxies("") = %v, %v; want none`, ps, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "ingress", "10.0.0.0/8,10.0.0.300", "::ffff:10.0.0.0/104"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), `"`) {
			t.Errorf("ParseProxies(%q): %v does not quote the bad entry", bad, err)
		}
	}
}

// The client is the peer unless the peer is a trusted proxy; then it is
// the right-most X-Forwarded-For address that is not a trusted proxy,
// never the left-most, which the client wrote itself.
func TestProxiesClient(t *testing.T) {
	ps, _ := ParseProxies("10.0.0.0/8,fd00::/8")
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer, forged header", "198.51.100.7", []string{"192.0.2.1"}, "198.51.100.7"},
		{"trusted peer, no header", "10.0.0.5", nil, "10.0.0.5"},
		{"trusted peer, one hop", "10.0.0.5", []string{"198.51.100.7"}, "198.51.100.7"},
		{"forged entries left of the real one", "10.0.0.5", []string{"192.0.2.1, 203.0.113.9, 198.51.100.7"}, "198.51.100.7"},
		{"two trusted proxies", "10.0.0.5", []string{"192.0.2.1, 198.51.100.7, 10.1.2.3"}, "198.51.100.7"},
		{"several header lines are one list", "10.0.0.5", []string{"192.0.2.1", "198.51.100.7,10.1.2.3"}, "198.51.100.7"},
		{"every hop trusted", "10.0.0.5", []string{"10.9.9.9, 10.1.2.3"}, "10.9.9.9"},
		{"garbage stops at the last trusted hop", "10.0.0.5", []string{"198.51.100.7, unknown, 10.1.2.3"}, "10.1.2.3"},
		{"an entry with a port", "10.0.0.5", []string{"198.51.100.7:4711"}, "198.51.100.7"},
		{"IPv6", "fd00::1", []string{"2001:db8::1, [2001:db8::7]:4711"}, "2001:db8::7"},
		{"IPv4-mapped peer", "::ffff:10.0.0.5", []string{"198.51.100.7"}, "198.51.100.7"},
		{"IPv4-mapped hop", "10.0.0.5", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
	} {
		got := ps.Client(netip.MustParseAddr(c.peer), c.xff)
		if got.String() != c.want {
			t.Errorf("%s: peer %s, X-Forwarded-For %q: client %s, want %s", c.name, c.peer, c.xff, got, c.want)
		}
	}
	if got := Proxies(nil).Client(netip.MustParseAddr("10.0.0.5"), []string{"198.51.100.7"}); got.String() != "10.0.0.5" {
		t.Errorf("no trusted proxies: client %s, want the peer", got)
	}
}

// Forwarded rewrites RemoteAddr so that ClientAddr, which every limit is
// keyed on, is the real client; a forged header from anyone else changes
// nothing.
func TestForwarded(t *testing.T) {
	ps, _ := ParseProxies("10.0.0.0/8")
	var seen string
	h := Forwarded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = ClientAddr(r.RemoteAddr).String() }), ps)
	for _, c := range []struct{ peer, xff, want string }{
		{"10.0.0.5:40000", "192.0.2.1, 198.51.100.7", "198.51.100.7"},
		{"198.51.100.9:40000", "192.0.2.1", "198.51.100.9"},
		{"10.0.0.5:40000", "", "10.0.0.5"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", c.peer, c.xff, seen, c.want)
		}
	}
}

// A trusted proxy's connections are not bound per client (the proxy holds
// the whole school's), but the overall bound still holds.
func TestTrustedProxyConnections(t *testing.T) {
	addr := serve(t, ok, Limits{PerClient: 2, Total: 4, Trusted: Proxies{netip.MustParsePrefix("127.0.0.2/32")}}, DefaultTimeouts)
	for range 3 {
		c := dialFrom(t, "127.0.0.2", addr)
		if s := get(t, c, bufio.NewReader(c), "/"); s != "200 OK" {
			t.Fatalf("the proxy's connection past PerClient: %s", s)
		}
	}
	other := dialFrom(t, "127.0.0.3", addr)
	if s := get(t, other, bufio.NewReader(other), "/"); s != "200 OK" {
		t.Fatalf("another client: %s", s)
	}
	full := dialFrom(t, "127.0.0.2", addr)
	if s := get(t, full, bufio.NewReader(full), "/"); s != "503 Service Unavailable" {
		t.Errorf("the proxy past Total: %s", s)
	}
}
