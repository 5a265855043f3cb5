package netsim

import (
	"path"
	"slices"
	"strconv"

	"github.com/portlab/portlab/internal/i18n"
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
	// Explain says in the student's words, in c's language (nil:
	// English), what the rule does to host:port, without the teacher's
	// reason: [Target.Words] adds it.
	Explain(c *i18n.Catalog, host string, port int) string
	// target is the rule's Target, which every rule embeds.
	target() *Target
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
	// Becauses are Because in other languages (internal/i18n.Translations),
	// from "because.LANG TEXT" lines under the rule; a language without
	// one shows Because, in English.
	Becauses map[string]string
	Line     int // where the rule is written, for messages
}

func (t *Target) target() *Target { return t }

// BecauseIn is the teacher's reason in lang, or in English when it has
// none in lang.
func (t Target) BecauseIn(lang string) string {
	if b := t.Becauses[lang]; b != "" {
		return b
	}
	return t.Because
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

// Words says what r does to host:port in c's language (nil: English),
// with the teacher's reason in the same language when because is true:
// "outbound port 25 is refused (residential ISPs block it against spam)".
func Words(c *i18n.Catalog, r Rule, host string, port int, because bool) string {
	s := r.Explain(c, host, port)
	if !because {
		return s
	}
	lang := i18n.Default
	if c != nil {
		lang = c.Lang
	}
	if b := r.target().BecauseIn(lang); b != "" {
		s = c.T("net.because", s, b)
	}
	return s
}

// explain words a rule with the catalog message key, or key+"-host"
// when the rule names hosts (then the host follows the port); more are
// the message's further arguments. Numbers go in as text: a port is a
// name, not a quantity to format for the language ("2525", not "2.525").
func (t Target) explain(c *i18n.Catalog, key, host string, port int, more ...any) string {
	args := []any{strconv.Itoa(port)}
	if t.Host != "" {
		key += "-host"
		args = append(args, host)
	}
	return c.T(key, append(args, more...)...)
}

// PassRule lets connections through; it makes the exceptions to a
// broader refuse or drop rule written before it.
type PassRule struct{ Target }

func (r *PassRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Pass, "" }

func (r *PassRule) Explain(c *i18n.Catalog, host string, port int) string {
	return r.explain(c, "net.pass", host, port)
}

// RefuseRule answers a connection attempt with a reset at once, as a
// firewall's REJECT does: the student sees "Connection refused".
type RefuseRule struct{ Target }

func (r *RefuseRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Refuse, "" }

func (r *RefuseRule) Explain(c *i18n.Catalog, host string, port int) string {
	return r.explain(c, "net.refuse", host, port)
}

// DropRule swallows a connection attempt without an answer, as a
// firewall's DROP does: the student's client waits until it times out.
type DropRule struct{ Target }

func (r *DropRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Drop, "" }

func (r *DropRule) Explain(c *i18n.Catalog, host string, port int) string {
	return r.explain(c, "net.drop", host, port)
}

// InterceptRule hands connections to another host, as a transparent SMTP
// proxy on a hotel or guest network does.
type InterceptRule struct {
	Target
	Via string // the world host that answers instead
}

func (r *InterceptRule) Apply(v *Verdict) { v.Action, v.InterceptHost = Intercept, r.Via }

func (r *InterceptRule) Explain(c *i18n.Catalog, host string, port int) string {
	if host == r.Via {
		return c.T("net.intercept-self", strconv.Itoa(port), r.Via)
	}
	return r.explain(c, "net.intercept", host, port, r.Via, host)
}
