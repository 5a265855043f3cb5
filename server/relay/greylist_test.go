package relay

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/events"
)

// pipeClient opens an in-process session on d for lab, from client, as
// the gateway does.
func pipeClient(t *testing.T, sb *sandbox, d Door, lab string, from netip.Addr) *client {
	t.Helper()
	cli, srv := net.Pipe()
	t.Cleanup(func() { cli.Close() })
	if err := sb.r.ServeConn(srv, d, Meta{Lab: lab, Client: from}); err != nil {
		t.Fatal(err)
	}
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, conn: cli, br: bufio.NewReader(cli), host: d.Host}
	c.reply()
	return c
}

var greyMX = Door{Host: "mx.greylist.test", Port: 25, LocalDomains: []string{"greylist.test"}, Greylist: 5 * time.Minute}

// Greylisting (docs/teaching-map.md L25): a new triplet gets postgrey's
// 450 4.2.0 at RCPT, an early retry too, a retry once the delay passed is
// accepted; another lab's first try is greylisted on its own, and another
// /24 network is another client.
func TestGreylist(t *testing.T) {
	sb := newSandbox(t, "")
	from := netip.MustParseAddr("203.0.113.80")
	try := func(lab string, client netip.Addr) string {
		c := pipeClient(t, sb, greyMX, lab, client)
		c.run(sb, "EHLO client.example\nMAIL FROM:<alice@example.org>\nRCPT TO:<bob@greylist.test>\nQUIT")
		_, after, _ := strings.Cut(c.log.String(), "C: RCPT TO:<bob@greylist.test>\nS: ")
		reply, _, _ := strings.Cut(after, "\n")
		return reply
	}
	want450 := "450 4.2.0 <bob@greylist.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/greylist.test.html"
	if got := try("lab1", from); got != want450 {
		t.Errorf("first try: %q, want %q", got, want450)
	}
	sb.advance(4 * time.Minute)
	if got := try("lab1", from); got != want450 {
		t.Errorf("early retry: %q, want %q", got, want450)
	}
	sb.advance(time.Minute)
	if got := try("lab1", from); got != "250 2.1.5 Ok" {
		t.Errorf("retry after the delay: %q, want 250 2.1.5 Ok", got)
	}
	if got := try("lab1", netip.MustParseAddr("203.0.113.99")); got != "250 2.1.5 Ok" {
		t.Errorf("same /24 after the delay: %q, want 250 2.1.5 Ok", got)
	}
	if got := try("lab2", from); got != want450 {
		t.Errorf("another lab's first try: %q, want %q", got, want450)
	}
	if got := try("lab1", netip.MustParseAddr("198.51.100.7")); got != want450 {
		t.Errorf("another network's first try: %q, want %q", got, want450)
	}
}

// A relay that meets greylisting does what RFC 5321 §4.5.4.1 asks: it
// keeps the message in its queue and tries again, and the retry, at
// least minimal_backoff_time later on the queue's simulated clock, gets
// through. Required TLS not offered defers too (4.7.4), and bounces once
// maximal_queue_lifetime ends.
func TestQueueRetries(t *testing.T) {
	sb := startSandbox(t, "<domain strict.notls.test>\n  require-starttls yes\n</domain>\n")
	sb.r.routes = mapRoutes{
		"greylist.test":     greyMX,
		"strict.notls.test": {Host: "mx.notls.test", Port: 25, NoSTARTTLS: true, LocalDomains: []string{"notls.test"}},
		"sandbox.test":      {Host: "mx.sandbox.test", Port: 25},
	}
	evs := sb.bus.Subscribe(1000, func(e events.Event) bool { return strings.HasPrefix(e.Text, queueNotePrefix) })
	defer evs.Close()
	c := dial(t, sb, 465)
	c.startTLS(sb)
	c.run(sb, `!greeting
EHLO laptop
AUTH PLAIN AGZvbwBiYXJiYXo=
MAIL FROM:<foo@sandbox.test>
RCPT TO:<bob@greylist.test>
RCPT TO:<pal@strict.notls.test>
DATA
!data
Subject: later

x
.
QUIT`)
	sb.r.queue.wait()
	var hosts []string
	for _, m := range sb.store.List(DefaultLab) {
		hosts = append(hosts, m.Host+":"+strings.Join(m.To, ","))
	}
	want := []string{"mx.sandbox.test:foo@sandbox.test", "mx.greylist.test:bob@greylist.test", "legacy.mail.test:bob@greylist.test,pal@strict.notls.test"}
	if strings.Join(hosts, " ") != strings.Join(want, " ") {
		t.Errorf("mailbox, newest first: %v, want %v", hosts, want)
	}
	// The copy that got through carries postgrey's trace of the wait: the
	// queue's first retry, minimal_backoff_time later.
	if got := string(sb.store.List(DefaultLab)[1].Raw); !strings.HasPrefix(got, "X-Greylist: delayed 300 seconds by postgrey-1.37 at mx.greylist.test; ") {
		t.Errorf("delivered copy:\n%s", got)
	}
	bounce := string(sb.store.List(DefaultLab)[0].Raw)
	if !strings.Contains(bounce, "Status: 4.7.4") || strings.Contains(bounce, "bob@greylist.test") {
		t.Errorf("bounce:\n%s", bounce)
	}
	var notes []string
	for len(evs.C) > 0 {
		if e := <-evs.C; strings.HasPrefix(e.Text, queueNotePrefix) {
			notes = append(notes, e.Text)
		}
	}
	joined := strings.Join(notes, "\n")
	for _, w := range []string{"deferred for <bob@greylist.test>", "Greylisted", "next try in 5m0s (simulated time)", "left the queue after 5m0s", "TLS is required", "returned to sender"} {
		if !strings.Contains(joined, w) {
			t.Errorf("queue events lack %q:\n%s", w, joined)
		}
	}
}

// The queue is bounded: one lab's share, the bytes it holds, and nothing
// after Close; a message it cannot hold bounces at once (enqueue).
func TestQueueBounded(t *testing.T) {
	var q queue
	release := make(chan struct{})
	hold := func(<-chan struct{}) { <-release }
	for i := range maxQueuedPerLab {
		if !q.add(&deferred{lab: "a"}, hold) {
			t.Fatalf("message %d of lab a refused", i)
		}
	}
	if q.add(&deferred{lab: "a"}, hold) {
		t.Error("lab a got more than its share")
	}
	if !q.add(&deferred{lab: "b"}, hold) {
		t.Error("lab b refused while lab a is full")
	}
	if q.add(&deferred{lab: "c", raw: make([]byte, maxQueuedBytes+1)}, hold) {
		t.Error("the queue took more bytes than it may hold")
	}
	close(release)
	q.close()
	if q.add(&deferred{lab: "d"}, hold) {
		t.Error("a closed queue took a message")
	}
}

// Full, the greylist forgets the triplet least recently tried, not every
// triplet: one whose retry already passed keeps passing while a flood of
// new triplets fills the store, the one forgotten is greylisted again,
// and the log says the store is full.
func TestGreylistEvictsLeastRecentlyTried(t *testing.T) {
	var logged strings.Builder
	g := &greylist{log: slog.New(slog.NewTextHandler(&logged, nil))}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	client := netip.MustParseAddr("203.0.113.80")
	try := func(to string) bool {
		wait, _ := g.wait("lab1", "mx.greylist.test", client, "alice@example.org", to, now, 5*time.Minute)
		return wait
	}
	try("kept@greylist.test")
	try("first-of-flood@greylist.test")
	now = now.Add(5 * time.Minute)
	if try("kept@greylist.test") {
		t.Fatal("a retry after the delay still waits")
	}
	for i := range maxGreyEntries - 2 {
		try(fmt.Sprintf("flood%d@greylist.test", i))
	}
	if len(g.seen) != maxGreyEntries || logged.Len() != 0 {
		t.Fatalf("store at %d of %d, log %q; want full, nothing logged yet", len(g.seen), maxGreyEntries, logged.String())
	}
	try("kept@greylist.test") // tried again: the most recent now
	try("one-more@greylist.test")
	if len(g.seen) != maxGreyEntries {
		t.Errorf("store at %d triplets, want the bound %d", len(g.seen), maxGreyEntries)
	}
	if try("kept@greylist.test") {
		t.Error("a triplet that passed, tried recently, was forgotten when the store filled")
	}
	if !try("first-of-flood@greylist.test") {
		t.Error("the least recently tried triplet was kept past the bound")
	}
	if !strings.Contains(logged.String(), "greylist full") || !strings.Contains(logged.String(), "max=10000 forgotten=1") {
		t.Errorf("log %q does not say the greylist is full", logged.String())
	}
}
