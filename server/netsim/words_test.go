package netsim

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/server/world"
)

// ruleLine is a rule line of each directive, with a host or without, for
// the word tests: every row of ruleDirectives is covered.
func ruleLine(name string, host bool) string {
	args := map[string]string{"latency": " 40ms", "reset-after": " 2048"}[name]
	line := name + args + " port 25"
	if host {
		line += " host mx.example.org"
	}
	if name == "intercept" {
		line += " via smtp.hotel-wifi.test"
	}
	return line
}

// TestRuleWordsInEveryLanguage: every kind of rule, and the outcomes no
// rule words (nothing blocks, no door, unknown host), reads in every page
// language in that language's own words: a catalog that lacks a net.*
// key shows English, and fails here.
func TestRuleWordsInEveryLanguage(t *testing.T) {
	for _, lang := range i18n.Translations {
		c := locales.Catalog(lang)
		check := func(what, english, got string) {
			t.Helper()
			if got == english || strings.Contains(got, "net.") || strings.Contains(got, "%!") {
				t.Errorf("%s: %s in %s reads %q (English %q)", lang, what, lang, got, english)
			}
		}
		for _, row := range ruleDirectives {
			for _, host := range []bool{false, true} {
				line := ruleLine(row.name, host)
				s, err := Parse("x.profiles", strings.NewReader("profile x\n  "+line+"\n"))
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				r := s.profiles[0].Rules[0]
				for _, dialled := range []string{"mx.example.org", "smtp.hotel-wifi.test"} {
					check(line+" to "+dialled, r.Explain(nil, dialled, 25), r.Explain(c, dialled, 25))
				}
			}
		}
		for _, o := range []Outcome{
			{Kind: Connected, Port: 25, verdict: Verdict{decided: []Rule{nil}, port: 25}},
			{Kind: Closed, Host: "smtp.relay.test", Port: 465, target: "smtp.relay.test"},
			{Kind: UnknownHost, Host: "nowhere.test", Port: 25},
		} {
			check(o.Kind.String(), o.WhyIn(nil, 0), o.WhyIn(c, 0))
		}
	}
}

// TestDefaultBecausesTranslated keeps the teacher's reason of every
// built-in rule in every page language, as TestDefaultDescriptionsTranslated
// does the profiles' descriptions.
func TestDefaultBecausesTranslated(t *testing.T) {
	n := 0
	for _, p := range Default().Profiles() {
		for _, r := range p.Rules {
			tg := r.target()
			if tg.Because == "" {
				continue
			}
			n++
			for _, lang := range i18n.Translations {
				if b := tg.Becauses[lang]; b == "" || b == tg.Because {
					t.Errorf("profile %s, line %d: no because.%s", p.Name, tg.Line, lang)
				}
			}
		}
	}
	if n < 7 {
		t.Errorf("%d built-in rules with a because, want at least 7", n)
	}
}

// TestWhyInLanguage: the student's language words the rule and gives the
// teacher's reason in it; English stays the same as Why.
func TestWhyInLanguage(t *testing.T) {
	w, set := world.Default(), Default()
	o := Route(w, mustProfile(t, set, "home-isp"), "mx.sandbox.test", 25)
	if got, want := o.WhyIn(locales.Catalog("de"), 0), "ausgehende Verbindungen auf Port 25 werden abgewiesen (private Internetanbieter sperren ihn gegen Spam)"; got != want {
		t.Errorf("home-isp 25 in German = %q, want %q", got, want)
	}
	if got := "home-isp: " + o.WhyIn(nil, 0); got != o.Why {
		t.Errorf("English WhyIn %q, Why %q", got, o.Why)
	}
	o = Route(w, mustProfile(t, set, "hotel-wifi"), "smtp.relay.test", 587)
	if got, want := o.WhyIn(locales.Catalog("it"), 0), "in questa rete nulla blocca la porta 587; la porta 587 attraversa un apparato intermedio che toglie STARTTLS, quindi la sessione resta in chiaro (un apparato intermedio riscrive l'elenco delle funzionalità del server per declassare la connessione); 40ms di latenza aggiunta (il Wi-Fi condiviso è lento)"; got != want {
		t.Errorf("hotel-wifi 587 in Italian = %q, want %q", got, want)
	}
}

// TestWhyInFitsCloseReason: what a failed connection's close frame says
// (at most 123 bytes, RFC 6455 §5.5) is whole for every built-in profile,
// host and port in every language; a reason too long for it loses the
// effects, then the teacher's reasons, but is never cut.
func TestWhyInFitsCloseReason(t *testing.T) {
	const max = 123
	w, set := world.Default(), Default()
	for _, lang := range i18n.Languages {
		c := locales.Catalog(lang)
		for _, p := range set.Profiles() {
			for _, h := range w.Hosts() {
				for _, port := range []int{25, 465, 587, 2525} {
					o := Route(w, p, h.Name, port)
					if o.Kind == Connected {
						continue
					}
					if got, full := o.WhyIn(c, max), o.WhyIn(c, 0); got != full || len(got) > max {
						t.Errorf("%s %s %s:%d: %d bytes %q, whole %q", lang, p.Name, h.Name, port, len(got), got, full)
					}
				}
			}
		}
	}

	long := strings.TrimSpace(strings.Repeat("a long reason ", 8))
	s, err := Parse("x.profiles", strings.NewReader(fmt.Sprintf("profile x\n  refuse port 25 because %s\n  latency 40ms because %s\n", long, long)))
	if err != nil {
		t.Fatal(err)
	}
	o := Route(w, s.profiles[0], "mx.sandbox.test", 25)
	if got, want := o.WhyIn(nil, max), "outbound port 25 is refused"; got != want {
		t.Errorf("a long reason in %d bytes: %q, want %q", max, got, want)
	}
	if got := o.WhyIn(nil, 200); !strings.HasSuffix(got, long+")") || strings.Contains(got, "latency") {
		t.Errorf("in 200 bytes: %q, want the reason without the latency", got)
	}
}

// TestBecauseIn: because.LANG lines translate the rule above them and
// join up; a language without one shows the English reason.
func TestBecauseIn(t *testing.T) {
	s, err := Parse("x.profiles", strings.NewReader("profile x\n  refuse port 25 because no mail from home\n    because.de keine Mail\n    because.de von zu Hause\n  pass port 587 because open\n    because.it aperta\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := s.profiles[0].Rules
	if got := r[0].target().BecauseIn("de"); got != "keine Mail von zu Hause" {
		t.Errorf("because.de = %q", got)
	}
	if got := r[0].target().BecauseIn("it"); got != "no mail from home" {
		t.Errorf("no because.it: %q, want the English", got)
	}
	if got := r[1].target().BecauseIn("it"); got != "aperta" {
		t.Errorf("second rule's because.it = %q", got)
	}
	for _, tt := range []struct{ text, msg string }{
		{"profile a\n because.de x\n", "before any rule"},
		{"profile a\n refuse port 25\n because.de x\n", "without because"},
		{"profile a\n refuse port 25 because x\n because.fr y\n", "want a language of"},
		{"profile a\n refuse port 25 because x\n because.en y\n", "own because is English"},
		{"profile a\n refuse port 25 because x\n because.de\n", "want: because.de TEXT"},
		{"because.de x\n", "before any rule"},
	} {
		_, err := Parse("x.profiles", strings.NewReader(tt.text))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, tt.msg) {
			t.Errorf("%q: error %v, want ...%s...", tt.text, err, tt.msg)
		}
	}
}
