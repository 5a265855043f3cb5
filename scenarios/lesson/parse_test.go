package lesson

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

func readLesson(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../lessons/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineOf returns the 1-based line of the first occurrence of s.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	i := strings.Index(text, s)
	if i < 0 {
		t.Fatalf("%q not in text", s)
	}
	return strings.Count(text[:i], "\n") + 1
}

// TestLintBrokenCopy breaks a copy of a real lesson in many ways and
// checks that each error names the right file and line.
func TestLintBrokenCopy(t *testing.T) {
	src := readLesson(t, "tls-before-auth.md")
	if _, err := Parse("tls-before-auth.md", []byte(src)); err != nil {
		t.Fatalf("the original does not parse: %v", err)
	}
	type edit struct{ old, new, at, msg string } // at: text on the error's line in the broken copy
	edits := []edit{
		{"minutes: 12", "minutes: twelve", "minutes: twelve", `minutes "twelve": want a whole number`},
		{"profile: home-isp", "profile: home-ips", "profile: home-ips", `unknown profile "home-ips"`},
		{"do: connect smtp.relay.test:587", "do: conect smtp.relay.test:587", "do: conect", `unknown action "conect"`},
		{`expect: 530 5.7.0 "Must`, `expect: 530 4.7.0 "Must`, "expect: 530 4.7.0", "enhanced code 4.7.0 does not agree with reply code 530"},
		{"hint: Type STARTTLS\n", "", "mode: typed\n```\n\n## Hello again", "a typed step needs a hint"},
		{"## Hello again {#ehlo-tls}", "## Hello again {#ehlo}", "## Hello again {#ehlo}", `step id "ehlo" already used at line`},
		{"expect: 535 5.7.8", "expect: capability AUTH", "expect: capability AUTH\n", "capability expectations check an EHLO reply"},
		{"expect: 235 2.7.0\nmode: typed", "expect: 235 2.7.0\nmode: typing", "mode: typing", `mode "typing": want typed, task or played`},
		{"tls-version=1.2", "tls-ver=1.2", "tls-ver=1.2", `unknown key "tls-ver"`},
		{"## Send a message {#send}", "## Send a message {#Send}", "{#Send}", `step id "Send": use lower-case`},
		{"## Check the mailbox {#mailbox}\n\n```step\ndo: mailbox", "## Leave {#quit}\n\n```step\ndo: send QUIT\n```\n\n## Check the mailbox {#mailbox}\n\n```step\ndo: send NOOP", "do: send NOOP", "send: not connected here"},
		{"expect: capability SIZE", "expect: capabilty SIZE", "expect: capabilty", `unknown expectation "capabilty"`},
		{"expect: 220 2.0.0\n", "expect: 220 2.0.0\nexpext: 220\n", "expext: 220", `unknown step key "expext"`},
		{"expect: tls at least 1.2", "expect: tls at least 1.4", "tls at least 1.4", `tls version "1.4"`},
	}
	broken := src
	for _, e := range edits {
		if strings.Count(broken, e.old) != 1 {
			t.Fatalf("edit %q: not exactly one occurrence", e.old)
		}
		broken = strings.Replace(broken, e.old, e.new, 1)
	}
	_, err := Parse("tls-before-auth.md", []byte(broken))
	var el ErrorList
	if !errors.As(err, &el) {
		t.Fatalf("Parse = %v, want an ErrorList", err)
	}
	got := map[string]bool{}
	for _, e := range el {
		got[e.Error()] = false
	}
	for _, e := range edits {
		line := lineOf(t, broken, e.at)
		found := false
		for s := range got {
			if strings.HasPrefix(s, "tls-before-auth.md:"+itoa(line)+": ") && strings.Contains(s, e.msg) {
				got[s], found = true, true
			}
		}
		if !found {
			t.Errorf("no error at tls-before-auth.md:%d containing %q", line, e.msg)
		}
	}
	for s, matched := range got {
		if !matched {
			t.Errorf("unexpected error: %s", s)
		}
	}
	if t.Failed() {
		t.Logf("all errors:\n%v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestStructureErrors(t *testing.T) {
	const front = "---\ntitle: T\nlevel: beginner\nminutes: 5\nprofile: datacenter\nteaches: L1\n---\n"
	step := func(id, block string) string {
		return "## Step " + id + " {#" + id + "}\n\n```step\n" + block + "```\n"
	}
	tests := []struct {
		name, src, want string
	}{
		{"no front matter", "## A {#a}\n", "x.md:1: a lesson starts with front matter"},
		{"unclosed front matter", "---\ntitle: T\n", "x.md:1: front matter is not closed"},
		{"bad front line", "---\ntitle T\n---\n", `x.md:2: front matter: want key: value, got "title T"`},
		{"missing key", "---\ntitle: T\nlevel: beginner\nminutes: 5\nprofile: datacenter\n---\n" + step("a", "do: mailbox\nexpect: message to=x@y\n"), `x.md:1: front matter lacks "teaches"`},
		{"unknown key", strings.Replace(front, "teaches", "teachs", 1), `x.md:6: unknown front matter key "teachs"`},
		{"bad teaches", strings.Replace(front, "L1", "lesson one", 1), `x.md:6: teaches: "lesson one" is not a lesson id`},
		{"no steps", front + "Just text.\n", "x.md:1: no steps"},
		{"heading without id", front + "## Hello\n```step\ndo: close\n```\n", "x.md:8: step heading needs an id"},
		{"no block", front + "## Hello {#hello}\ntext\n", `x.md:8: step "hello" has no `},
		{"no do", front + "## Hello {#hello}\n```step\nexpect: 250\n```\n", `x.md:9: step "hello" has no do: line`},
		{"two do", front + step("a", "do: close\ndo: close\n"), "x.md:12: a second do:"},
		{"unclosed block", front + "## A {#a}\n```step\ndo: close\n", "x.md:9: step block is not closed"},
		{"two blocks", front + step("a", "do: profile home-isp\n") + "```step\ndo: close\n```\n", "x.md:13: a second step block"},
		{"connect without outcome", front + step("a", "do: connect mx.sandbox.test:25\n"), "x.md:11: connect needs exactly one outcome"},
		{"connect two outcomes", front + step("a", "do: connect mx.sandbox.test:25\nexpect: refused\nexpect: 220\n"), "x.md:11: connect needs exactly one outcome"},
		{"unknown host", front + step("a", "do: connect mx.sandbox.tset:25\nexpect: 220\n"), `x.md:11: unknown host "mx.sandbox.tset"`},
		{"tls refused at starttls", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\n") + step("b", "do: starttls\nexpect: 220\nexpect: tls refused \"is for\"\nmode: typed\nhint: h\n"), ""},
		{"tls refused at implicit connect", front + step("a", "do: connect legacy.mail.test:465 tls\nexpect: tls refused \"does not trust\"\nmode: typed\nhint: h\n"), ""},
		{"tls refused unquoted", front + step("a", "do: connect legacy.mail.test:465 tls\nexpect: tls refused is for\n"), "x.md:12: tls refused needs the words in quotes"},
		{"tls refused on plaintext connect", front + step("a", "do: connect mx.sandbox.test:25\nexpect: tls refused \"x\"\n"), "x.md:12: tls refused: this connect is not TLS"},
		{"tls refused on EHLO", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\n") + step("b", "do: send EHLO x\nexpect: tls refused \"x\"\n"), "x.md:18: tls refused judges a TLS handshake"},
		{"after tls refused no connection", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\n") + step("b", "do: starttls\nexpect: tls refused \"x\"\n") + step("c", "do: send EHLO x\nexpect: 250\n"), "x.md:23: send: not connected here"},
		{"unknown host expected", front + step("a", "do: connect nowhere.test:25\nexpect: unknown host\nmode: typed\nhint: h\n"), ""},
		{"no student step", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\n") + step("b", "do: send QUIT\n"), "x.md:8: no step for the student to do"},
		{"bad port", front + step("a", "do: connect mx.sandbox.test:99999\nexpect: 220\n"), "x.md:11: \"mx.sandbox.test:99999\": port must be"},
		{"tls on plain connect", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\nexpect: tls at least 1.2\n"), "x.md:13: tls at least: this connect is not TLS"},
		{"typed message", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\n") + step("b", "do: message from a@b.c to d@e.f\nexpect: 250\nmode: typed\nhint: h\n"), "x.md:19: a message step cannot be typed"},
		{"accept on played", front + step("a", "do: profile home-isp\naccept: x*\n"), "x.md:12: accept: only applies to typed steps"},
		{"reply text unquoted", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220 hello there\n"), "x.md:12: reply expectation: put the text in quotes"},
		{"unterminated quote", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220 \"hello\n"), "x.md:12: unterminated quote"},
		{"send DATA", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\n") + step("b", "do: send DATA\n"), "x.md:17: send DATA leaves"},
		{"wait too long", front + step("a", "do: wait 2h\n"), "x.md:11: wait needs a duration"},
		{"not connected after refused", front + step("a", "do: connect mx.sandbox.test:25\nexpect: refused\n") + step("b", "do: send EHLO x\nexpect: 250\n"), "x.md:17: send: not connected here"},
		{"not connected after quit", front + step("a", "do: connect mx.sandbox.test:25\nexpect: 220\n") + step("b", "do: send QUIT\n") + step("c", "do: starttls\n"), "x.md:22: starttls: not connected here"},
		{"mailbox without expectation", front + step("a", "do: mailbox\n"), "x.md:11: mailbox needs a message"},
		{"message match bad", front + step("a", "do: mailbox\nexpect: message tls=maybe\n"), "x.md:12: message expectation: tls=maybe: want yes or no"},
		{"expect on profile", front + step("a", "do: profile home-isp\nexpect: 250\n"), `x.md:12: expect "250" does not apply to a profile action`},
		{"step block before steps", front + "```step\ndo: close\n```\n" + step("a", "do: close\n"), "x.md:8: step block before the first step heading"},
		{"unclosed narration fence", front + step("a", "do: profile home-isp\n") + "```\ncode\n", "x.md:13: a code block in the narration is not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.md", []byte(tt.src))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if !strings.Contains("\n"+err.Error(), "\n"+tt.want) {
				t.Errorf("errors:\n%v\nwant one starting: %s", err, tt.want)
			}
		})
	}
}

func TestNarrationAndFences(t *testing.T) {
	src := "---\ntitle: T\nlevel: beginner\nminutes: 5\nprofile: datacenter\nteaches: L1\n---\n\n# T\n\nIntro.\n\n" +
		"## One {#one}\n\nBefore.\n\n```\n## not a heading\n```step\n```\n\n```step\ndo: profile home-isp\npredict: Q?\nchoice: * A | why\nchoice: B | why\n```\n\nAfter.\n\n" +
		"## What you learned\n\nSummary.\n"
	l, err := Parse("fences.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if l.Intro != "Intro." {
		t.Errorf("Intro = %q", l.Intro)
	}
	if len(l.Steps) != 1 {
		t.Fatalf("%d steps", len(l.Steps))
	}
	st := l.Steps[0]
	if st.Narration != "Before.\n\n```\n## not a heading\n```step\n```" {
		t.Errorf("Narration = %q", st.Narration)
	}
	if st.After != "After.\n\n## What you learned\nSummary." {
		t.Errorf("After = %q", st.After)
	}
	if st.Line != 13 || st.Action.Line != 23 {
		t.Errorf("lines: heading %d, do %d", st.Line, st.Action.Line)
	}
}

func TestTranslation(t *testing.T) {
	base, err := Parse("first-contact.md", []byte(readLesson(t, "first-contact.md")))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := ParseTranslation("first-contact.pt-BR.md", []byte(readLesson(t, "first-contact.pt-BR.md")), base)
	if err != nil {
		t.Fatal(err)
	}
	l := base.Translate(pt)
	if l.Lang != "pt-BR" || !strings.HasPrefix(l.Title, "Primeiro contato") || !strings.HasPrefix(l.Intro, "O endereço") {
		t.Errorf("translated lesson: %q %q %q", l.Lang, l.Title, l.Intro)
	}
	if l.Steps[0].Hint(3) != "Digite telnet mx.sandbox.test 25" || !strings.HasPrefix(l.Steps[0].Hint(1), "O telnet recebe") || l.Steps[0].Action.Text != base.Steps[0].Action.Text {
		t.Errorf("step 0: %+v", l.Steps[0])
	}
	// Untranslated steps fall back to English; the base is untouched.
	if l.Steps[2].Narration != base.Steps[2].Narration || base.Steps[0].Hint(3) != "Type telnet mx.sandbox.test 25" {
		t.Error("fallback or base changed")
	}

	bad := "---\ntitle: X\nprofile: datacenter\n---\n## A {#nope}\ntext\n## B {#ehlo}\n```step\nhint: h\ndo: close\n```\n"
	_, err = ParseTranslation("first-contact.pt-BR.md", []byte(bad), base)
	for _, want := range []string{
		`first-contact.pt-BR.md:3: a translation's front matter holds only title, summary and source; "profile"`,
		`first-contact.pt-BR.md:5: no step "nope" in first-contact.md`,
		`first-contact.pt-BR.md:10: a translation's step block holds only hint:, goal:, predict:, choice: and source:; do:`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors:\n%v\nwant: %s", err, want)
		}
	}
	if _, err := ParseTranslation("first-contact.portuguese.md", []byte("---\n---\n"), base); err == nil || !strings.Contains(err.Error(), `language "portuguese"`) {
		t.Errorf("bad language: %v", err)
	}
}

// Every lesson's skeleton (portlab scenarios translate) reads back as a
// complete, current translation that says exactly what the English says.
func TestSkeletonRoundTrip(t *testing.T) {
	entries, err := os.ReadDir("../lessons")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name, lang, ok := SplitName(e.Name())
		if !ok || lang != "" {
			continue
		}
		base, err := Parse(e.Name(), []byte(readLesson(t, e.Name())))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := ParseTranslation(name+".de.md", []byte(Skeleton(base)), base)
		if err != nil {
			t.Fatalf("%s: skeleton does not parse: %v", name, err)
		}
		if lag := Check(base, tr); len(lag) != 0 {
			t.Errorf("%s: skeleton lags: %v", name, lag)
		}
		got := base.Translate(tr)
		if got.Title != base.Title || got.Summary != base.Summary || got.Intro != base.Intro {
			t.Errorf("%s: title, summary or introduction changed", name)
		}
		for i, st := range got.Steps {
			if StepHash(st) != StepHash(base.Steps[i]) {
				t.Errorf("%s: step %s reads back differently:\n%+v\nwant\n%+v", name, st.ID, *st, *base.Steps[i])
			}
		}
	}
}

func TestTranslationLag(t *testing.T) {
	base, err := Parse("first-contact.md", []byte(readLesson(t, "first-contact.md")))
	if err != nil {
		t.Fatal(err)
	}
	src := Skeleton(base)
	// A translator's step made from an older English text, and one step left out.
	old := StepHash(base.Steps[0])
	src = strings.Replace(src, "source: "+old, "source: 00000000", 1)
	second := fmt.Sprintf("## %s {#%s}", base.Steps[1].Title, base.Steps[1].ID)
	i := strings.Index(src, second)
	j := strings.Index(src[i+1:], "\n## ") + i + 1
	src = src[:i] + src[j+1:]
	tr, err := ParseTranslation("first-contact.de.md", []byte(src), base)
	if err != nil {
		t.Fatal(err)
	}
	lag := Check(base, tr)
	// The outdated step is reported at its source: line, where the update goes.
	if n := tr.Steps[base.Steps[0].ID].Line; !strings.HasPrefix(strings.Split(src, "\n")[n-1], "source: 00000000") {
		t.Errorf("outdated step reported at line %d, not at its source: line", n)
	}
	want := []string{
		fmt.Sprintf("first-contact.de.md:%d: step %s outdated: the English text changed (translate it again, then write source: %s)", tr.Steps[base.Steps[0].ID].Line, base.Steps[0].ID, old),
		fmt.Sprintf("first-contact.md:%d: step %s not translated", base.Steps[1].Line, base.Steps[1].ID),
	}
	if len(lag) != 2 || lag[0].String() != want[0] || lag[1].String() != want[1] {
		t.Errorf("lag = %v\nwant %v", lag, want)
	}
	if lag := Check(base, nil); len(lag) != 1 || !lag[0].Missing {
		t.Errorf("no translation at all: %v", lag)
	}
}

func TestTranslatedPrediction(t *testing.T) {
	src := "---\ntitle: T\nsummary: S\nlevel: beginner\nminutes: 1\nprofile: datacenter\nteaches: L1\n---\n## A {#a}\n```step\ndo: connect mx.sandbox.test:25\nexpect: 220\npredict: Q?\nchoice: one | w1\nchoice: * two | w2\n```\n"
	base, err := Parse("x.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ParseTranslation("x.es.md", []byte("---\n---\n## A {#a}\n```step\npredict: ¿P?\nchoice: uno | p1\nchoice: dos | p2\n```\n"), base)
	if err != nil {
		t.Fatal(err)
	}
	st := base.Translate(tr).Steps[0]
	if st.Predict != "¿P?" || st.Choices[1].Text != "dos" || st.Choices[1].Why != "p2" || !st.Choices[1].Correct || st.Choices[0].Correct {
		t.Errorf("translated prediction: %+v", st)
	}
	for _, tc := range []struct{ block, want string }{
		{"choice: uno | p1\n", "x.es.md:3: step \"a\": 1 choice: lines, x.md has 2"},
		{"choice: * uno | p1\nchoice: dos | p2\n", "x.es.md:5: choice: the correct answer is marked in x.md only"},
		{"goal: g\n", "x.es.md:3: step \"a\" has no goal: in x.md"},
	} {
		_, err := ParseTranslation("x.es.md", []byte("---\n---\n## A {#a}\n```step\n"+tc.block+"```\n"), base)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %s", tc.block, err, tc.want)
		}
	}
}

func TestParseTyped(t *testing.T) {
	for _, tt := range []struct {
		line string
		kind ActionKind
		verb string
		want string // Target or Command
	}{
		{"telnet smtp.relay.test 587", Connect, "CONNECT", "smtp.relay.test:587"},
		{"open mx.sandbox.test 25", Connect, "CONNECT", "mx.sandbox.test:25"},
		{"connect legacy.mail.test:465 tls", Connect, "CONNECT", "legacy.mail.test:465"},
		{"connect mx.sandbox.test 25", Connect, "CONNECT", "mx.sandbox.test:25"},
		{"STARTTLS", StartTLS, "STARTTLS", ""},
		{"auth plain foo barbaz", Auth, "AUTH", ""},
		{"AUTH PLAIN AGZvbwBiYXJiYXo=", Send, "AUTH", "AUTH PLAIN AGZvbwBiYXJiYXo="},
		{"ehlo laptop", Send, "EHLO", "ehlo laptop"},
		{"profile cloud-vm", Profile, "PROFILE", ""},
	} {
		a, err := ParseTyped(tt.line)
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		got := a.Command
		if a.Kind == Connect {
			got = a.Target()
		}
		if a.Kind != tt.kind || a.Verb() != tt.verb || got != tt.want {
			t.Errorf("%q: %v %s %q", tt.line, a.Kind, a.Verb(), got)
		}
	}
	if _, err := ParseTyped("telnet"); err == nil {
		t.Error("telnet without host accepted")
	}
}

func TestMatchesCode(t *testing.T) {
	for _, tt := range []struct {
		p    string
		code int
		ok   bool
	}{{"250", 250, true}, {"2xx", 221, true}, {"2xx", 354, false}, {"55x", 554, true}, {"250", 251, false}} {
		if MatchesCode(tt.p, tt.code) != tt.ok {
			t.Errorf("MatchesCode(%s, %d) != %v", tt.p, tt.code, tt.ok)
		}
	}
	if !TLSVersionAtLeast("TLS 1.3", "1.2") || TLSVersionAtLeast("TLS 1.1", "1.2") || !TLSVersionAtLeast("TLSv1.2", "1.2") || TLSVersionAtLeast("", "1.2") {
		t.Error("TLSVersionAtLeast")
	}
}
