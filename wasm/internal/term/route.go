package term

import (
	"strconv"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// Route is the path of the terminal's connection as the route diagram
// draws it: the student's machine, the network profile and what it does
// to this port, the host and its door, and whether the hops are
// encrypted. It is built from the same state changes as the port board
// and the gateway's "connected" message ([tunnel.Info]).
type Route struct {
	Profile string
	Host    string
	Port    int
	State   ConnState
	// Refused says who refused a refused connection.
	Refused scenarios.Refuser
	// Rule, InterceptedBy and Stripped are the gateway's word on the
	// network's effect, once connected.
	Rule          string
	InterceptedBy string
	Stripped      bool
	// Secure is true once TLS is up (after STARTTLS, or at once on 465):
	// every hop carries ciphertext, the network's included.
	Secure bool
	// Reached is true once the connection reached a door.
	Reached bool
}

// NetEffect is what the network does to this port, as a word for the
// diagram's data-effect.
type NetEffect string

// Network effects.
const (
	EffectNone        NetEffect = ""            // nothing tried yet
	EffectTrying      NetEffect = "trying"      // connecting
	EffectPasses      NetEffect = "passes"      // the network lets it through
	EffectRefused     NetEffect = "refused"     // the profile refuses the port
	EffectDropped     NetEffect = "dropped"     // the profile drops it: a time-out
	EffectIntercepted NetEffect = "intercepted" // another server answers
	EffectStripped    NetEffect = "stripped"    // STARTTLS hidden from the client
)

// DoorState is what the diagram shows at the host's end.
type DoorState string

// Door states.
const (
	DoorUnreached DoorState = "unreached" // the connection never got there (or not yet)
	DoorOpen      DoorState = "open"
	DoorSilent    DoorState = "silent" // open, but waiting for TLS (465 in plaintext)
	DoorNone      DoorState = "none"   // the host has no door on this port
	DoorUnknown   DoorState = "unknown"
	DoorClosed    DoorState = "closed" // the connection ended
)

// Effect is the network's effect on this connection.
func (r Route) Effect() NetEffect {
	switch {
	case r.Host == "" || r.State == Idle || r.State == "":
		return EffectNone
	case r.State == Connecting:
		return EffectTrying
	case r.State == Refused && r.Refused != scenarios.RefusedByHost:
		return EffectRefused
	case r.State == TimedOut:
		return EffectDropped
	case r.State == UnknownHost:
		return EffectNone
	case r.InterceptedBy != "":
		return EffectIntercepted
	case r.Stripped:
		return EffectStripped
	}
	return EffectPasses
}

// Door is the state at the host's end.
func (r Route) Door() DoorState {
	switch r.State {
	case Connected, Secure:
		return DoorOpen
	case Silent:
		return DoorSilent
	case Refused:
		if r.Refused == scenarios.RefusedByHost {
			return DoorNone
		}
	case UnknownHost:
		return DoorUnknown
	case Closed:
		if r.Reached {
			return DoorClosed
		}
	}
	return DoorUnreached
}

// profile names the network in the student's words.
func (r Route) profile(c *i18n.Catalog) string {
	if r.Profile == "" {
		return c.T("route.your-network")
	}
	return r.Profile
}

// NetworkLabel is the words under the network box, in c's language.
func (r Route) NetworkLabel(c *i18n.Catalog) string {
	port := strconv.Itoa(r.Port)
	switch r.Effect() {
	case EffectTrying:
		return c.T("route.net.trying", port)
	case EffectPasses:
		return c.T("route.net.passes", port)
	case EffectRefused:
		return c.T("route.net.refused", r.profile(c))
	case EffectDropped:
		return c.T("route.net.dropped", r.profile(c))
	case EffectIntercepted:
		return c.T("route.net.intercepted", r.InterceptedBy)
	case EffectStripped:
		return c.T("route.net.stripped")
	}
	return ""
}

// DoorLabel is the words under the host box, in c's language.
func (r Route) DoorLabel(c *i18n.Catalog) string {
	port := strconv.Itoa(r.Port)
	switch r.Door() {
	case DoorOpen:
		if r.InterceptedBy != "" {
			return c.T("route.door.instead", r.InterceptedBy)
		}
		return c.T("route.door.open", port)
	case DoorSilent:
		return c.T("route.door.silent", port)
	case DoorNone:
		return c.T("route.door.none", r.Host)
	case DoorUnknown:
		return c.T("route.door.unknown")
	case DoorClosed:
		return c.T("route.door.closed")
	}
	if r.Effect() == EffectRefused || r.Effect() == EffectDropped {
		return c.T("route.door.unreached")
	}
	return ""
}

// Sentence is the diagram as one sentence, for a screen reader and as
// the diagram's caption, in c's language (nil: English).
func (r Route) Sentence(c *i18n.Catalog) string {
	p, host, port := r.profile(c), r.Host, strconv.Itoa(r.Port)
	if host == "" || r.State == Idle || r.State == "" {
		if r.Profile == "" {
			return c.T("route.s.none")
		}
		return c.T("route.none", p)
	}
	switch r.State {
	case Connecting:
		return c.T("route.s.connecting", host, port, p)
	case Refused:
		if r.Refused == scenarios.RefusedByHost {
			return c.T("route.s.no-door", p, port, host, port)
		}
		return c.T("route.s.refused", p, port, host)
	case TimedOut:
		return c.T("route.s.dropped", p, port, host)
	case UnknownHost:
		return c.T("route.s.unknown", host)
	}
	var s string
	switch r.Effect() {
	case EffectIntercepted:
		s = c.T("route.s.intercepted", p, port, r.InterceptedBy, host)
	case EffectStripped:
		s = c.T("route.s.stripped", p, port, host)
	default:
		s = c.T("route.s.passes", p, port, host)
	}
	switch {
	case r.State == Closed:
		return c.T("route.s.closed", s)
	case r.Secure:
		return c.T("route.s.secure", s)
	case r.State == Silent:
		return c.T("route.s.silent", s)
	}
	return c.T("route.s.plain", s)
}

// RouteUI is a UI that draws the route diagram; the terminal tells it
// about every change when its UI has this method.
type RouteUI interface {
	Route(Route)
}

// withInfo adds the gateway's "connected" message to the route.
func (r Route) withInfo(i tunnel.Info) Route {
	r.Rule, r.InterceptedBy, r.Stripped, r.Reached = i.Rule, i.InterceptedBy, i.Stripped, true
	if i.Profile != "" {
		r.Profile = i.Profile
	}
	return r
}
