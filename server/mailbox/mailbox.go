// Package mailbox keeps the messages the sandbox accepts, in memory, per
// lab: the students' "inbox" for everything they send, including mail the
// relay agreed to pass on (marked relayed: it never leaves the process).
//
// It is bounded per lab (a message count and a byte bound) and overall (a
// byte budget); see [Store] for how the bounds hold without one lab ever
// costing another its mail.
package mailbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/portlab/portlab/server/events"
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
	Relayed bool  `json:"relayed"`
	held    int64 // bytes accounted for it
}

// Header is one header field, in message order.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// LabShare is how many labs it takes to fill the store: each lab, the
// shared classroom included, may hold at most 1/LabShare of the overall
// budget (16 MiB of the default 256 MiB, room for the default 10 MiB SIZE).
const LabShare = 16

// Errors Deliver returns for a message it cannot take; the relay then
// refuses the message, and the client keeps it.
var (
	// ErrTooBig: the message alone is larger than a lab may hold (see
	// [Store.MessageLimit]); it never will fit, so the relay refuses it
	// for good.
	ErrTooBig = errors.New("mailbox: message larger than a lab's bound")
	// ErrFull: other labs hold the whole budget.
	ErrFull = errors.New("mailbox: the sandbox's mail store is full")
	// ErrNoLab: the lab is gone (deleted or expired) and takes no mail.
	ErrNoLab = errors.New("mailbox: no such lab")
)

// Store is the bounded in-memory mailbox of every lab.
//
// Each lab may hold perLab messages and labBytes (the budget divided by
// LabShare) bytes. A delivery that would pass its lab's bounds evicts that
// lab's own oldest messages, and only those: mail another lab was told
// was accepted is never taken to make room. The overall budget holds
// because a delivery that would pass it, even with its own lab emptied, is
// refused instead (ErrFull) and nothing is evicted. Filling the store so
// takes LabShare labs at their bound, more than one client address may
// create; labs that expire give their bytes back.
//
// Bytes are counted as held: the raw message's buffer, the display
// headers and envelope, and a fixed overhead per message.
type Store struct {
	mu        sync.Mutex
	perLab    int
	labBytes  int64
	maxBytes  int64
	bytes     int64
	labs      map[string]*box
	evictions uint64
	now       func() time.Time
	bus       *events.Bus
	exists    func(lab string) bool // nil: every lab exists
	shared    Shared                // nil: the mail is in labs
}

// Shared keeps the mail where every replica reads it (a database) under
// the same bounds as the memory store: a delivery evicts its own lab's
// oldest messages only, or is refused.
type Shared interface {
	// DeliverMessage stores m within b. It returns the messages evicted
	// (ID and Size), oldest first, and the lab's evictions so far; or
	// ErrFull, storing nothing.
	DeliverMessage(m *Message, held int64, b Bounds) (evicted []*Message, total uint64, err error)
	// ListMessages is a lab's mail, newest first.
	ListMessages(lab string) []*Message
	GetMessage(lab, id string) (*Message, bool)
	DeleteMessages(lab string)
	MailStats() (messages int, bytes int64, evictions uint64)
}

// Bounds are a store's limits, for [Shared].
type Bounds struct {
	PerLab             int
	LabBytes, MaxBytes int64
}

// Share makes the store keep its mail in sh instead of memory.
func (s *Store) Share(sh Shared) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shared = sh
}

// box is one lab's mail.
type box struct {
	msgs    []*Message // oldest first
	bytes   int64
	evicted uint64
}

// New returns a store keeping at most perLab messages and maxBytes/LabShare
// bytes in each lab, and maxBytes overall.
func New(perLab int, maxBytes int64, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{perLab: perLab, labBytes: maxBytes / LabShare, maxBytes: maxBytes, labs: map[string]*box{}, now: now}
}

// Notify makes the store publish an [events.Evicted] event on the lab's
// own stream for every message it evicts.
func (s *Store) Notify(bus *events.Bus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bus = bus
}

// Labs tells the store which labs exist: Deliver refuses mail for any
// other (ErrNoLab). Without it, a connection still open when its lab was
// deleted or expired would recreate the lab's mailbox after [Store.DeleteLab]
// and nothing would ever remove it again. exists is asked under the
// store's lock, so a lab's deletion either comes after the delivery (and
// DeleteLab then removes the message) or before it (and the delivery is
// refused); exists must not call the store.
func (s *Store) Labs(exists func(lab string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exists = exists
}

// messageOverhead approximates what a Message and its slices cost beyond
// the bytes of its strings.
const messageOverhead = 512

// messageReserve is the room a message needs in its lab's bound beside
// its raw bytes: the fixed overhead, the display headers at their bounds
// (headers.go), and an envelope (recipients, names) of up to 64 KiB.
const messageReserve = int64(messageOverhead + maxHeaderBytes + maxHeaders*(32+2*len(cutMarker)) + 64<<10)

// MessageLimit is the largest raw message, trace headers included, that a
// lab can hold: a larger one gets ErrTooBig however empty the lab. The
// relay advertises no larger SIZE (RFC 1870), so a client learns the limit
// before it sends rather than by a refusal after every try.
func (s *Store) MessageLimit() int64 {
	return s.labBytes - min(messageReserve, s.labBytes/2)
}

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
// Raw. To make room it evicts only m's own lab's oldest messages; when
// that cannot make room it stores nothing and returns ErrTooBig or ErrFull.
// Mail for a lab that no longer exists is refused with ErrNoLab.
func (s *Store) Deliver(m *Message) error {
	if m.ID == "" {
		m.ID = newID()
	}
	m.Size = len(m.Raw)
	m.Headers, m.HeadersCut, m.Subject = parseHeaders(m.Raw)
	m.held = held(m)
	s.mu.Lock()
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = s.now()
	}
	if s.shared != nil {
		return s.deliverShared(m) // unlocks
	}
	b := s.labs[m.Lab]
	if b == nil {
		b = &box{}
	}
	switch {
	case s.exists != nil && !s.exists(m.Lab):
		s.mu.Unlock()
		return ErrNoLab
	case m.held > s.labBytes:
		s.mu.Unlock()
		return ErrTooBig
	case s.bytes-b.bytes+m.held > s.maxBytes:
		s.mu.Unlock()
		return ErrFull
	}
	s.labs[m.Lab] = b
	var gone []*Message
	for len(b.msgs) > 0 && (len(b.msgs) >= s.perLab || b.bytes+m.held > s.labBytes || s.bytes+m.held > s.maxBytes) {
		gone = append(gone, b.msgs[0])
		s.bytes -= b.msgs[0].held
		b.bytes -= b.msgs[0].held
		b.msgs[0] = nil
		b.msgs = b.msgs[1:]
		b.evicted++
		s.evictions++
	}
	b.msgs = append(b.msgs, m)
	b.bytes += m.held
	s.bytes += m.held
	evicted, bus, now := b.evicted, s.bus, s.now()
	s.mu.Unlock()
	s.evicted(bus, now, m, gone, evicted)
	return nil
}

// deliverShared is Deliver into Shared; s.mu is held, and released
// before the database is asked.
func (s *Store) deliverShared(m *Message) error {
	sh, exists, bus, now := s.shared, s.exists, s.bus, s.now()
	b := Bounds{PerLab: s.perLab, LabBytes: s.labBytes, MaxBytes: s.maxBytes}
	s.mu.Unlock()
	switch {
	case exists != nil && !exists(m.Lab):
		return ErrNoLab
	case m.held > b.LabBytes:
		return ErrTooBig
	}
	gone, evicted, err := sh.DeliverMessage(m, m.held, b)
	if err != nil {
		return err
	}
	s.evicted(bus, now, m, gone, evicted)
	return nil
}

// evicted tells the lab's stream of the messages evicted for m.
func (s *Store) evicted(bus *events.Bus, now time.Time, m *Message, gone []*Message, evicted uint64) {
	for i, old := range gone {
		bus.Publish(events.Event{
			Time: now, Kind: events.Evicted, Lab: m.Lab, Host: m.Host, Port: m.Port, MessageID: old.ID,
			Text: fmt.Sprintf("message %s evicted to make room for %s: it was this lab's oldest (%d bytes); a lab keeps %d messages and %s; %d evicted from this lab so far",
				old.ID, m.ID, old.Size, s.perLab, sizeText(s.labBytes), evicted-uint64(len(gone)-1-i)),
		})
	}
}

// sizeText writes a bound as a student reads it.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// List returns a lab's messages, newest first.
func (s *Store) List(lab string) []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared != nil {
		return s.shared.ListMessages(lab)
	}
	var box []*Message
	if b := s.labs[lab]; b != nil {
		box = b.msgs
	}
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
	if s.shared != nil {
		return s.shared.GetMessage(lab, id)
	}
	b := s.labs[lab]
	if b == nil {
		return nil, false
	}
	for _, m := range b.msgs {
		if m.ID == id {
			return m, true
		}
	}
	return nil, false
}

// DeleteLab forgets a lab's messages; the labs manager calls it for every
// lab deleted or expired.
func (s *Store) DeleteLab(lab string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared != nil {
		s.shared.DeleteMessages(lab)
		return
	}
	if b := s.labs[lab]; b != nil {
		s.bytes -= b.bytes
		delete(s.labs, lab)
	}
}

// Stats reports the messages held, the bytes accounted for them and the
// evictions so far.
func (s *Store) Stats() (messages int, bytes int64, evictions uint64) {
	// The database's figures are read without s.mu: a scrape must not
	// hold up deliveries. (shared is set once, before serving.)
	if s.shared != nil {
		return s.shared.MailStats()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.labs {
		messages += len(b.msgs)
	}
	return messages, s.bytes, s.evictions
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
