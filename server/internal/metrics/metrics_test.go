package metrics

import "testing"

// A reply's label is its three digits and nothing else, whatever the
// line holds after them or in place of them.
func TestReplyCodeIsBounded(t *testing.T) {
	for line, want := range map[string]string{
		"250 2.0.0 Ok: queued as ABC": "250",
		"421 4.3.2 mx Service":        "421",
		"<a@example.org>":             "other",
		"99":                          "other",
		"999 nine":                    "other",
		"":                            "other",
	} {
		if got := replyCode(line); got != want {
			t.Errorf("replyCode(%q) = %q, want %q", line, got, want)
		}
	}
}
