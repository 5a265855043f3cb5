package scenarios

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/portlab/portlab/scenarios/lesson"
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
		{"auth-mechanisms",
			[]string{
				"base64 is not encryption", "`534 5.7.9 Authentication mechanism is too weak`",
				"`538 5.7.11 Encryption required for requested authentication mechanism`",
				"RFC 4954 §6", "`AUTH OAUTHBEARER` (RFC 7628)", "`XOAUTH2`", "Postfix offers what its SASL backend",
			},
			[]string{"CRAM-MD5 is Historic"}},
		{"when-2525-fails",
			[]string{"`nc -v host 587`", "`Test-NetConnection host -Port 587`", "Knock from a second network"}, nil},
		{"reading-a-bounce",
			[]string{"`Final-Recipient", "`Action: failed`", "`Status: 5.1.1`", "`Diagnostic-Code", "RFC 3464", "**backscatter**", "RFC 5321 §6.1"}, nil},
		{"open-relay",
			[]string{"`AUTH PLAIN LOGIN CRAM-MD5`"},
			[]string{"mechanisms LOGIN, PLAIN"}},
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

// TestNotGivenAway checks that no lesson tells the student the result of
// a step they do (type, reach, or predict) before they try it: the
// summary, the introduction, and the titles and narration of the steps up
// to it hold none of its spoilers (issue 11: narration does not give the
// result away before the student tries).
func TestNotGivenAway(t *testing.T) {
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lesson, step string
		spoilers     []string
	}{
		{"first-contact", "door-465-refused", []string{"does not accept", "nobody listens"}},
		{"first-contact", "refused-25", []string{"blocks outbound", "block outbound", "from home below"}},
		{"port-25-relay", "refused", []string{"blocked", "refuse"}},
		{"tls-before-auth", "auth-before-tls", []string{"530", "refuse", "must issue", "does not even offer"}},
		{"fallback-2525", "timeout-587", []string{"time out", "timed out", "drop"}},
		{"port-465-implicit-tls", "plaintext", []string{"silen", "waits for", "clienthello"}},
		{"starttls-stripping", "intercepted", []string{"intercept", "in the server's place", "not who you think"}},
		{"starttls-stripping", "starttls", []string{"strip", "XXXX", "remove", "refuse"}},
		{"open-relay", "relay-denied", []string{"refused", "denied"}},
		{"hop-by-hop", "mailbox", []string{"in the clear", "copy", "copies"}},
		{"bounces", "accepted", []string{"250", "accepted"}},
		{"bounces", "mailbox", []string{"to the envelope sender", "goes to `MAIL FROM`", "its bounce follows"}},
		{"outbound-tls", "mailbox", []string{"tries again", "queue", "defer"}},
	}
	for _, tt := range tests {
		l, ok := lib.Lesson(tt.lesson, "")
		if !ok {
			t.Fatalf("%s: not found", tt.lesson)
		}
		before := []string{l.Summary, l.Intro}
		found := false
		for _, st := range l.Steps {
			before = append(before, st.Title, st.Narration)
			if st.ID == tt.step {
				found = st.StudentDoes()
				break
			}
		}
		if !found {
			t.Errorf("%s: no step %q that the student does", tt.lesson, tt.step)
		}
		for _, s := range before {
			s = comment.ReplaceAllString(s, "") // not shown
			for _, spoiler := range tt.spoilers {
				if strings.Contains(strings.ToLower(s), strings.ToLower(spoiler)) {
					t.Errorf("%s: before the student tries %q the lesson says %q: %q", tt.lesson, tt.step, spoiler, s)
				}
			}
		}
	}
}

// TestCapstoneHintsQuoteTheExplainer keeps the capstone's hints in the
// explainer's words (issue 11): every quoted passage in a task's first two
// hints comes from the gist or the "what to try next" of a reply or close
// explanation in explain/data/en.json, so the two cannot drift apart.
func TestCapstoneHintsQuoteTheExplainer(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("explain", "data", "en.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cat struct {
		Replies, Closes []struct{ Gist, Next string }
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		t.Fatal(err)
	}
	var words []string
	for _, e := range append(cat.Replies, cat.Closes...) {
		words = append(words, e.Gist, e.Next)
	}
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, ok := lib.Lesson("my-mail-doesnt-send", "")
	if !ok {
		t.Fatal("my-mail-doesnt-send: not found")
	}
	quoted := regexp.MustCompile(`"(?:\.\.\. )?([^"]+)"`)
	tasks := 0
	for i, st := range l.Steps {
		if st.Mode != lesson.Task {
			continue
		}
		tasks++
		// A case broken by a certificate ends in the client's own
		// refusal, which the transcript words in full; the explainer
		// explains servers' replies, so there is nothing of it to quote.
		if i > 0 && slices.ContainsFunc(l.Steps[i-1].Expect, func(e lesson.Expect) bool { return e.Kind == lesson.TLSRefused }) {
			continue
		}
		n := 0
		for _, h := range st.Hints[:min(2, len(st.Hints))] { // the third is the near answer
			for _, m := range quoted.FindAllStringSubmatch(h, -1) {
				n++
				if !slices.ContainsFunc(words, func(w string) bool { return strings.Contains(w, m[1]) }) {
					t.Errorf("%s: hint quotes %q, which no explanation says", st.ID, m[1])
				}
			}
		}
		if n < 2 {
			t.Errorf("%s: %d quotes of the explainer in its hints, want the gist and what to try next", st.ID, n)
		}
	}
	if tasks < 6 {
		t.Errorf("%d task steps, want one per broken setup (6)", tasks)
	}
}

// TestDecodeNotGivenAway: the AUTH mechanisms lesson asks the student to
// decode a captured AUTH PLAIN line; nothing before that step may say
// what is inside it.
func TestDecodeNotGivenAway(t *testing.T) {
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, ok := lib.Lesson("auth-mechanisms", "")
	if !ok {
		t.Fatal("auth-mechanisms: not found")
	}
	before := []string{l.Summary, l.Intro}
	for _, st := range l.Steps {
		before = append(before, st.Title, st.Narration, st.Predict)
		if st.ID == "decode" {
			break
		}
		before = append(before, st.After)
	}
	for _, s := range before {
		for _, spoiler := range []string{"alice", "hotelwifi"} {
			if strings.Contains(strings.ToLower(s), spoiler) {
				t.Errorf("before the student decodes the line the lesson says %q: %q", spoiler, s)
			}
		}
	}
}
