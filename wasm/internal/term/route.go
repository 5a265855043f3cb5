package term

import (
	"fmt"
	"strconv"

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
func (r Route) profile() string {
	if r.Profile == "" {
		return "your network"
	}
	return r.Profile
}

// NetworkLabel is the words under the network box.
func (r Route) NetworkLabel() string {
	switch r.Effect() {
	case EffectTrying:
		return "trying port " + strconv.Itoa(r.Port) + "…"
	case EffectPasses:
		return "passes port " + strconv.Itoa(r.Port)
	case EffectRefused:
		return "refused by " + r.profile()
	case EffectDropped:
		return "dropped by " + r.profile()
	case EffectIntercepted:
		return "intercepted by " + r.InterceptedBy
	case EffectStripped:
		return "STARTTLS stripped to XXXXXXXX"
	}
	return ""
}

// DoorLabel is the words under the host box.
func (r Route) DoorLabel() string {
	switch r.Door() {
	case DoorOpen:
		if r.InterceptedBy != "" {
			return r.InterceptedBy + " answers instead"
		}
		return "door " + strconv.Itoa(r.Port) + " open"
	case DoorSilent:
		return "door " + strconv.Itoa(r.Port) + " open, silent"
	case DoorNone:
		return "no door on " + r.Host
	case DoorUnknown:
		return "not in the world"
	case DoorClosed:
		return "connection closed"
	}
	if r.Effect() == EffectRefused || r.Effect() == EffectDropped {
		return "never reached"
	}
	return ""
}

// Sentence is the diagram as one sentence, for a screen reader and as
// the diagram's caption.
func (r Route) Sentence() string {
	p, host, port := r.profile(), r.Host, r.Port
	if host == "" || r.State == Idle || r.State == "" {
		if r.Profile == "" {
			return "No connection yet."
		}
		return fmt.Sprintf("No connection yet: connections cross the %s network.", p)
	}
	switch r.State {
	case Connecting:
		return fmt.Sprintf("Connecting to %s port %d through %s.", host, port, p)
	case Refused:
		if r.Refused == scenarios.RefusedByHost {
			return fmt.Sprintf("%s lets port %d through, but %s has no door on port %d: the host refuses it.", p, port, host, port)
		}
		return fmt.Sprintf("%s refuses outbound port %d before it reaches %s.", p, port, host)
	case TimedOut:
		return fmt.Sprintf("%s drops port %d: nothing reaches %s, and the connection times out.", p, port, host)
	case UnknownHost:
		return fmt.Sprintf("%s is not a host of the sandbox's world: nothing was dialled.", host)
	}
	var s string
	switch r.Effect() {
	case EffectIntercepted:
		s = fmt.Sprintf("%s intercepts port %d: %s answers instead of %s", p, port, r.InterceptedBy, host)
	case EffectStripped:
		s = fmt.Sprintf("%s passes port %d to %s but strips STARTTLS from the server's list (it reads XXXXXXXX)", p, port, host)
	default:
		s = fmt.Sprintf("%s passes port %d to %s", p, port, host)
	}
	switch {
	case r.State == Closed:
		return s + "; the connection is closed."
	case r.Secure:
		return s + "; every hop is encrypted with TLS."
	case r.State == Silent:
		return s + "; the server is silent, waiting for TLS."
	}
	return s + "; nothing is encrypted yet."
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
