package httpguard_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/portlab/portlab/server/api"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/world"
	"github.com/portlab/portlab/web"
)

// TestLoadIdleFlood is `make bench`'s HTTP load test (PORTLAB_BENCH=1):
// one address (127.0.0.2) opens idle HTTP connections up to its cap and
// past it; a second address (127.0.0.3) still gets the pages and the API.
// Loopback only, bounded by the caps.
func TestLoadIdleFlood(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("PORTLAB_BENCH not set (make bench runs this)")
	}
	profiles := netsim.Default()
	store := mailbox.New(10, 1<<20, nil)
	labs := lab.NewManager(lab.Config{TTL: time.Hour, MaxPerClient: 10, MaxLabs: 100, Default: "home-isp"})
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{Labs: labs, Store: store, Bus: events.NewBus(), Profiles: profiles, World: world.Default()}))
	mux.Handle("/", web.New(web.Config{}))
	hosts, anyIP := httpguard.DefaultHosts("127.0.0.1:0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limits := httpguard.DefaultLimits
	srv := httpguard.NewServer(httpguard.Handler(mux, httpguard.Config{Hosts: hosts, AnyIP: anyIP}), httpguard.DefaultTimeouts, nil)
	go srv.Serve(httpguard.Listen(ln, limits))
	defer srv.Close()
	addr := ln.Addr().String()

	flood := limits.PerClient + 200
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	start := time.Now()
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	refused := 0
	for range flood {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", len(held), err)
		}
		held = append(held, c)
		// One request each, so that every connection is accepted and
		// counted before the next; then it stays open and idle.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /api/profiles HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d: %v", len(held), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			refused++
			c.Close() // as a client does after "Connection: close"
		}
	}
	opened := time.Since(start)
	if want := flood - limits.PerClient; refused != want {
		t.Errorf("%d of %d connections from 127.0.0.2 refused, want %d", refused, flood, want)
	}
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}).DialContext}, Timeout: 10 * time.Second}
	for _, path := range []string{"/", "/api/profiles", "/api/hosts"} {
		t0 := time.Now()
		resp, err := other.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("127.0.0.3 GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("127.0.0.3 GET %s: %s", path, resp.Status)
		}
		t.Logf("127.0.0.3 GET %s: %s in %v", path, resp.Status, time.Since(t0).Round(time.Microsecond))
	}
	t.Logf("127.0.0.2 opened %d connections in %v: %d held idle (the cap), %d answered 503", flood, opened.Round(time.Millisecond), flood-refused, refused)
}
