package scenarios

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// comment matches an HTML comment: where a lesson names its sources, and
// may name a retracted claim to say why it went.
var comment = regexp.MustCompile(`(?s)<!--.*?-->`)

// TestLessonCorrections keeps the corrections of the course review (issue
// 11) in the lesson files: each fact stays stated with its source, and the
// retracted claims do not come back. Text is compared with its whitespace
// folded, so rewrapping a paragraph does not break it; a source may sit
// in an HTML comment, a retracted claim may not remain outside one.
func TestLessonCorrections(t *testing.T) {
	tests := []struct {
		lesson string
		has    []string // each must appear
		hasNot []string // none may appear
	}{
		{"starttls-stripping",
			[]string{
				"rewrote your `STARTTLS` into `XXXXXXXX`",
				"`500 5.5.2 Error: command not recognized`",
				"RFC 5321 §4.2.4",
				"`AUTH PLAIN` with its base64 argument",
				"RFC 3207 §6", "RFC 8314 §5.2", "RFC 8314 §5.3",
				"**465 or 587, either way with the client requiring TLS**",
			},
			[]string{"saved this password", "it was the middlebox that answered", "refuses the command"}},
		{"port-465-implicit-tls",
			[]string{
				"RFC 2487 in 1999", "RFC 3207 in 2002", "RFC 8314 §7.3",
				"an MX record names a host, not a port",
				"**465 or 587, either way with the client requiring TLS**",
			},
			[]string{"Microsoft", "revoked in favour of STARTTLS on the ordinary ports (RFC 3207)", "587 with STARTTLS remains the usual default"}},
		{"fallback-2525",
			[]string{"vendor convention, not an SMTP port", "**465 or 587**", "**25 never**"},
			[]string{"Google Compute Engine", "465 only if the application"}},
		{"first-contact",
			[]string{
				"`nc -v host 25`", "`Test-NetConnection host -Port 25`", "openssl s_client -starttls smtp -crlf",
				"That is not a block", "from another network", "business email compromise",
			},
			[]string{"That is one of the two ways a blocked port looks"}},
		{"port-25-relay",
			[]string{"business email compromise"}, nil},
		{"tls-before-auth",
			[]string{"`AUTH PLAIN LOGIN CRAM-MD5`"},
			[]string{"Now `AUTH PLAIN LOGIN` is offered"}},
		{"hop-by-hop",
			[]string{"does not check the receiving server's certificate", "RFC 8996", "RFC 8997"},
			[]string{"authenticate the server and protect"}},
		{"outbound-tls",
			[]string{
				"`4.7.4 TLS is required, but was not offered by host mx.notls.test`",
				"`maximal_queue_lifetime`", "The sandbox's relay does the same on simulated time",
				"`encrypt` level encrypts, but does not check the remote's certificate",
				"`5.7.30`", "DANE", "MTA-STS",
			},
			[]string{"abandon the delivery"}},
		{"bounces",
			[]string{"`From: Alice <alice@example.org>`", "RFC 5321 §6.1", "RFC 3464"}, nil},
	}
	fold := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	for _, tt := range tests {
		src, err := fs.ReadFile(Files(), tt.lesson+".md")
		if err != nil {
			t.Fatal(err)
		}
		shown := fold(comment.ReplaceAllString(string(src), ""))
		for _, want := range tt.has {
			if !strings.Contains(shown, fold(want)) {
				t.Errorf("%s.md: missing %q", tt.lesson, want)
			}
		}
		for _, bad := range tt.hasNot {
			if strings.Contains(shown, fold(bad)) {
				t.Errorf("%s.md: still says %q", tt.lesson, bad)
			}
		}
	}
}

// TestStrippingNotGivenAway checks that the stripping lesson does not tell
// the student what the middlebox does before the steps they type
// (issue 11: narration does not give the result away).
func TestStrippingNotGivenAway(t *testing.T) {
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, ok := lib.Lesson("starttls-stripping", "")
	if !ok {
		t.Fatal("starttls-stripping: not found")
	}
	before := []string{l.Summary, l.Intro}
	for _, st := range l.Steps {
		before = append(before, st.Title, st.Narration)
		if st.ID == "starttls" {
			break
		}
	}
	for _, s := range before {
		for _, spoiler := range []string{"strip", "XXXX", "remove", "refuse"} {
			if strings.Contains(strings.ToLower(s), strings.ToLower(spoiler)) {
				t.Errorf("before the student tries STARTTLS the lesson says %q: %q", spoiler, s)
			}
		}
	}
}
