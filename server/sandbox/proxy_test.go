package sandbox

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/internal/httpguard"
)

// createLab asks for a lab with the X-Forwarded-For header xff and
// returns the status code.
func createLab(t *testing.T, s *Sandbox, xff string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL()+"/api/labs", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Behind a trusted proxy, labs are counted per real client: the
// right-most X-Forwarded-For address that is not the proxy, whatever a
// client writes to its left. From a peer that is not trusted, the header
// changes nothing: every lab counts against the peer.
func TestLabsPerClientBehindProxy(t *testing.T) {
	proxied, err := New(Config{LabsPerClient: 2, TrustedProxies: httpguard.Proxies{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxied.Close()
	for i, c := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.1", 201},
		{"203.0.113.1", 201},
		{"203.0.113.1", 429},              // that student's third
		{"203.0.113.1, 203.0.113.2", 201}, // another student
		{"203.0.113.9, 203.0.113.1", 429}, // a forged left entry is not believed
		{"203.0.113.2, 127.0.0.5", 201},   // through a second trusted proxy
		{"", 201},                         // the proxy's own request
	} {
		if got := createLab(t, proxied, c.xff); got != c.want {
			t.Errorf("%d: lab with X-Forwarded-For %q: %d, want %d", i, c.xff, got, c.want)
		}
	}

	direct, err := New(Config{LabsPerClient: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	for i, xff := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		want := 201
		if i == 2 {
			want = 429
		}
		if got := createLab(t, direct, xff); got != want {
			t.Errorf("no trusted proxy, forged X-Forwarded-For %q: %d, want %d", xff, got, want)
		}
	}
}

// Behind a trusted proxy, tunnels are counted per real client too: one
// student at --tunnels-per-client is turned away, another is not.
func TestTunnelsPerClientBehindProxy(t *testing.T) {
	s, err := New(Config{TunnelsPerClient: 1, TrustedProxies: httpguard.Proxies{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u, err := tunnel.Target{Server: s.URL(), Profile: "datacenter", Host: "mx.sandbox.test", Port: 25}.URL()
	if err != nil {
		t.Fatal(err)
	}
	// open dials a tunnel for client xff and returns its first message
	// (the gateway's "connected"), or the error that ended it.
	open := func(xff string) (string, error) {
		ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
			Subprotocols: []string{tunnel.Subprotocol},
			HTTPHeader:   http.Header{"X-Forwarded-For": {xff}},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		_, b, err := ws.Read(ctx)
		return string(b), err
	}
	if first, err := open("203.0.113.1"); err != nil || !strings.Contains(first, `"connected"`) {
		t.Fatalf("first student's tunnel: %q, %v", first, err)
	}
	if _, err := open("203.0.113.1"); websocket.CloseStatus(err) != tunnel.CodeTooMany {
		t.Errorf("first student's second tunnel: %v, want close code %d", err, tunnel.CodeTooMany)
	}
	if first, err := open("198.51.100.7, 203.0.113.2"); err != nil || !strings.Contains(first, `"connected"`) {
		t.Errorf("another student's tunnel: %q, %v", first, err)
	}
}
