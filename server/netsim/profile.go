package netsim

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/server/world"
)

// Action is what the network does with a connection attempt.
type Action int

const (
	// Pass lets the connection reach the host that was dialled.
	Pass Action = iota
	// Refuse answers at once with a reset: "Connection refused".
	Refuse
	// Drop swallows the connection attempt: nothing comes back, and the
	// client gives up when its timeout ends.
	Drop
	// Intercept hands the connection to another host, as a transparent
	// proxy does: the student dialled one host and another one answers.
	Intercept
)

func (a Action) String() string {
	switch a {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case Drop:
		return "drop"
	case Intercept:
		return "intercept"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// DefaultDropTimeout is how long a dropped connection takes to time out
// when the profile does not say. Real clients wait a minute or more; a
// lesson needs the point made in seconds.
const DefaultDropTimeout = 5 * time.Second

// Verdict is what a profile does to one connection, before the world is
// asked who answers; Route turns it into an Outcome.
type Verdict struct {
	Action Action
	// InterceptHost is the world host that answers instead, for Intercept.
	InterceptHost string
	// Effects are what the network does on the way, in the order their
	// rules first matched (see Effect). A refused or dropped connection
	// keeps only those that touch the attempt itself (latency).
	Effects []Effect
	// Timeout is how long a Drop takes to fail: the profile's drop
	// timeout. A caller may use its own instead.
	Timeout time.Duration
	// Rule says in the student's words, in English, which rules decided,
	// e.g. "home-isp: outbound port 25 is refused (residential ISPs block
	// it against spam)"; [Verdict.WhyIn] says it in another language.
	Rule string
	// decided are the rules Rule words, in its order: the action rule
	// that won (nil when none matched), then the effects kept.
	decided []Rule
	host    string
	port    int
}

// WhyIn says which rules decided in c's language (nil: English), without
// the profile's name: the rules' words joined by "; ", with the
// teacher's reasons when because is true and effects when effects is.
func (v Verdict) WhyIn(c *i18n.Catalog, because, effects bool) string {
	var text []string
	for i, r := range v.decided {
		switch {
		case i > 0 && !effects:
		case r == nil:
			text = append(text, c.T("net.open", strconv.Itoa(v.port)))
		default:
			text = append(text, Words(c, r, v.host, v.port, because))
		}
	}
	return strings.Join(text, "; ")
}

// Profile is one kind of network a student can be on.
type Profile struct {
	Name  string // what scenarios and the UI call it, e.g. "home-isp"
	Title string // e.g. "Home ISP"
	// Titles are the title in other languages (internal/i18n.Translations),
	// from "title.LANG \"Title\"" lines; a language without one shows
	// Title, in English.
	Titles      map[string]string
	Description string
	// Descriptions are the description in other languages
	// (internal/i18n.Translations), from "describe.LANG TEXT" lines; a
	// language without one shows Description, in English.
	Descriptions map[string]string
	Rules        []Rule
	// DropTimeout is how long a dropped connection takes to time out;
	// zero means DefaultDropTimeout.
	DropTimeout time.Duration
	// Source is the address the student's connections appear to come
	// from on this network, as the relay sees it (its trusted networks
	// decide relaying by it). Invalid: an outside address.
	Source netip.Addr
	Line   int // where the profile is defined, for messages
}

// decide says what the profile does to a connection to host:port.
//
// Every rule that matches applies, in file order. For the action (pass,
// refuse, drop, intercept) the last matching rule wins, like a .gitignore
// file: write the general rule first and the exceptions after it. Effects
// (strip-starttls, latency, ...) add to the verdict, so two latencies add
// up (to at most MaxLatency). A refused or dropped connection carries no
// effect on bytes, such as STARTTLS stripping, since no byte of it
// crosses the network.
func (p *Profile) decide(host string, port int) Verdict {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	v := Verdict{Action: Pass, host: host, port: port}
	var action Rule // the last action rule that matched
	var effects []Effect
	for _, r := range p.Rules {
		if !r.Match(host, port) {
			continue
		}
		r.Apply(&v)
		if e, ok := r.(Effect); ok {
			effects = append(effects, e)
		} else {
			action = r
		}
	}
	blocked := v.Action == Refuse || v.Action == Drop
	if blocked {
		v.Effects = slices.DeleteFunc(v.Effects, func(e Effect) bool { return !touchesAttempt(e) })
	}
	if v.Action == Drop {
		v.Timeout = p.DropTimeout
		if v.Timeout == 0 {
			v.Timeout = DefaultDropTimeout
		}
	}
	v.decided = []Rule{action}
	for _, e := range effects {
		if blocked && !touchesAttempt(e) {
			continue
		}
		v.decided = append(v.decided, e)
	}
	v.Rule = p.Name + ": " + v.WhyIn(nil, true, true)
	return v
}

// Set is the profiles of one file, in file order.
type Set struct {
	file        string
	profiles    []*Profile
	byName      map[string]*Profile
	defaultName string
}

// DefaultProfile is the profile a new lab starts with: the file's
// "default NAME" line, else its first profile.
func (s *Set) DefaultProfile() string {
	if s.defaultName != "" {
		return s.defaultName
	}
	if len(s.profiles) > 0 {
		return s.profiles[0].Name
	}
	return ""
}

// Profile finds a profile by name, ignoring case.
func (s *Set) Profile(name string) (*Profile, bool) {
	p, ok := s.byName[strings.ToLower(name)]
	return p, ok
}

// Names lists the profiles' names in file order, the order a menu shows.
func (s *Set) Names() []string {
	names := make([]string, len(s.profiles))
	for i, p := range s.profiles {
		names[i] = p.Name
	}
	return names
}

// Profiles returns the profiles in file order. They are shared: do not
// modify them.
func (s *Set) Profiles() []*Profile {
	return append([]*Profile(nil), s.profiles...)
}

// CheckHosts reports the first rule that intercepts to a host w does not
// list, as a *ParseError pointing at the rule, so that a teacher learns
// about the typo when the server starts rather than when a student hits it.
func (s *Set) CheckHosts(w *world.World) error {
	for _, p := range s.profiles {
		for _, r := range p.Rules {
			if ir, ok := r.(*InterceptRule); ok {
				if _, ok := w.Host(ir.Via); !ok {
					return &ParseError{File: s.file, Line: ir.Line, Msg: fmt.Sprintf("profile %s intercepts to %s, which the world does not list", p.Name, ir.Via)}
				}
			}
		}
	}
	return nil
}

//go:embed default.profiles
var defaultText []byte

// DefaultText returns the embedded default.profiles, for a teacher who
// wants a starting point for their own file.
func DefaultText() string { return string(defaultText) }

// Default returns the profiles of the embedded default.profiles. A test
// keeps the file valid, so Default never fails at run time.
func Default() *Set {
	s, err := Parse("default.profiles", bytes.NewReader(defaultText))
	if err != nil {
		panic("netsim: embedded default.profiles is broken: " + err.Error())
	}
	return s
}

// Load reads a profiles file from disk.
func Load(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}
