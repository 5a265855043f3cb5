package mailbox

import (
	"fmt"
	"strings"
	"testing"
	"time"
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
	// Byte budget: evicts across labs, oldest first.
	s = New(100, 3*messageOverhead, nil)
	s.Deliver(&Message{Lab: "a", Raw: make([]byte, 400)})
	s.Deliver(&Message{Lab: "b", Raw: make([]byte, 100)})
	s.Deliver(&Message{Lab: "b", Raw: make([]byte, 100)})
	if n, bytes, ev := s.Stats(); n != 2 || bytes > 3*messageOverhead || ev != 1 || len(s.List("a")) != 0 {
		t.Errorf("stats = %d msgs %d bytes %d evictions; lab a has %d", n, bytes, ev, len(s.List("a")))
	}
}

func subjects(ms []*Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
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
