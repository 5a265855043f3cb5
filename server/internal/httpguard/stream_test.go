package httpguard_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/api"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/world"
)

// A live event stream outlives the server's request time-outs: it lifts
// them on its own connection. Two heartbeats, each later than both
// time-outs, arrive.
func TestEventStreamOutlivesTimeouts(t *testing.T) {
	labs := lab.NewManager(lab.Config{TTL: time.Hour, MaxPerClient: 10, MaxLabs: 100, Default: "home-isp"})
	h := api.New(api.Config{Labs: labs, Store: mailbox.New(10, 1<<20, nil), Bus: events.NewBus(), Profiles: netsim.Default(), World: world.Default(), Heartbeat: 150 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	to := httpguard.Timeouts{ReadHeader: 50 * time.Millisecond, Read: 50 * time.Millisecond, Write: 50 * time.Millisecond, Idle: 50 * time.Millisecond}
	srv := httpguard.NewServer(h, to, nil)
	go srv.Serve(httpguard.Listen(ln, httpguard.Limits{}))
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/labs/classroom/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for beats := 0; beats < 2; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended after %d heartbeats: %v", beats, err)
		}
		if strings.HasPrefix(line, ": keep-alive") {
			beats++
		}
	}
}
