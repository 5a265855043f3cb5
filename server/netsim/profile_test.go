package netsim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/server/world"
)

// short writes a verdict as one matrix cell: the action, then "via HOST",
// "strip", "+latency" and "timeout" where they apply.
func short(v Verdict) string {
	s := v.Action.String()
	if v.InterceptHost != "" {
		s += " via " + v.InterceptHost
	}
	if slices.ContainsFunc(v.Effects, isStrip) {
		s += " strip"
	}
	if l := latency(v); l != 0 {
		s += " +" + l.String()
	}
	if v.Timeout != 0 {
		s += " after " + v.Timeout.String()
	}
	return s
}

// latency is the verdict's added delay.
func latency(v Verdict) time.Duration {
	var d time.Duration
	for _, e := range v.Effects {
		if l, ok := e.(*LatencyRule); ok {
			d += l.Latency
		}
	}
	return d
}

// TestDefaultMatrix is the key check of the default profiles: every
// profile, every lesson port, on every default host.
func TestDefaultMatrix(t *testing.T) {
	ports := []int{25, 465, 587, 2525, 143, 993, 110, 995}
	const (
		pass  = "pass"
		ref   = "refuse"
		drop  = "drop after 5s"
		hotel = "pass +40ms"
	)
	matrix := []struct {
		profile string
		want    [8]string // in the order of ports
	}{
		{"datacenter", [8]string{pass, pass, pass, pass, pass, pass, pass, pass}},
		{"other-datacenter", [8]string{pass, pass, pass, pass, pass, pass, pass, pass}},
		{"home-isp", [8]string{ref, pass, pass, pass, pass, pass, pass, pass}},
		{"cloud-vm", [8]string{drop, drop, drop, pass, pass, pass, pass, pass}},
		{"corporate", [8]string{ref, ref, pass, ref, ref, ref, ref, ref}},
		{"hotel-wifi", [8]string{"intercept via smtp.hotel-wifi.test +40ms", hotel, "pass strip +40ms", hotel, hotel, hotel, hotel, hotel}},
	}
	set := Default()
	var names []string
	for _, row := range matrix {
		names = append(names, row.profile)
	}
	if got := set.Names(); !slices.Equal(got, names) {
		t.Fatalf("Names() = %v, want %v (file order)", got, names)
	}
	if src := mustProfile(t, set, "datacenter").Source.String(); src != "10.0.5.20" {
		t.Errorf("datacenter source = %s, want the relay's trusted 10.0.5.20", src)
	}
	if src := mustProfile(t, set, "other-datacenter").Source; !src.IsValid() || src.String() == "10.0.5.20" {
		t.Errorf("other-datacenter source = %v, want an untrusted address", src)
	}
	hosts := world.Default().Hosts()
	for _, row := range matrix {
		p, ok := set.Profile(row.profile)
		if !ok {
			t.Fatalf("no profile %s", row.profile)
		}
		for i, port := range ports {
			for _, h := range hosts {
				v := p.decide(h.Name, port)
				if got := short(v); got != row.want[i] {
					t.Errorf("%s: %s:%d = %q, want %q (%s)", row.profile, h.Name, port, got, row.want[i], v.Rule)
				}
				if !strings.HasPrefix(v.Rule, row.profile+": ") || !strings.Contains(v.Rule, fmt.Sprintf("port %d", port)) {
					t.Errorf("%s: %s:%d: Rule %q does not say profile and port", row.profile, h.Name, port, v.Rule)
				}
			}
		}
	}
}

func TestDefaultRuleTexts(t *testing.T) {
	set := Default()
	tests := []struct {
		profile, host string
		port          int
		want          string
	}{
		{"home-isp", "mx.example.org", 25, "home-isp: outbound port 25 is refused (residential ISPs block it against spam)"},
		{"datacenter", "mx.example.org", 25, "datacenter: nothing on this network blocks port 25"},
		{"cloud-vm", "smtp.relay.test", 587, "cloud-vm: outbound port 587 is dropped (the provider blocks mail ports to stop spam from its VMs)"},
		{"corporate", "smtp.relay.test", 2525, "corporate: outbound port 2525 is refused (the firewall refuses everything IT did not open)"},
		{"corporate", "smtp.relay.test", 587, "corporate: port 587 is allowed (IT opened submission for the mail clients)"},
		{"hotel-wifi", "mx.example.org", 25, "hotel-wifi: port 25 is intercepted: smtp.hotel-wifi.test answers instead of mx.example.org (the hotel redirects all port-25 traffic to its own server); 40ms of added latency (the shared Wi-Fi is slow)"},
		{"hotel-wifi", "smtp.relay.test", 587, "hotel-wifi: nothing on this network blocks port 587; port 587 passes a middlebox that strips STARTTLS, so the session stays unencrypted (a downgrade middlebox rewrites the server's capability list); 40ms of added latency (the shared Wi-Fi is slow)"},
	}
	for _, tt := range tests {
		p, _ := set.Profile(tt.profile)
		if got := p.decide(tt.host, tt.port).Rule; got != tt.want {
			t.Errorf("%s %s:%d Rule =\n%q, want\n%q", tt.profile, tt.host, tt.port, got, tt.want)
		}
	}
	for _, p := range set.Profiles() {
		if p.Title == "" || p.Description == "" || p.Line < 1 {
			t.Errorf("profile %s lacks a title, a description or a line", p.Name)
		}
	}
}

func TestDefaultInterceptsExist(t *testing.T) {
	if err := Default().CheckHosts(world.Default()); err != nil {
		t.Fatal(err)
	}
	s, err := Parse("p", strings.NewReader("profile x\n\n  intercept port 25 via mx.typo.test\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckHosts(world.Default())
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || !strings.Contains(pe.Msg, "mx.typo.test") {
		t.Errorf("CheckHosts = %v, want p:3 naming mx.typo.test", err)
	}
}

func TestDecideSemantics(t *testing.T) {
	text := `# a comment
profile Test "A \"test\" network"   # trailing comment
  describe First line,
  describe second line.
  describe.de Erste Zeile,
  describe.DE zweite Zeile.
  drop-timeout 1m
  drop
  pass ports 25, 465 587
  refuse port 25 host *.example.org because remote MXs are off limits
  intercept port 2525 host smtp.relay.test. via MX.Sandbox.Test.
  latency 40ms
  latency 60ms port 25
  strip-starttls port 25,587
profile empty
`
	s, err := Parse("t", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := s.Profile("TEST")
	if !ok {
		t.Fatal("profile test not found")
	}
	if p.Title != `A "test" network` || p.Description != "First line, second line." || p.DropTimeout != time.Minute || p.Line != 2 {
		t.Errorf("profile = %+v", p)
	}
	if got := p.Descriptions["de"]; got != "Erste Zeile, zweite Zeile." {
		t.Errorf("describe.de = %q", got)
	}
	if _, ok := p.Descriptions["es"]; ok {
		t.Error("a description in es, which the file does not give")
	}
	tests := []struct {
		host string
		port int
		want string
	}{
		{"mx.sandbox.test", 25, "pass strip +100ms"},      // pass wins over the earlier drop; latencies add up
		{"mx.example.org", 25, "refuse +100ms"},           // the later refuse wins; no strip on a refused connection
		{"MX.EXAMPLE.ORG.", 25, "refuse +100ms"},          // names are case-insensitive
		{"mx.sandbox.test", 587, "pass strip +40ms"},      // "25, 465 587" is one list
		{"mx.sandbox.test", 110, "drop +40ms after 1m0s"}, // only the drop decides 110
		{"smtp.relay.test", 2525, "intercept via mx.sandbox.test +40ms"},
		{"mx.sandbox.test", 2525, "drop +40ms after 1m0s"},
	}
	for _, tt := range tests {
		if got := short(p.decide(tt.host, tt.port)); got != tt.want {
			t.Errorf("Decide(%s, %d) = %q, want %q", tt.host, tt.port, got, tt.want)
		}
	}
	if got := p.decide("mx.example.org", 25).Rule; got != "test: outbound port 25 to mx.example.org is refused (remote MXs are off limits); 40ms of added latency; 60ms of added latency" {
		t.Errorf("Rule = %q", got)
	}
	e, _ := s.Profile("empty")
	if got := e.decide("a.test", 25); got.Action != Pass || got.InterceptHost != "" || got.Effects != nil || got.Timeout != 0 || got.Rule != "empty: nothing on this network blocks port 25" {
		t.Errorf("empty profile: %+v", got)
	}
}

func TestLatencyIsBounded(t *testing.T) {
	s, err := Parse("t", strings.NewReader("profile slow\n latency 10s\n latency 10s\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Profile("slow")
	if v := p.decide("a.test", 25); latency(v) != MaxLatency {
		t.Errorf("Latency = %v, want %v", latency(v), MaxLatency)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"rule before profile", "\nrefuse port 25\n", 2, "before any profile"},
		{"describe before profile", "describe hi\n", 1, "before any profile"},
		{"describe.LANG before profile", "describe.de hallo\n", 1, "before any profile"},
		{"describe in an unknown language", "profile a\n describe.fr salut\n", 2, "want a language of"},
		{"describe.en", "profile a\n describe.en hi\n", 2, "describe alone is English"},
		{"unknown directive", "profile a\n  block port 25\n", 2, `unknown directive "block"`},
		{"duplicate profile", "profile a\nprofile b\nprofile A\n", 3, "already defined at line 1"},
		{"bad profile name", "profile 1st\n", 1, "bad profile name"},
		{"port zero", "profile a\n refuse port 0\n", 2, `"0" is not a port number`},
		{"port too big", "profile a\n refuse ports 25,65536\n", 2, `"65536" is not a port number`},
		{"port word", "profile a\n refuse port smtp\n", 2, `"smtp" is not a port number`},
		{"port missing", "profile a\n refuse port\n", 2, "port needs a number"},
		{"unknown field", "profile a\n refuse port 25 hots x.test\n", 2, `unknown field "hots" in a refuse rule`},
		{"via on refuse", "profile a\n refuse port 25 via x.test\n", 2, `unknown field "via"`},
		{"intercept without via", "profile a\n intercept port 25\n", 2, "needs via HOST"},
		{"intercept via ip", "profile a\n intercept port 25 via 10.0.0.1\n", 2, "IP literal"},
		{"intercept via localhost", "profile a\n intercept port 25 via localhost\n", 2, "local machine"},
		{"field twice", "profile a\n refuse port 25 port 26\n", 2, "port is given twice"},
		{"bad glob", "profile a\n refuse host [a\n", 2, "bad host glob"},
		{"glob characters", "profile a\n refuse host a/b\n", 2, "may hold only"},
		{"bad duration", "profile a\n latency 40\n", 2, `"40" is not a duration`},
		{"negative latency", "profile a\n latency -1s\n", 2, "not between 0 and 10s"},
		{"huge latency", "profile a\n latency 1h\n", 2, "not between"},
		{"latency missing", "profile a\n latency\n", 2, "want: latency DURATION"},
		{"bad drop-timeout", "profile a\n drop-timeout forever\n", 2, "drop-timeout"},
		{"because without reason", "profile a\n refuse because\n", 2, "needs a reason"},
		{"unquoted title", "profile a Home\n", 1, "double quotes"},
		{"unterminated", "profile a \"Home\n", 1, "unterminated"},
		{"title.LANG unquoted", "profile a\n title.de Heim\n", 2, "double quotes"},
		{"title.LANG unknown language", "profile a\n title.xx \"A\"\n", 2, "want a language of"},
		{"title.LANG twice", "profile a\n title.de \"A\"\n title.de \"B\"\n", 3, "already given"},
		{"title.LANG before profile", "title.de \"A\"\n", 1, "before any profile"},
		{"control characters", "profile a\n describe a\x07b\n", 2, "control characters"},
		{"long line", "profile a\n describe " + strings.Repeat("x", 5000) + "\n", 2, "longer than"},
		{"invalid utf-8", "profile a \"\xff\"\n", 1, "UTF-8"},
		{"default unknown", "default b\nprofile a\n", 1, `default: no profile "b"`},
		{"default twice", "default a\ndefault a\nprofile a\n", 2, "want one line: default NAME"},
		{"default without name", "profile a\ndefault\n", 2, "want one line: default NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.profiles", strings.NewReader(tt.text))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want a *ParseError", err)
			}
			if pe.File != "x.profiles" || pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Parse error = %q, want x.profiles:%d: ...%s...", err, tt.line, tt.msg)
			}
		})
	}
}

// The profile a new lab starts with is data in the profiles file.
func TestDefaultProfile(t *testing.T) {
	if got := Default().DefaultProfile(); got != "home-isp" {
		t.Errorf("default.profiles: DefaultProfile = %q, want home-isp", got)
	}
	for _, tt := range []struct{ text, want string }{
		{"profile a\nprofile b\n", "a"},
		{"profile a\ndefault B\nprofile b\n", "b"},
		{"default b\nprofile a\nprofile b\n", "b"},
	} {
		s, err := Parse("x.profiles", strings.NewReader(tt.text))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.DefaultProfile(); got != tt.want {
			t.Errorf("%q: DefaultProfile = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.profiles")
	if err := os.WriteFile(path, []byte("profile a\n  refuse port 25\n  pass port 99999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || err.Error() != path+`:3: "99999" is not a port number (1 to 65535)` {
		t.Errorf("Load error = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	s, err := Parse("default.profiles", strings.NewReader(DefaultText()))
	if err != nil || !slices.Equal(s.Names(), Default().Names()) {
		t.Errorf("DefaultText does not parse to Default: %v", err)
	}
}

func FuzzParseProfiles(f *testing.F) {
	f.Add(DefaultText())
	f.Add("profile a \"t\"\n describe x\n drop-timeout 1s\n latency 1ms ports 1,2 host *.t because y\n intercept via a.test\n")
	f.Add("refuse\n")
	f.Add("profile a\n pass port 25,,\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse("f.profiles", strings.NewReader(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.File != "f.profiles" {
				t.Fatalf("error %v is not a *ParseError with a line", err)
			}
			return
		}
		for _, name := range s.Names() {
			p, ok := s.Profile(name)
			if !ok {
				t.Fatalf("Profile(%q) not found", name)
			}
			for _, port := range []int{25, 587} {
				v := p.decide("mx.sandbox.test", port)
				if v.Rule == "" || latency(v) < 0 || latency(v) > MaxLatency || (v.Action == Intercept) != (v.InterceptHost != "") {
					t.Fatalf("bad verdict %+v", v)
				}
				if (v.Action == Drop) != (v.Timeout > 0) || v.Timeout > MaxDropTimeout {
					t.Fatalf("bad timeout in %+v", v)
				}
			}
		}
	})
}

func mustProfile(t *testing.T, s *Set, name string) *Profile {
	t.Helper()
	p, ok := s.Profile(name)
	if !ok {
		t.Fatalf("no profile %s", name)
	}
	return p
}

// TestDefaultDescriptionsTranslated keeps every built-in profile described
// in every page language (README "Languages"): a profile added in English
// only fails here rather than showing English on a translated page.
func TestDefaultDescriptionsTranslated(t *testing.T) {
	for _, p := range Default().Profiles() {
		for _, lang := range i18n.Translations {
			if d := p.Descriptions[lang]; d == "" || d == p.Description {
				t.Errorf("profile %s has no describe.%s", p.Name, lang)
			}
		}
	}
}

// TestDefaultTitlesTranslated keeps every built-in profile titled in every
// page language, as TestDefaultDescriptionsTranslated does its description:
// the network menu shows the title.
func TestDefaultTitlesTranslated(t *testing.T) {
	for _, p := range Default().Profiles() {
		for _, lang := range i18n.Translations {
			if p.Titles[lang] == "" {
				t.Errorf("profile %s has no title.%s", p.Name, lang)
			}
		}
	}
}
