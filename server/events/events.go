// Package events is the in-process bus on which every SMTP connection
// reports what happens to it (connect, commands, replies, TLS, AUTH, stored
// messages, disconnect), and the mailbox reports the messages it evicts. The gateway, the web UI and `portlab serve -v`
// subscribe to it; publishers never block on a slow subscriber.
package events

import (
	"sync"
	"sync/atomic"
	"time"
)

// Kind names what happened.
type Kind string

const (
	Connect    Kind = "connect"
	Command    Kind = "command"
	Reply      Kind = "reply"
	TLS        Kind = "tls"
	Auth       Kind = "auth"
	Message    Kind = "message"
	Disconnect Kind = "disconnect"
	// Dial is the network's verdict on a tunnelled connection attempt
	// that never reached a server: refused, dropped, unknown host.
	Dial Kind = "dial"
	// Evicted is a lab's oldest message dropped to make room for a new one
	// in the same lab, once the lab is at its mailbox bound.
	Evicted Kind = "evicted"
)

// Event is one thing that happened on one connection.
type Event struct {
	Time   time.Time `json:"time"`
	Kind   Kind      `json:"kind"`
	Lab    string    `json:"lab"`
	Conn   uint64    `json:"conn"`
	Host   string    `json:"host"`
	Port   int       `json:"port"`
	Client string    `json:"client,omitempty"` // the client's (simulated) address
	Text   string    `json:"text,omitempty"`   // the command or reply line, or a summary
	Secure bool      `json:"secure"`           // the line crossed inside TLS
	// TLS details, on Kind TLS.
	TLSVersion string `json:"tls_version,omitempty"`
	TLSCipher  string `json:"tls_cipher,omitempty"`
	// AUTH details, on Kind Auth.
	User string `json:"user,omitempty"`
	OK   bool   `json:"ok,omitempty"`
	// Message id, on Kind Message and Evicted.
	MessageID string `json:"message_id,omitempty"`
	// Why, on a Dial that failed: the network's reason in each page
	// language (keyed by language tag), for a teacher who reads the
	// student's route in another language than Text's English.
	Why map[string]string `json:"why,omitempty"`
	// Remote marks an event another replica published, passed on here:
	// it is not passed back.
	Remote bool `json:"-"`
}

// Bus fans events out to subscribers.
type Bus struct {
	mu      sync.RWMutex
	subs    map[*Subscription]struct{}
	dropped atomic.Uint64
	labOf   func(user string) (lab string, ok bool)
	observe func(Event)
}

// Observe makes f see every event as it is published, before any
// subscriber's buffer can drop it (the metrics count from here). f must
// be quick and must not publish.
func (b *Bus) Observe(f func(Event)) {
	b.mu.Lock()
	b.observe = f
	b.mu.Unlock()
}

// RouteAuth makes the bus send every AUTH event whose user names a lab to
// that lab alone, whatever lab the connection was in: a lab's user name
// is its id, and a real client authenticates from the shared classroom,
// whose stream everyone may watch. Routing here, where every event
// passes, keeps any publisher from leaking one lab's id to another.
func (b *Bus) RouteAuth(labOf func(user string) (lab string, ok bool)) {
	b.mu.Lock()
	b.labOf = labOf
	b.mu.Unlock()
}

// Subscription receives the events its filter accepts on C.
type Subscription struct {
	C      <-chan Event
	c      chan Event
	filter func(Event) bool
	bus    *Bus
	once   sync.Once
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// Subscribe returns a subscription buffering up to buf events; filter nil
// accepts all. Events that do not fit are dropped and counted, so one stuck
// browser tab cannot stall the relay.
func (b *Bus) Subscribe(buf int, filter func(Event) bool) *Subscription {
	c := make(chan Event, buf)
	s := &Subscription{C: c, c: c, filter: filter, bus: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Close ends the subscription and closes C.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		close(s.c)
		s.bus.mu.Unlock()
	})
}

// Publish delivers e to every matching subscriber without blocking.
func (b *Bus) Publish(e Event) {
	if b == nil {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if e.Kind == Auth && e.User != "" && b.labOf != nil {
		if lab, ok := b.labOf(e.User); ok {
			e.Lab = lab
		}
	}
	if b.observe != nil {
		b.observe(e)
	}
	for s := range b.subs {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			b.dropped.Add(1)
		}
	}
}

// Dropped counts events not delivered because a subscriber was full.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }

// HasSubscribers reports whether anyone listens, so publishers can skip
// building events nobody reads (a hot path under load).
func (b *Bus) HasSubscribers() bool {
	if b == nil {
		return false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs) > 0 || b.observe != nil
}
