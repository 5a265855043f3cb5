package lesson

import (
	"slices"
	"testing"
)

// The policy action, in a step and typed alike: lines to add (at the end
// or after a line), or a reset.
func TestParsePolicyAction(t *testing.T) {
	for _, tc := range []struct {
		text  string
		lines []string
		after string
		bad   bool
	}{
		{text: `policy add "<source 203.0.113.0/24>" "  always-allow-relaying yes" "</source>"`, lines: []string{"<source 203.0.113.0/24>", "  always-allow-relaying yes", "</source>"}},
		{text: `policy add "  require-starttls-before-auth yes" after "<listener 25>"`, lines: []string{"  require-starttls-before-auth yes"}, after: "<listener 25>"},
		{text: `policy reset`},
		{text: `policy`, bad: true},
		{text: `policy add`, bad: true},
		{text: `policy reset after "x"`, bad: true},
		{text: `policy add "unterminated`, bad: true},
	} {
		for _, parse := range []func(string) (Action, error){ParseAction, ParseTyped} {
			a, err := parse(tc.text)
			if tc.bad {
				if err == nil {
					t.Errorf("%s: no error", tc.text)
				}
				continue
			}
			if err != nil || a.Kind != Policy || !slices.Equal(a.PolicyLines, tc.lines) || a.PolicyAfter != tc.after {
				t.Errorf("%s: %+v %v", tc.text, a, err)
			}
		}
	}
}
