package relay

import (
	"net/netip"
	"time"

	"github.com/portlab/portlab/server/events"
)

// tap publishes one connection's events, the transcripts and lesson
// checks read, on the lab the connection belongs to.
type tap struct {
	bus    *events.Bus
	now    func() time.Time
	conn   uint64
	host   string
	port   int
	client netip.Addr
	home   string // the connection's own lab ("" for the classroom)
	authed string // the lab an AUTH user named, if any
	secure bool   // TLS is up
}

// lab is where this connection's mail and events belong: an AUTH user that
// names a lab moves a real client's session there.
func (t *tap) lab() string {
	switch {
	case t.authed != "":
		return t.authed
	case t.home != "":
		return t.home
	}
	return DefaultLab
}

// moveTo sends the rest of the connection's events (and mail) to lab.
func (t *tap) moveTo(lab string) { t.authed = lab }

func (t *tap) event(kind events.Kind, text string) {
	t.publish(events.Event{Kind: kind, Text: text})
}

func (t *tap) publish(e events.Event) {
	if !t.bus.HasSubscribers() {
		return
	}
	e.Time = t.now()
	e.Lab = t.lab()
	e.Conn = t.conn
	e.Host = t.host
	e.Port = t.port
	if t.client.IsValid() {
		e.Client = t.client.String()
	}
	if t.secure {
		e.Secure = true
	}
	t.bus.Publish(e)
}
