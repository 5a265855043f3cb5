package netsim

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/server/world"
)

// Kind is how a connection attempt ends.
type Kind int

const (
	// Connected: a door answers (Outcome.Door), perhaps on another host
	// than the one dialled (Outcome.Intercepted).
	Connected Kind = iota
	// UnknownHost: the world lists no such name, so no packet leaves
	// ("Name or service not known").
	UnknownHost
	// Refused: the network answers the attempt with a reset at once, as
	// a firewall's REJECT does ("Connection refused").
	Refused
	// Closed: the network lets the attempt through but the host has no
	// door on the port; the host's reset reads "Connection refused" too.
	Closed
	// TimedOut: the network swallows the attempt, as a firewall's DROP
	// does; nothing answers until Outcome.Timeout ends.
	TimedOut
)

func (k Kind) String() string {
	switch k {
	case Connected:
		return "connected"
	case UnknownHost:
		return "unknown host"
	case Refused:
		return "refused"
	case Closed:
		return "closed"
	case TimedOut:
		return "timed out"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Outcome is what happens to one connection attempt.
type Outcome struct {
	Kind Kind
	// Host is the host dialled as the world names it (as given, for
	// UnknownHost), and Port its port.
	Host string
	Port int
	// Answering is the host whose Door answers a Connected attempt: the
	// one dialled, or the one that intercepts (then Intercepted is set).
	Answering   *world.Host
	Door        world.Door
	Intercepted bool
	// Source is the address the connection comes from as the answering
	// host sees it: the profile's, or an outside address no relay trusts.
	Source netip.Addr
	// Timeout is how long a TimedOut attempt waits: the profile's drop
	// timeout. A caller may use its own instead.
	Timeout time.Duration
	// Why says in the student's words, in English, what decided, e.g.
	// "home-isp: outbound port 25 is refused (residential ISPs block it
	// against spam)" or "smtp.relay.test has no service on port 465";
	// WhyIn says it in the student's language.
	Why string
	// Effects are what the network does to a Connected connection on the
	// way, in order; Wrap puts them on it.
	Effects []Effect
	// verdict is the profile's, whose rules Why words; its decided is
	// nil for UnknownHost and Closed.
	verdict Verdict
	target  string // the host a Closed attempt found without the door
}

// WhyIn says Why in c's language (nil: English), without the profile's
// name, in at most max bytes (0: no limit): the teacher's reasons and
// the effects (a latency) go, in that order, before the words would be
// cut, so that a WebSocket close reason (123 bytes) never ends in the
// middle of a sentence. Only a sentence that cannot be shorter (one that
// names a very long host) comes back longer than max.
func (o Outcome) WhyIn(c *i18n.Catalog, max int) string {
	switch o.Kind {
	case UnknownHost:
		return c.T("net.unknown-host", o.Host)
	case Closed:
		return c.T("net.no-door", o.target, strconv.Itoa(o.Port))
	}
	s := o.verdict.WhyIn(c, true, true)
	if max > 0 && len(s) > max {
		s = o.verdict.WhyIn(c, true, false)
	}
	if max > 0 && len(s) > max {
		s = o.verdict.WhyIn(c, false, false)
	}
	return s
}

// outside is where a profile's connections come from when it names no
// source: an address no relay trusts (RFC 5737 documentation range).
var outside = netip.MustParseAddr("198.51.100.23")

// Route says what the student's network p and the world w do to a
// connection to host:port, step by step as a real attempt fails: a name
// the world does not list fails before any packet; then p's rules refuse,
// drop, intercept or let it pass; then the host that answers has a door
// on the port or refuses. It is netsim's one entry; it dials nothing.
func Route(w *world.World, p *Profile, host string, port int) Outcome {
	h, ok := w.Host(host)
	if !ok {
		o := Outcome{Kind: UnknownHost, Host: host, Port: port}
		o.Why = o.WhyIn(nil, 0)
		return o
	}
	v := p.decide(h.Name, port)
	o := Outcome{Host: h.Name, Port: port, Source: p.Source, Why: v.Rule, verdict: v}
	if !o.Source.IsValid() {
		o.Source = outside
	}
	switch v.Action {
	case Refuse:
		o.Kind = Refused
		return o
	case Drop:
		o.Kind, o.Timeout = TimedOut, v.Timeout
		return o
	}
	target := h.Name
	if v.Action == Intercept {
		target, o.Intercepted = v.InterceptHost, true
	}
	answering, ok := w.Host(target)
	var d world.Door
	if ok {
		d, ok = answering.Door(port)
	}
	if !ok {
		// Set.CheckHosts keeps an intercepting host in the world; if it
		// is missing all the same, nothing answers there.
		o.Kind, o.target = Closed, target
		o.Why = o.WhyIn(nil, 0)
		return o
	}
	o.Kind, o.Answering, o.Door, o.Effects = Connected, answering, d, v.Effects
	return o
}

// Wrap puts the outcome's effects on server, the connection toward the
// answering door, in order, and returns the connection the client side
// reads and writes.
func (o Outcome) Wrap(server net.Conn) net.Conn {
	for _, e := range o.Effects {
		server = e.Wrap(server)
	}
	return server
}
