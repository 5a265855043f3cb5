package mailbox

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/events"
)

func TestDeliverParsesAndLists(t *testing.T) {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s := New(10, 1<<20, func() time.Time { return at })
	raw := "From: a@x.test\r\nSubject: =?utf-8?q?Ol=C3=A1?=\r\nX-Long: one\r\n two\r\n\r\nbody\r\n"
	s.Deliver(&Message{Lab: "L", Raw: []byte(raw)})
	s.Deliver(&Message{Lab: "L", Raw: []byte("no headers at all\r\n")})
	s.Deliver(&Message{Lab: "other", Raw: []byte("Subject: x\r\n\r\n")})
	box := s.List("L")
	if len(box) != 2 {
		t.Fatalf("lab L has %d messages, want 2", len(box))
	}
	m := box[1] // newest first
	if m.Subject != "Olá" || m.Size != len(raw) || !m.ReceivedAt.Equal(at) || m.ID == "" {
		t.Errorf("message = %+v", m)
	}
	if len(m.Headers) != 3 || m.Headers[2].Value != "one two" || m.Headers[0].Name != "From" {
		t.Errorf("headers = %+v", m.Headers)
	}
	if len(box[0].Headers) != 0 {
		t.Errorf("headerless message got headers %+v", box[0].Headers)
	}
	if got, ok := s.Get("other", m.ID); ok {
		t.Errorf("lab other sees lab L's message %v", got)
	}
	if got, ok := s.Get("L", m.ID); !ok || got != m {
		t.Error("Get misses a stored message")
	}
}

func TestEvictionOldestFirst(t *testing.T) {
	s := New(3, 1<<20, nil)
	for i := range 5 {
		s.Deliver(&Message{Lab: "L", Raw: fmt.Appendf(nil, "Subject: %d\r\n\r\n", i)})
	}
	box := s.List("L")
	if len(box) != 3 || box[0].Subject != "4" || box[2].Subject != "2" {
		t.Fatalf("kept %v", subjects(box))
	}
	if _, _, ev := s.Stats(); ev != 2 {
		t.Errorf("evictions = %d, want 2", ev)
	}
}

func subjects(ms []*Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// One lab filling its mailbox, the shared classroom included, evicts only
// its own oldest mail: every other lab keeps what it was told was
// accepted, and each eviction is published on the evicting lab's stream.
func TestEvictionStaysInTheSendersLab(t *testing.T) {
	const budget = 1 << 20 // 64 KiB per lab
	bus := events.NewBus()
	s := New(1000, budget, nil)
	s.Notify(bus)
	seen := bus.Subscribe(1000, nil)
	for _, lab := range []string{"a", "b"} {
		for i := range 3 {
			if err := s.Deliver(&Message{Lab: lab, Raw: fmt.Appendf(nil, "Subject: %s%d\r\n\r\n", lab, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The attack of issue 15: large mail to the classroom, past the budget.
	var kept []string
	for i := range 100 {
		raw := make([]byte, 16<<10)
		copy(raw, fmt.Sprintf("Subject: big%d\r\n\r\n", i))
		if err := s.Deliver(&Message{Lab: "classroom", Host: "mx.sandbox.test", Port: 25, Raw: raw}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	for _, lab := range []string{"a", "b"} {
		if got := subjects(s.List(lab)); len(got) != 3 {
			t.Errorf("lab %s kept %v, want its 3 messages", lab, got)
		}
	}
	class := s.List("classroom")
	kept = subjects(class)
	if len(kept) == 0 || len(kept) > 4 || kept[0] != "big99" {
		t.Errorf("classroom kept %v, want its newest few", kept)
	}
	var classBytes int64
	for _, m := range class {
		classBytes += m.held
	}
	if classBytes > budget/LabShare {
		t.Errorf("classroom holds %d bytes, over its share %d", classBytes, budget/LabShare)
	}
	n, bytes, ev := s.Stats()
	if ev != uint64(100-len(kept)) || n != 6+len(kept) || bytes > budget {
		t.Errorf("stats = %d messages, %d bytes, %d evictions", n, bytes, ev)
	}
	seen.Close()
	var evicted int
	for e := range seen.C {
		if e.Kind != events.Evicted {
			continue
		}
		evicted++
		if e.Lab != "classroom" || e.MessageID == "" || e.Port != 25 || !strings.Contains(e.Text, "evicted") {
			t.Errorf("eviction event %+v", e)
		}
		if want := fmt.Sprintf("%d evicted from this lab so far", evicted); !strings.HasSuffix(e.Text, want) {
			t.Errorf("event text %q, want it to end %q", e.Text, want)
		}
	}
	if evicted != int(ev) {
		t.Errorf("%d eviction events for %d evictions", evicted, ev)
	}
}

// The overall budget holds with every lab at its bound: a delivery that
// would pass it is refused, and evicts nobody.
func TestOverallBudgetRefusesRatherThanEvicts(t *testing.T) {
	const budget = 1 << 20
	s := New(1000, budget, nil)
	msg := func(lab string) *Message {
		return &Message{Lab: lab, Raw: make([]byte, 31<<10)} // two fit in a lab, 32 fill the store
	}
	for i := range LabShare {
		for range 2 {
			if err := s.Deliver(msg(fmt.Sprint("lab", i))); err != nil {
				t.Fatalf("lab%d: %v", i, err)
			}
		}
	}
	before, _, _ := s.Stats()
	if err := s.Deliver(msg("late")); !errors.Is(err, ErrFull) {
		t.Errorf("a new lab's delivery into a full store: %v, want ErrFull", err)
	}
	if err := s.Deliver(msg("lab0")); err != nil {
		t.Errorf("a full lab's own delivery: %v, want it stored in place of its oldest", err)
	}
	if err := s.Deliver(&Message{Lab: "lab1", Raw: make([]byte, budget/LabShare)}); !errors.Is(err, ErrTooBig) {
		t.Errorf("a message over a lab's bound: %v, want ErrTooBig", err)
	}
	n, bytes, ev := s.Stats()
	if n != before || bytes > budget || ev != 1 || len(s.List("lab1")) != 2 {
		t.Errorf("stats = %d messages (was %d), %d bytes, %d evictions; lab1 has %d", n, before, bytes, ev, len(s.List("lab1")))
	}
	s.DeleteLab("lab2")
	if err := s.Deliver(msg("late")); err != nil {
		t.Errorf("after a lab expired: %v", err)
	}
}

// What the store accounts is what a message holds: its raw buffer and the
// headers kept for display, not the raw size alone.
func TestAccountedBytesIncludeHeaders(t *testing.T) {
	s := New(10, 1<<30, nil)
	raw := []byte("Subject: " + strings.Repeat("s", 1000) + "\r\nX-A: " + strings.Repeat("a", 1000) + "\r\n\r\nbody\r\n")
	s.Deliver(&Message{Lab: "L", Raw: raw})
	_, bytes, _ := s.Stats()
	if min := int64(cap(raw) + 2000 + len("Subject") + len("X-A")); bytes < min {
		t.Errorf("accounted %d bytes, want at least the raw buffer and the kept headers, %d", bytes, min)
	}
}

// Mail for a lab that was deleted or expired while a connection into it
// stayed open is refused, and the lab's mailbox is not recreated: nothing
// would ever remove it again.
func TestNoMailForGoneLab(t *testing.T) {
	s := New(10, 1<<20, nil)
	live := map[string]bool{"classroom": true, "L": true}
	s.Labs(func(lab string) bool { return live[lab] })
	if err := s.Deliver(&Message{Lab: "L", Raw: []byte("Subject: before\r\n\r\n")}); err != nil {
		t.Fatal(err)
	}
	delete(live, "L") // the labs manager deletes the lab, then tells the store
	s.DeleteLab("L")
	if err := s.Deliver(&Message{Lab: "L", Raw: []byte("Subject: after\r\n\r\n")}); !errors.Is(err, ErrNoLab) {
		t.Errorf("delivery into a deleted lab: %v, want ErrNoLab", err)
	}
	if err := s.Deliver(&Message{Lab: "never", Raw: []byte("Subject: x\r\n\r\n")}); !errors.Is(err, ErrNoLab) {
		t.Errorf("delivery into an unknown lab: %v, want ErrNoLab", err)
	}
	n, bytes, _ := s.Stats()
	if n != 0 || bytes != 0 || len(s.labs) != 0 {
		t.Errorf("after the lab went: %d messages, %d bytes, %d mailboxes; want none", n, bytes, len(s.labs))
	}
	if err := s.Deliver(&Message{Lab: "classroom", Raw: []byte("Subject: x\r\n\r\n")}); err != nil {
		t.Errorf("delivery into a lab that exists: %v", err)
	}
}

// A message of MessageLimit octets fits in an empty lab however much it
// holds beside its raw bytes: display headers at their bounds and an
// envelope of many recipients. The relay advertises no more as SIZE.
func TestMessageLimitFits(t *testing.T) {
	s := New(10, 256<<20, nil)
	limit := s.MessageLimit()
	var raw bytes.Buffer
	for i := 0; raw.Len() < 1<<20; i++ {
		fmt.Fprintf(&raw, "X-%d: %s\r\n", i, strings.Repeat("v", 990))
	}
	raw.WriteString("\r\n")
	raw.Write(bytes.Repeat([]byte("x"), int(limit)-raw.Len()))
	exact := append(make([]byte, 0, raw.Len()), raw.Bytes()...) // as the relay builds it
	m := &Message{Lab: "L", Raw: exact, Host: "mx.sandbox.test", Helo: strings.Repeat("h", 1000)}
	for i := range 100 {
		m.To = append(m.To, fmt.Sprintf("%s%d@sandbox.test", strings.Repeat("r", 240), i))
	}
	if int64(len(m.Raw)) != limit || limit >= s.labBytes {
		t.Fatalf("message of %d octets, limit %d, lab bound %d", len(m.Raw), limit, s.labBytes)
	}
	if err := s.Deliver(m); err != nil {
		t.Fatalf("a message of MessageLimit (%d) octets: %v", limit, err)
	}
	if err := s.Deliver(&Message{Lab: "L", Raw: make([]byte, s.labBytes)}); !errors.Is(err, ErrTooBig) {
		t.Fatalf("a message of a lab's whole bound: %v, want ErrTooBig", err)
	}
}
