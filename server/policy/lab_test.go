package policy

import (
	"net/netip"
	"strings"
	"testing"
)

// The server's own file, as the editor starts from it, passes as a lab
// policy; a lab's changes to its rules apply, and the server's limits and
// accounts stay.
func TestParseLabDefault(t *testing.T) {
	base := Default()
	text := DefaultText() + "\n<source 203.0.113.0/24>\n  always-allow-relaying yes\n</source>\n"
	p, errs := ParseLab("lab.policy", strings.NewReader(text), base)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if !p.Trusted(netip.MustParseAddr("203.0.113.80")) || base.Trusted(netip.MustParseAddr("203.0.113.80")) {
		t.Error("the lab's trusted network must hold in the lab's policy alone")
	}
	if p.Limits != base.Limits || p.Accounts["foo"] != "barbaz" {
		t.Errorf("limits %+v / accounts %v: want the server's", p.Limits, p.Accounts)
	}
}

// Every error is reported with its line, in line order, and a bad block
// is one error, not a cascade over its directives and closing tag.
func TestParseLabErrors(t *testing.T) {
	base := Default()
	text := strings.Replace(DefaultText(), "max-recipients 50 ", "max-recipients 5000", 1)
	text = strings.Replace(text, "<listener 465>\n  host legacy.mail.test", "<listener 465>\n  host other.test", 1)
	text += "<source 203.0.113.0/33>\n  always-allow-relaying yes\n</source>\nrelay-domain not_a_domain\naccount bob secret\n"
	lines := strings.Split(text, "\n")
	lineOf := func(prefix string) int {
		t.Helper()
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q", prefix)
		return 0
	}
	// The syntax first: every error in the file, a bad block once.
	_, errs := ParseLab("lab.policy", strings.NewReader(text), base)
	checkErrors(t, errs, []lineSays{
		{lineOf("<source 203.0.113.0/33>"), "not an address or CIDR"},
		{lineOf("relay-domain not_a_domain"), "not a domain name"},
	})
	// Then what a lab may not change.
	text = strings.Replace(strings.Replace(text, "/33>", "/24>", 1), "not_a_domain", "partner.test", 1)
	lines = strings.Split(text, "\n")
	_, errs = ParseLab("lab.policy", strings.NewReader(text), base)
	checkErrors(t, errs, []lineSays{
		{lineOf("max-recipients"), "keeps the server's limits (50 here)"},
		{lineOf("<listener 465>"), "its host is the server's"},
		{lineOf("account bob"), "accounts are the server's"},
	})
}

type lineSays struct {
	line int
	says string
}

func checkErrors(t *testing.T, errs []*ParseError, want []lineSays) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("errors: %v, want %d", errs, len(want))
	}
	for i, w := range want {
		if errs[i].Line != w.line || !strings.Contains(errs[i].Msg, w.says) || !strings.HasPrefix(errs[i].Error(), "lab.policy:") {
			t.Errorf("error %d = %v, want line %d saying %q", i, errs[i], w.line, w.says)
		}
	}
}

func TestParseLabAccount(t *testing.T) {
	base := Default()
	_, errs := ParseLab("lab.policy", strings.NewReader(DefaultText()+"account bob secret\n"), base)
	if len(errs) != 1 || errs[0].Line != len(strings.Split(DefaultText(), "\n")) || !strings.Contains(errs[0].Msg, "accounts are the server's") {
		t.Errorf("account: %v", errs)
	}
}

// A lab changes a door's rules, never the door itself.
func TestParseLabDoors(t *testing.T) {
	base := Default()
	door25 := "<listener 25>\n  host mx.sandbox.test\n  role relay\n  tls starttls\n  auth none\n</listener>"
	for _, tc := range []struct{ old, new, says string }{
		{door25, "", "listener 25 is missing"},
		{"tls implicit", "tls starttls", "its tls is the server's"},
	} {
		text := strings.Replace(DefaultText(), tc.old, tc.new, 1)
		_, errs := ParseLab("lab.policy", strings.NewReader(text), base)
		if len(errs) != 1 || !strings.Contains(errs[0].Msg, tc.says) {
			t.Errorf("%s: %v", tc.says, errs)
		}
	}
	text := DefaultText() + "<listener 2526>\n  host smtp.relay.test\n</listener>\n"
	if _, errs := ParseLab("lab.policy", strings.NewReader(text), base); len(errs) != 1 || !strings.Contains(errs[0].Msg, "no such door") {
		t.Errorf("a new door: %v", errs)
	}
	// The rules of a door are the lab's: port 25 may demand STARTTLS.
	text = strings.Replace(DefaultText(), "  role relay\n  tls starttls\n", "  role relay\n  tls starttls\n  require-starttls-before-auth yes\n", 1)
	p, errs := ParseLab("lab.policy", strings.NewReader(text), base)
	if l, _ := p.Listener(25); len(errs) > 0 || !l.RequireTLSBeforeAuth {
		t.Errorf("port 25 requiring STARTTLS: %v %+v", errs, l)
	}
}
