package policy

import (
	"cmp"
	"fmt"
	"io"
	"slices"
)

// ParseLab reads a lab's own copy of the policy (docs/teaching-map.md
// L27): the rules a student may change for their lab alone, checked
// against base, the server's policy. It reports every error it finds
// (up to a screenful), each naming file and line, in line order.
//
// A lab changes its rules, not the server's resources or the world:
//   - the listeners are the server's doors: the same ports and hosts, and
//     the same TLS mode (a door's certificate and its implicit TLS are
//     shared by every lab); their role, AUTH and require-starttls-before-auth
//     are the lab's to change;
//   - limits and accounts are the server's: a directive that sets one to
//     another value is an error, and the lab's policy carries the
//     server's (max-connections and max-connections-per-client, which the
//     server derives from its descriptor budget, are taken as they are).
//
// Domains, relay domains and addresses, trusted networks, unknown
// recipients and the outbound TLS of each destination are the lab's.
func ParseLab(name string, r io.Reader, base *Policy) (*Policy, []*ParseError) {
	p, errs := parse(name, r, true)
	if len(errs) > 0 {
		return nil, errs
	}
	errf := func(line int, format string, args ...any) {
		errs = append(errs, &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	for _, lim := range labLimits {
		line, set := p.at[lim.name]
		if set && lim.get(p.Limits) != lim.get(base.Limits) {
			errf(line, "%s: a lab keeps the server's limits (%v here); a teacher changes them in the server's policy file", lim.name, lim.get(base.Limits))
		}
	}
	for user, pass := range p.Accounts {
		if base.Accounts[user] != pass {
			errf(p.at["account "+user], "account %s: accounts are the server's; your lab has its own (its id and password)", user)
		}
	}
	for _, b := range base.Listeners {
		l, ok := p.Listener(b.Port)
		switch {
		case !ok:
			errf(max(p.end, 1), "listener %d is missing: a lab changes a door's rules but cannot close it", b.Port)
		case l.Host != b.Host:
			errf(l.Line, "listener %d: its host is the server's (%s): the world's doors are shared", b.Port, b.Host)
		case l.TLS != b.TLS:
			errf(l.Line, "listener %d: its tls is the server's (%s): the door's certificate and handshake are shared by every lab", b.Port, b.TLS)
		}
	}
	for _, l := range p.Listeners {
		if _, ok := base.Listener(l.Port); !ok {
			errf(l.Line, "listener %d: this sandbox has no such door (a lab cannot open a port)", l.Port)
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *ParseError) int { return cmp.Compare(a.Line, b.Line) })
		return nil, errs[:min(len(errs), maxErrors)]
	}
	p.Limits, p.Accounts = base.Limits, base.Accounts
	return p, nil
}

// labLimits are the limit directives a lab may write only with the
// server's value (so the server's own file, copied, passes as it is).
var labLimits = []struct {
	name string
	get  func(Limits) any
}{
	{"max-message-size", func(l Limits) any { return l.MaxMessageBytes }},
	{"max-recipients", func(l Limits) any { return l.MaxRecipients }},
	{"max-line-length", func(l Limits) any { return l.MaxLineLength }},
	{"idle-timeout", func(l Limits) any { return l.IdleTimeout }},
	{"max-errors", func(l Limits) any { return l.MaxErrors }},
	{"max-auth-failures-per-client", func(l Limits) any { return l.MaxAuthFailures }},
	{"auth-failure-window", func(l Limits) any { return l.AuthFailureWindow }},
	{"mailbox-size", func(l Limits) any { return l.MailboxSize }},
}
