package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/lesson"
)

// TestDraftHeaderFrom: the From: header is the envelope sender unless the
// draft names another, written as given (a display name kept) or in
// angle brackets for a bare address.
func TestDraftHeaderFrom(t *testing.T) {
	d := Draft{From: "bounces@lists.sandbox.test", To: []string{"bob@sandbox.test"}, Subject: "Hi", Date: time.Unix(0, 0).UTC(), MessageID: "1@portlab.test"}
	for _, tt := range []struct{ header, want string }{
		{"", "From: <bounces@lists.sandbox.test>\n"},
		{"Alice <alice@example.org>", "From: Alice <alice@example.org>\n"},
		{"alice@example.org", "From: <alice@example.org>\n"},
	} {
		d.HeaderFrom = tt.header
		got := string(d.Bytes())
		if !strings.HasPrefix(got, tt.want) || strings.Count(got, "From:") != 1 {
			t.Errorf("HeaderFrom %q: message starts %q, want %q", tt.header, got[:min(len(got), 60)], tt.want)
		}
	}
}

// TestMatchesHeader: a header expectation holds on a message with a field
// of that name (case ignored) whose value contains the text.
func TestMatchesHeader(t *testing.T) {
	msg := Message{Headers: []Header{{"Subject", "Hi"}, {"From", "Alice <alice@example.org>"}}}
	for _, tt := range []struct {
		name, value string
		want        bool
	}{
		{"from", "alice <ALICE@example.org>", true},
		{"From", "", true},
		{"From", "bob", false},
		{"Sender", "alice", false},
	} {
		m := lesson.MessageMatch{HeaderName: tt.name, HeaderValue: tt.value}
		if got := Matches(msg, m); got != tt.want {
			t.Errorf("header %s: %q: Matches = %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}
