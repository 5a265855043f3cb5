package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portlab/portlab/server/events"
)

// value is a sample's value as a scrape shows it ("" when absent).
func value(t *testing.T, m *Metrics, sample string) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for _, l := range strings.Split(w.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			return v
		}
	}
	return ""
}

// A replica counts what its own relay did: an event another replica
// published and passed on (Remote) is counted there, not again here.
func TestObserveSkipsRemoteEvents(t *testing.T) {
	m := New()
	for _, remote := range []bool{false, true, true} {
		m.Observe(events.Event{Kind: events.Connect, Host: "mx.sandbox.test", Port: 25, Remote: remote})
		m.Observe(events.Event{Kind: events.Reply, Text: "250 2.0.0 Ok: queued as ABC", Remote: remote})
		m.Observe(events.Event{Kind: events.TLS, TLSVersion: "TLS 1.3", Remote: remote})
		m.Observe(events.Event{Kind: events.Auth, OK: true, Remote: remote})
		m.Observe(events.Event{Kind: events.Message, MessageID: "ABC", Remote: remote})
	}
	for _, sample := range []string{
		`portlab_smtp_connections_total{host="mx.sandbox.test",port="25"}`,
		`portlab_smtp_replies_total{code="250"}`,
		`portlab_tls_handshakes_total{version="TLS 1.3"}`,
		`portlab_smtp_auth_total{result="ok"}`,
		`portlab_messages_accepted_total`,
	} {
		if got := value(t, m, sample); got != "1" {
			t.Errorf("%s = %q after one local and two remote events, want 1", sample, got)
		}
	}
}

// Only a message stored in a mailbox counts as accepted: the relay's
// bounce and queue notes travel as Message events without an id.
func TestObserveCountsStoredMessagesOnly(t *testing.T) {
	m := New()
	m.Observe(events.Event{Kind: events.Message, MessageID: "A1B2", Text: "message A1B2 stored: 310 bytes from <a@example.org> to b@sandbox.test"})
	m.Observe(events.Event{Kind: events.Message, Text: "bounce for 1 recipient(s) sent to <a@example.org>"})
	m.Observe(events.Event{Kind: events.Message, Text: "queue: C3D4 deferred again after 5m0s: 450 4.2.0 Greylisted; next try in 10m0s (simulated)"})
	m.Observe(events.Event{Kind: events.Evicted, MessageID: "A1B2"})
	if got := value(t, m, "portlab_messages_accepted_total"); got != "1" {
		t.Errorf("portlab_messages_accepted_total = %q after one stored message, a bounce note, a queue note and an eviction; want 1", got)
	}
}

// A set of gauges is read once per scrape, whatever its size: one costly
// source (the mail statistics of a shared store) is asked once.
func TestGaugesReadOncePerScrape(t *testing.T) {
	m := New()
	reads := 0
	m.Gauges([]GaugeDesc{{"portlab_a", "A."}, {"portlab_b", "B."}, {"portlab_c", "C."}}, func() []float64 {
		reads++
		return []float64{1, 2, 3}
	})
	if got := value(t, m, "portlab_b"); got != "2" || reads != 1 {
		t.Errorf("one scrape: portlab_b %q, %d reads; want 2, 1 read", got, reads)
	}
	value(t, m, "portlab_c")
	if reads != 2 {
		t.Errorf("two scrapes read the set %d times, want 2", reads)
	}
}
