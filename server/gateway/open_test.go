package gateway

import (
	"net/netip"
	"testing"

	"github.com/portlab/portlab/server/lab"
)

// Open counts each admitted tunnel once, from its admission to its
// release, whatever labs and addresses they come from; a release called
// twice (every failure path of dial calls it) counts once, and a tunnel
// turned away is not counted.
func TestOpenCountsAdmittedTunnels(t *testing.T) {
	g := New(Config{MaxPerLab: 2, MaxPerClient: 3})
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	var releases []func()
	for _, try := range []struct {
		lab  string
		addr netip.Addr
	}{{"lab1", a}, {"lab1", a}, {"lab2", a}, {lab.Classroom, b}, {lab.Classroom, b}} {
		release, ok := g.admit(try.lab, try.addr)
		if !ok {
			t.Fatalf("admit(%s, %s) refused", try.lab, try.addr)
		}
		releases = append(releases, release)
	}
	if _, ok := g.admit("lab1", b); ok {
		t.Fatal("a third tunnel for lab1 admitted past MaxPerLab 2")
	}
	if _, ok := g.admit("lab3", a); ok {
		t.Fatal("a fourth tunnel from one address admitted past MaxPerClient 3")
	}
	if n := g.Open(); n != 5 {
		t.Errorf("Open() = %d with five tunnels admitted, want 5", n)
	}
	releases[0]()
	releases[0]()
	releases[3]()
	if n := g.Open(); n != 3 {
		t.Errorf("Open() = %d after two tunnels ended (one released twice), want 3", n)
	}
	for _, r := range releases {
		r()
	}
	if n := g.Open(); n != 0 || len(g.perAddr) != 0 || len(g.perLab) != 0 {
		t.Errorf("all ended: Open() = %d, perAddr %v, perLab %v; want 0 and empty maps", n, g.perAddr, g.perLab)
	}
}
