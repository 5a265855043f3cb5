package relay

import (
	"strings"
	"testing"

	"github.com/portlab/portlab/server/policy"
)

type labPolicies map[string]*policy.Policy

func (m labPolicies) PolicyFor(lab string) *policy.Policy { return m[lab] }

// A connection follows its lab's own policy (docs/teaching-map.md L27),
// other labs the server's; a door that plays a server without STARTTLS
// cannot demand it, whatever the lab's listener says.
func TestLabPolicyRules(t *testing.T) {
	sb := newSandbox(t, "")
	text := strings.Replace(policy.DefaultText(), "  role relay\n", "  role relay\n  require-starttls-before-auth yes\n", 1)
	own, errs := policy.ParseLab("lab.policy", strings.NewReader(text), sb.r.policy)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sb.r.labs = labPolicies{"lab-a": own}
	mx := Door{Host: "mx.sandbox.test", Port: 25}
	notls := Door{Host: "mx.notls.test", Port: 25, NoSTARTTLS: true, LocalDomains: []string{"notls.test"}}
	for _, tc := range []struct {
		name string
		door Door
		lab  string
		want string
	}{
		{"the lab's MX demands TLS", mx, "lab-a", "530 5.7.0 Must issue a STARTTLS command first"},
		{"another lab's does not", mx, "lab-b", "250 2.1.0"},
		{"a door without STARTTLS cannot demand it", notls, "lab-a", "250 2.1.0"},
	} {
		c := pipe(t, sb, tc.door, Meta{Lab: tc.lab})
		c.run(sb, "!greeting\nEHLO x\nMAIL FROM:<a@b.test>")
		if !strings.HasPrefix(c.last, tc.want) {
			t.Errorf("%s: MAIL got %q, want %q\n%s", tc.name, c.last, tc.want, c.log.String())
		}
	}
}
