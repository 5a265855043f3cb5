package netsim

import (
	"fmt"
	"path"
	"slices"
)

// Rule is one fault of a network, in the spirit of toxiproxy's toxics:
// a small value that says which connections it touches and what it does
// to them. Route applies every matching rule in order. An action rule
// (pass, refuse, drop, intercept) decides whether and where a connection
// goes; an [Effect] acts on a connection that goes.
type Rule interface {
	// Match reports whether the rule applies to a connection to
	// host:port. host is lower case, without a trailing dot.
	Match(host string, port int) bool
	// Apply changes the verdict: an action rule sets v.Action and what
	// belongs to it; an Effect adds itself to v.Effects.
	Apply(v *Verdict)
	// Explain says in the student's words what the rule does to
	// host:port, for Verdict.Rule.
	Explain(host string, port int) string
}

// Compile-time checks that each action is a rule; each Effect's file
// checks its own.
var (
	_ Rule = (*PassRule)(nil)
	_ Rule = (*RefuseRule)(nil)
	_ Rule = (*DropRule)(nil)
	_ Rule = (*InterceptRule)(nil)
)

// Target says which connections a rule applies to, and why.
type Target struct {
	Ports []int  // nil: every port
	Host  string // a path.Match glob on the lower-case host name; "": every host
	// Because is the teacher's reason, shown to the student after the
	// rule's own explanation.
	Because string
	Line    int // where the rule is written, for messages
}

// Match reports whether host:port is one of the target's.
func (t Target) Match(host string, port int) bool {
	if t.Ports != nil && !slices.Contains(t.Ports, port) {
		return false
	}
	if t.Host == "" {
		return true
	}
	ok, err := path.Match(t.Host, host)
	return ok && err == nil
}

// explain builds "outbound port 25 to mx.example.org is refused (reason)".
func (t Target) explain(host string, port int, what string) string {
	s := fmt.Sprintf("port %d", port)
	if t.Host != "" {
		s += " to " + host
	}
	s += " " + what
	if t.Because != "" {
		s += " (" + t.Because + ")"
	}
	return s
}

// PassRule lets connections through; it makes the exceptions to a
// broader refuse or drop rule written before it.
type PassRule struct{ Target }

func (r *PassRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Pass, "" }

func (r *PassRule) Explain(host string, port int) string {
	return r.explain(host, port, "is allowed")
}

// RefuseRule answers a connection attempt with a reset at once, as a
// firewall's REJECT does: the student sees "Connection refused".
type RefuseRule struct{ Target }

func (r *RefuseRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Refuse, "" }

func (r *RefuseRule) Explain(host string, port int) string {
	return "outbound " + r.explain(host, port, "is refused")
}

// DropRule swallows a connection attempt without an answer, as a
// firewall's DROP does: the student's client waits until it times out.
type DropRule struct{ Target }

func (r *DropRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Drop, "" }

func (r *DropRule) Explain(host string, port int) string {
	return "outbound " + r.explain(host, port, "is dropped: nothing answers until the connection times out")
}

// InterceptRule hands connections to another host, as a transparent SMTP
// proxy on a hotel or guest network does.
type InterceptRule struct {
	Target
	Via string // the world host that answers instead
}

func (r *InterceptRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Intercept, r.Via }

func (r *InterceptRule) Explain(host string, port int) string {
	if host == r.Via {
		return r.explain(host, port, "is intercepted by "+r.Via)
	}
	return r.explain(host, port, fmt.Sprintf("is intercepted: %s answers instead of %s", r.Via, host))
}
