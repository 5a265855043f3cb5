package term

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/session"
)

func TestPlainUsesTheMarks(t *testing.T) {
	for _, c := range []struct {
		d    Display
		want string
	}{
		{FromLine(session.Line{Who: session.Client, Text: "EHLO a.example"}), "-> EHLO a.example"},
		{FromLine(session.Line{Who: session.Server, Text: "250-PIPELINING"}), "<- 250-PIPELINING"},
		{FromLine(session.Line{Who: session.Client, Text: "AUTH PLAIN AGZvbwBiYXJiYXo=", Secure: true, Decoded: "\\0foo\\0barbaz"}), "~> AUTH PLAIN AGZvbwBiYXJiYXo=   [\\0foo\\0barbaz]"},
		{FromLine(session.Line{Who: session.Server, Text: "235 2.7.0 Authentication successful", Secure: true}), "<~ 235 2.7.0 Authentication successful"},
		{Note("Trying mx.sandbox.test..."), "=== Trying mx.sandbox.test..."},
		{Typed("open x 25"), "> open x 25"},
	} {
		if got := c.d.Plain(); got != c.want {
			t.Errorf("Plain() = %q, want %q", got, c.want)
		}
	}
}

func TestTranscriptKeepsTheLastLines(t *testing.T) {
	tr := NewTranscript(2)
	for _, s := range []string{"a", "b", "c"} {
		tr.Add(Note(s))
	}
	if got, want := tr.Text(), "=== b\n=== c\n"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	tr.Clear()
	if tr.Text() != "" || tr.Len() != 0 {
		t.Errorf("after Clear: %q, %d lines", tr.Text(), tr.Len())
	}
}

func TestTypeable(t *testing.T) {
	for s, want := range map[string]bool{
		"telnet mx.sandbox.test 25":        true,
		"open smtp.relay.test 465":         true,
		"EHLO laptop.example":              true,
		"STARTTLS":                         true,
		"auth plain foo barbaz":            true,
		"telnet host port":                 false,
		"nc -v host 25":                    false,
		"sandbox.test":                     false,
		"220":                              false,
		"Test-NetConnection host -Port 25": false,
		"":                                 false,
	} {
		if got := Typeable(s); got != want {
			t.Errorf("Typeable(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestAnnouncementIsOneSentence: the live region says one sentence per
// state, in the page's language: a language that lacks one of them
// (English words on a translated page) fails.
func TestAnnouncementIsOneSentence(t *testing.T) {
	states := []ConnState{Connecting, Connected, Silent, Secure, Closed, Refused, TimedOut, UnknownHost}
	for _, lang := range i18n.Languages {
		c := locales.Catalog(lang)
		for _, s := range states {
			a := Announcement(c, s, "mx.sandbox.test:25")
			if a == "" || a[len(a)-1] != '.' || strings.Contains(a, "%!") {
				t.Errorf("%s: Announcement(%s) = %q", lang, s, a)
			}
			if lang != i18n.Default && a == Announcement(nil, s, "mx.sandbox.test:25") {
				t.Errorf("%s: Announcement(%s) is in English: %q", lang, s, a)
			}
		}
	}
	if got := Announcement(nil, Refused, "mx.sandbox.test:25"); got != "Connection to mx.sandbox.test port 25 refused." {
		t.Errorf("refused: %q", got)
	}
	if got := Announcement(locales.Catalog("de"), Closed, ""); got != "Verbindung geschlossen." {
		t.Errorf("closed in German: %q", got)
	}
	if Announcement(nil, Idle, "") != "" {
		t.Error("idle is announced")
	}
}

// TestPlaceholdersInLanguage: the placeholders that are not commands are
// in the page's language.
func TestPlaceholdersInLanguage(t *testing.T) {
	for _, lang := range i18n.Translations {
		c := locales.Catalog(lang)
		if PlaceholderLesson(c) == PlaceholderLesson(nil) || PlaceholderData(c) == PlaceholderData(nil) {
			t.Errorf("%s: placeholders %q, %q are in English", lang, PlaceholderLesson(c), PlaceholderData(c))
		}
	}
}

// A burst of sentences is said as its first and its last, a Gap apart.
func TestAnnouncerThrottles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var said []string
		a := &Announcer{Gap: time.Second, Say: func(s string) { mu.Lock(); said = append(said, s); mu.Unlock() }}
		for _, s := range []string{"one", "two", "three", "four"} {
			a.Announce(s)
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		a.Announce("five") // a quiet moment: at once
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if want := []string{"one", "four", "five"}; !slices.Equal(said, want) {
			t.Errorf("said %q, want %q", said, want)
		}
	})
}

func TestHintCommand(t *testing.T) {
	for hint, want := range map[string]string{
		"Type telnet mx.sandbox.test 25":                                           "telnet mx.sandbox.test 25",
		"Type telnet mx.sandbox.test 25 again, from home this time.":               "telnet mx.sandbox.test 25",
		"Type EHLO followed by a name for your computer, e.g. EHLO laptop.example": "EHLO laptop.example",
		"Type QUIT":                           "QUIT",
		"Digite QUIT e depois feche.":         "QUIT",
		"Digite telnet mx.sandbox.test 25":    "telnet mx.sandbox.test 25",
		"Tippe open smtp.relay.test 465 tls.": "open smtp.relay.test 465 tls",
		"O telnet recebe duas coisas: o host em que bater e o número da porta.":              "",
		"The command that introduces a client starts with E (its older form starts with H).": "",
		"Escribe MAIL FROM:<foo@relay.test> y luego RCPT TO.":                                "MAIL FROM:<foo@relay.test>",
	} {
		if got := HintCommand(hint); got != want {
			t.Errorf("HintCommand(%q) = %q, want %q", hint, got, want)
		}
	}
}

// Every built-in English hint that says "Type COMMAND" gives that
// command, the way the hints were read before they were translated, less
// the words of the sentence around it ("again").
func TestHintCommandOnLessons(t *testing.T) {
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range lib.Lessons() {
		for _, st := range l.Steps {
			for _, h := range st.Hints {
				_, typed, ok := strings.Cut(h, "Type ")
				want := strings.TrimRight(strings.TrimSpace(typed), ".")
				if !ok || !Typeable(want) {
					continue
				}
				n++
				if got := HintCommand(h); got == "" || !strings.Contains(want, got) {
					t.Errorf("%s/%s: HintCommand(%q) = %q, want %q", l.Name, st.ID, h, got, want)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no hint says Type COMMAND")
	}
	t.Logf("%d hints", n)
}
