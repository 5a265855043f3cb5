package term

import (
	"strings"
	"sync"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios/lesson"
)

// decodedPrefix starts a Display's Title when it holds decoded base64.
const decodedPrefix = "base64 decoded: "

// Plain is the line as text, the way swaks and the headless runner write
// it ([scenarios.Mark] marks, decoded AUTH data in brackets), for copying
// and downloading the transcript.
func (d Display) Plain() string {
	s := d.Mark + " " + d.Code + d.Text
	if dec, ok := strings.CutPrefix(d.Title, decodedPrefix); ok && dec != "" {
		s += "   [" + dec + "]"
	}
	return s
}

// Transcript keeps the transcript's lines as text, at most max of them,
// for the Copy and Download buttons. Safe for concurrent use.
type Transcript struct {
	mu    sync.Mutex
	max   int
	lines []string
}

// NewTranscript keeps the last max lines.
func NewTranscript(max int) *Transcript { return &Transcript{max: max} }

// Add appends a line, forgetting the oldest beyond max.
func (t *Transcript) Add(d Display) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, d.Plain())
	if over := len(t.lines) - t.max; t.max > 0 && over > 0 {
		t.lines = append(t.lines[:0], t.lines[over:]...)
	}
}

// Clear forgets every line.
func (t *Transcript) Clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = nil
}

// Len is the number of lines kept.
func (t *Transcript) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.lines)
}

// Text is the transcript, one line per line, each ending in a newline.
func (t *Transcript) Text() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return strings.Join(t.lines, "\n") + "\n"
}

// Typeable reports whether a command shown in a lesson's text can be
// typed into the terminal as it is: a line of the terminal's grammar
// ([lesson.ParseTyped]) that is not a mere word sent as an SMTP command,
// so "telnet mx.sandbox.test 25" and "EHLO laptop.example" are, and
// "sandbox.test", "220" or "telnet host port" are not.
func Typeable(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return false
	}
	a, err := lesson.ParseTyped(s)
	switch {
	case err != nil:
		return false
	case a.Kind == lesson.Connect:
		// The world's hosts all have a dot: "telnet host 587" is a pattern.
		return strings.Contains(a.Host, ".")
	case a.Kind != lesson.Send:
		return true
	}
	verb, arg, _ := strings.Cut(s, " ")
	arg = strings.TrimSpace(arg)
	// A verb named in the text ("the server offers AUTH", "MAIL FROM") is
	// not a command unless it is complete as it stands (RFC 5321 §4.1.1).
	switch strings.ToUpper(verb) {
	case "STARTTLS", "QUIT", "RSET", "NOOP", "DATA", "HELP":
		return true
	case "HELO", "EHLO", "VRFY", "EXPN", "AUTH":
		return arg != ""
	case "MAIL", "RCPT":
		return strings.Contains(arg, ":")
	}
	return false
}

// Placeholders of the terminal's input: a real command to type, never
// the terminal's own syntax. Commands stay as the wire has them in every
// language.
const (
	PlaceholderIdle    = "telnet mx.sandbox.test 25"
	PlaceholderCommand = "EHLO student.example"
)

// PlaceholderLesson is the input's placeholder in a lesson, in c's
// language: no command, since an example could be the step's answer.
func PlaceholderLesson(c *i18n.Catalog) string { return c.T("term.placeholder.lesson") }

// PlaceholderData is the input's placeholder inside a message, in c's
// language.
func PlaceholderData(c *i18n.Catalog) string { return c.T("term.placeholder.data") }

// Open reports whether a state is a connection being opened or open: the
// Disconnect button is enabled, the input takes SMTP commands.
func Open(s ConnState) bool {
	switch s {
	case Connecting, Connected, Silent, Secure:
		return true
	}
	return false
}

// Announcement is the one short sentence a screen reader hears when the
// connection changes state (target is "host:port", or "" once closed),
// in c's language (nil: English).
func Announcement(c *i18n.Catalog, s ConnState, target string) string {
	door := c.T("announce.the-server")
	if host, port, ok := strings.Cut(target, ":"); ok {
		door = c.T("announce.door", host, port)
	}
	switch s {
	case Connecting:
		return c.T("announce.connecting", door)
	case Connected:
		return c.T("announce.connected", door)
	case Silent:
		return c.T("announce.silent", door)
	case Secure:
		return c.T("announce.secure", door)
	case Closed:
		return c.T("announce.closed")
	case Refused:
		return c.T("announce.refused", door)
	case TimedOut:
		return c.T("announce.timed-out", door)
	case UnknownHost:
		return c.T("announce.unknown", door)
	case Idle:
		return ""
	}
	return c.T("announce.other", string(s))
}

// Announcer paces what a polite live region says: at most one sentence
// per Gap, the latest one winning when several come closer together (a
// lesson played at once changes state many times a second), so the
// screen reader is told where things stand, not every step of the way.
type Announcer struct {
	Gap time.Duration
	// Say puts a sentence in the live region; for a held sentence it
	// runs on a timer's goroutine.
	Say func(string)

	mu      sync.Mutex
	last    time.Time
	pending string
	timer   bool
}

// Announce says s now, or once Gap has passed since the last sentence.
func (a *Announcer) Announce(s string) {
	if s == "" {
		return
	}
	a.mu.Lock()
	t := time.Now()
	if a.last.IsZero() || t.Sub(a.last) >= a.Gap && !a.timer {
		a.last = t
		a.mu.Unlock()
		a.Say(s)
		return
	}
	a.pending = s
	if a.timer {
		a.mu.Unlock()
		return
	}
	a.timer = true
	wait := a.Gap - t.Sub(a.last)
	a.mu.Unlock()
	time.AfterFunc(wait, a.flush)
}

func (a *Announcer) flush() {
	a.mu.Lock()
	s := a.pending
	a.pending, a.timer, a.last = "", false, time.Now()
	a.mu.Unlock()
	if s != "" {
		a.Say(s)
	}
}

// HintCommand is the command a hint spells out, in any language, or "":
// "Type telnet mx.sandbox.test 25 again." and "Digite telnet
// mx.sandbox.test 25" give "telnet mx.sandbox.test 25". A run of the
// hint's words is the shortest that is [Typeable], then the words after
// it that look like arguments (a host, a port, an address, tls or plain;
// AUTH's user and password). The first run with such an argument wins
// ("EHLO relay.example, and read the list for STARTTLS"), else the last
// bare one ("Type QUIT"), so a verb named in a sentence ("EHLO followed
// by a name") is passed over.
func HintCommand(hint string) string {
	trim := func(s string) string { return strings.TrimRight(s, ".,;:!?…)»”\"'") }
	words := strings.Fields(hint)
	for i, w := range words {
		words[i] = trim(w)
	}
	last := ""
	for start := 0; start < len(words); start++ {
		run, end := "", start
		for e := start + 1; e <= len(words) && e <= start+6; e++ {
			if c := strings.Join(words[start:e], " "); Typeable(c) {
				run, end = c, e
				break
			}
		}
		if run == "" {
			continue
		}
		auth := strings.EqualFold(words[start], "AUTH")
		for end < len(words) && (argLike(words[end]) || auth && end < start+4) && Typeable(run+" "+words[end]) {
			run += " " + words[end]
			end++
		}
		for _, w := range words[start+1 : end] {
			if argLike(w) {
				return run
			}
		}
		last = run
		start = end - 1
	}
	return last
}

// argLike reports a word that reads as a command's argument rather than
// as a word of a sentence.
func argLike(w string) bool {
	switch strings.ToLower(w) {
	case "tls", "plain":
		return true
	}
	return strings.ContainsAny(w, ".:<>@/=0123456789") || (w == strings.ToUpper(w) && w != strings.ToLower(w))
}
