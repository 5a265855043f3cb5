// Package mailbox keeps the messages the sandbox accepts, in memory, per
// lab: the students' "inbox" for everything they send, including mail the
// relay agreed to pass on (marked relayed: it never leaves the process).
// It is bounded by a message count per lab and a byte budget overall; the
// oldest message goes first and every eviction is counted.
package mailbox

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Message is one accepted message with what the lesson needs to show
// about how it arrived.
type Message struct {
	ID         string    `json:"id"`
	Lab        string    `json:"lab"`
	ReceivedAt time.Time `json:"received_at"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	// Headers are the header fields as shown, bounded: a long value ends
	// in a marker, and HeadersCut counts the fields not kept. Raw is whole.
	Headers    []Header `json:"headers"`
	HeadersCut int      `json:"headers_cut,omitempty"`
	Size       int      `json:"size"`
	Raw        []byte   `json:"-"`
	// How it arrived.
	Host       string `json:"host"`
	Port       int    `json:"port"`
	Client     string `json:"client"`
	Helo       string `json:"helo"`
	TLS        bool   `json:"tls"`
	TLSVersion string `json:"tls_version,omitempty"`
	TLSCipher  string `json:"tls_cipher,omitempty"`
	AuthUser   string `json:"auth_user,omitempty"`
	// Relayed marks mail for a domain the sandbox is not final for, which a
	// real relay would have passed on.
	Relayed bool   `json:"relayed"`
	seq     uint64 // delivery order
	held    int64  // bytes accounted for it
}

// Header is one header field, in message order.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Store is the bounded in-memory mailbox of every lab. Bytes are counted
// as held: the raw message's buffer, the display headers and envelope, and
// a fixed overhead per message.
type Store struct {
	mu        sync.Mutex
	perLab    int
	maxBytes  int64
	bytes     int64
	seq       uint64
	labs      map[string][]*Message // oldest first
	evictions uint64
	now       func() time.Time
}

// New returns a store keeping at most perLab messages in each lab and
// maxBytes of message data overall.
func New(perLab int, maxBytes int64, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{perLab: perLab, maxBytes: maxBytes, labs: map[string][]*Message{}, now: now}
}

// messageOverhead approximates what a Message and its slices cost beyond
// the bytes of its strings.
const messageOverhead = 512

// held is what m keeps in memory.
func held(m *Message) int64 {
	n := cap(m.Raw) + messageOverhead + len(m.ID) + len(m.Lab) + len(m.From) + len(m.Subject) +
		len(m.Host) + len(m.Client) + len(m.Helo) + len(m.TLSVersion) + len(m.TLSCipher) + len(m.AuthUser)
	for _, to := range m.To {
		n += len(to) + 16
	}
	for _, h := range m.Headers {
		n += len(h.Name) + len(h.Value) + 32
	}
	return int64(n)
}

// Deliver stores m, filling ID, ReceivedAt, Size, Subject and Headers from
// Raw. It never fails: when full, it evicts the oldest messages.
func (s *Store) Deliver(m *Message) error {
	if m.ID == "" {
		m.ID = newID()
	}
	m.Size = len(m.Raw)
	m.Headers, m.HeadersCut, m.Subject = parseHeaders(m.Raw)
	m.held = held(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = s.now()
	}
	s.seq++
	m.seq = s.seq
	s.labs[m.Lab] = append(s.labs[m.Lab], m)
	s.bytes += m.held
	for len(s.labs[m.Lab]) > s.perLab {
		s.evictFrom(m.Lab)
	}
	for s.bytes > s.maxBytes && s.evictOldest() {
	}
	return nil
}

func (s *Store) evictFrom(lab string) {
	box := s.labs[lab]
	s.bytes -= box[0].held
	box[0] = nil
	s.labs[lab] = box[1:]
	s.evictions++
}

// evictOldest drops the oldest message of all labs; false when empty.
func (s *Store) evictOldest() bool {
	oldest, lab := uint64(0), ""
	for l, box := range s.labs {
		if len(box) > 0 && (oldest == 0 || box[0].seq < oldest) {
			oldest, lab = box[0].seq, l
		}
	}
	if oldest == 0 {
		return false
	}
	s.evictFrom(lab)
	return true
}

// List returns a lab's messages, newest first.
func (s *Store) List(lab string) []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	box := s.labs[lab]
	out := make([]*Message, len(box))
	for i, m := range box {
		out[len(box)-1-i] = m
	}
	return out
}

// Get returns one message of a lab.
func (s *Store) Get(lab, id string) (*Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.labs[lab] {
		if m.ID == id {
			return m, true
		}
	}
	return nil, false
}

// DeleteLab forgets a lab's messages.
func (s *Store) DeleteLab(lab string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.labs[lab] {
		s.bytes -= m.held
	}
	delete(s.labs, lab)
}

// Stats reports the messages held, the bytes accounted for them and the
// evictions so far.
func (s *Store) Stats() (messages int, bytes int64, evictions uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, box := range s.labs {
		messages += len(box)
	}
	return messages, s.bytes, s.evictions
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
