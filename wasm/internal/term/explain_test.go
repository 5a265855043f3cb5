package term

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/explain"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// replies returns the recorded lines that can be opened to an explanation.
func (r *recorder) replies() []Display {
	var out []Display
	for _, l := range r.lines {
		if l.Reply {
			out = append(out, l)
		}
	}
	return out
}

func (r *recorder) index(mark, text string) int {
	for i, l := range r.lines {
		if l.Mark == mark && strings.Contains(l.Code+l.Text, text) {
			return i
		}
	}
	return -1
}

// Each reply's last line carries the command it answers and the door's
// role; the other lines of a multi-line reply are part of it.
func TestReplyContext(t *testing.T) {
	term, ui := newFakeMTATerminal(t)
	term.Input("open smtp.relay.test 587")
	ui.waitFor(t, "the greeting", func(r *recorder) bool { return r.ports[587] == PortOpen })
	for _, l := range []string{"EHLO student.example", "AUTH PLAIN AGZvbwBiYXJiYXo=", "EHOL x", "STARTTLS", "EHLO student.example", "auth plain foo barbaz", "MAIL FROM:<foo@relay.test>", "DATA", "Subject: hi", ".", "QUIT"} {
		term.Input(l)
	}
	ui.waitFor(t, "closed", func(r *recorder) bool { return r.last() == Closed })
	ui.mu.Lock()
	defer ui.mu.Unlock()
	want := []struct{ line, cmd string }{
		{"220 smtp.relay.test ESMTP", "CONNECT"},
		{"250 STARTTLS", "EHLO"},
		{"530 5.7.0 Must issue a STARTTLS command first", "AUTH"},
		{"500 5.5.2 Error: command not recognized", "EHOL"},
		{"220 2.0.0 Ready to start TLS", "STARTTLS"},
		{"250 AUTH PLAIN LOGIN", "EHLO"},
		{"235 2.7.0", "AUTH"},
		{"250 2.1.0 Ok", "MAIL"},
		{"354 End data", "DATA"},
		{"250 2.0.0 Ok: queued as 1", "DATA"},
		{"221 2.0.0 Bye", "QUIT"},
	}
	got := ui.replies()
	if len(got) != len(want) {
		t.Fatalf("%d reply lines to explain, want %d:\n%s", len(got), len(want), ui.transcript())
	}
	for i, w := range want {
		d := got[i]
		if !strings.HasPrefix(d.Code+d.Text, w.line) || d.Context != (explain.Context{Command: w.cmd, Role: "submission"}) {
			t.Errorf("reply %d: %s%s in %+v, want %q after %s", i, d.Code, d.Text, d.Context, w.line, w.cmd)
		}
	}
	for _, l := range ui.lines {
		if l.Code == "250" && strings.HasPrefix(l.Text, "-") && l.Reply {
			t.Errorf("a continuation line is explained on its own: %s%s", l.Code, l.Text)
		}
	}
	// The explanation a student opens on 530 after AUTH on 587 says to
	// send STARTTLS.
	b, err := os.ReadFile("../../../scenarios/explain/data/en.json")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := explain.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := cat.Reply(got[2].Code+got[2].Text, got[2].Context)
	if !strings.Contains(e.Gist+e.Here+e.Next, "STARTTLS") {
		t.Errorf("530 after AUTH on a submission door: %+v", e)
	}
}

// After 354 the terminal says it is inside the message until the dot, and
// a command word typed there gets a reminder while it goes into the
// message as text.
func TestDataNotice(t *testing.T) {
	term, ui := newFakeMTATerminal(t)
	term.Input("open smtp.relay.test 587")
	ui.waitFor(t, "the greeting", func(r *recorder) bool { return r.ports[587] == PortOpen })
	term.Input("MAIL FROM:<a@relay.test>")
	term.Input("DATA")
	ui.waitFor(t, "354", func(r *recorder) bool { return r.data })
	if ui.notice.Text != DataNotice(nil) || ui.notice.Reminder != "" {
		t.Errorf("notice after 354: %+v", ui.notice)
	}
	term.Input("QUIT")
	term.Input("Quit smoking")
	term.Input("NOOP")
	ui.waitFor(t, "the NOOP line", func(r *recorder) bool { return r.has("->", "NOOP") && r.notice.Reminder == dataReminder(nil, "NOOP") })
	ui.mu.Lock()
	if !ui.data || ui.notice.Text != DataNotice(nil) {
		t.Errorf("the notice went away after a command word: %+v", ui.notice)
	}
	q := ui.index("->", "QUIT")
	if q < 0 || q+1 >= len(ui.lines) || ui.lines[q+1].Who != "hint" || ui.lines[q+1].Text != dataReminder(nil, "QUIT") {
		t.Errorf("no reminder right after QUIT:\n%s", ui.transcript())
	}
	if i := ui.index("->", "Quit smoking"); i < 0 || i+1 < len(ui.lines) && ui.lines[i+1].Who == "hint" {
		t.Errorf("a message line that is not a command got a reminder:\n%s", ui.transcript())
	}
	ui.mu.Unlock()
	term.Input(".")
	ui.waitFor(t, "the end of the message", func(r *recorder) bool { return r.has("<-", "queued as 1") && !r.data })
	if ui.notice != (Notice{}) {
		t.Errorf("notice after the dot: %+v", ui.notice)
	}
	term.Close()
}

// A line the terminal does not send is echoed as typed, with why.
func TestRefusedLinesSayWhy(t *testing.T) {
	ui := newRecorder()
	term := New(Config{UI: ui, Dial: func(context.Context, string, int) (net.Conn, error) { return nil, net.ErrClosed }})
	term.Input("EHLO student.example")
	term.Input("open smtp.relay.test 99999")
	term.Input("starttls")
	ui.mu.Lock()
	defer ui.mu.Unlock()
	want := []struct{ who, text string }{
		{"typed", "EHLO student.example"},
		{"error", "Not sent: not connected. Type open HOST PORT first"},
		{"typed", "open smtp.relay.test 99999"},
		{"error", "Not sent: "},
		{"typed", "starttls"},
		{"error", "Not sent: not connected"},
	}
	if len(ui.lines) != len(want) {
		t.Fatalf("transcript:\n%s", ui.transcript())
	}
	for i, w := range want {
		if l := ui.lines[i]; l.Who != w.who || !strings.HasPrefix(l.Text, w.text) {
			t.Errorf("line %d: %s %q, want %s %q", i, l.Who, l.Text, w.who, w.text)
		}
	}
}

// idleMTA greets, does STARTTLS, answers EHLO, and when hangup closes says
// 421 and hangs up on its own, as the relay does on an idle session.
func idleMTA(c net.Conn, cert *tls.Certificate, hangup <-chan struct{}) {
	defer c.Close()
	var rw *bufio.ReadWriter
	reset := func(c net.Conn) { rw = bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)) }
	reset(c)
	say := func(s string) { rw.WriteString(s + "\r\n"); rw.Flush() }
	say("220 smtp.relay.test ESMTP portlab")
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		switch strings.TrimSpace(line) {
		case "STARTTLS":
			say("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*cert}})
			if tc.Handshake() != nil {
				return
			}
			c = tc
			reset(tc)
		case "EHLO again":
			say("250 smtp.relay.test")
			<-hangup
			say("421 4.4.2 smtp.relay.test Error: timeout exceeded")
			return
		default:
			say("250 smtp.relay.test")
		}
	}
}

// A server that hangs up on its own is announced when it happens, not at
// the next command; a command typed while the terminal listens (after the
// TLS handshake, when the server's session ticket arrives) still runs.
func TestServerCloseAnnounced(t *testing.T) {
	pool, cert := testCA(t)
	ui := newRecorder()
	hangup := make(chan struct{})
	term := New(Config{UI: ui, RootCAs: pool, Dial: func(context.Context, string, int) (net.Conn, error) {
		client, server := net.Pipe()
		go idleMTA(server, cert, hangup)
		return client, nil
	}})
	term.Input("open smtp.relay.test 587")
	ui.waitFor(t, "the greeting", func(r *recorder) bool { return r.ports[587] == PortOpen })
	term.Input("EHLO student.example")
	term.Input("STARTTLS")
	ui.waitFor(t, "TLS", func(r *recorder) bool { return r.last() == Secure })
	term.Input("EHLO again")
	ui.waitFor(t, "EHLO inside TLS", func(r *recorder) bool { return r.has("<~", "250 smtp.relay.test") })
	close(hangup)
	ui.waitFor(t, "the close, with no command typed", func(r *recorder) bool { return r.last() == Closed })
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if !ui.has("<~", "421 4.4.2") || !ui.has("===", "Connection closed by foreign host.") {
		t.Errorf("transcript:\n%s", ui.transcript())
	}
	if term.Connected() {
		t.Error("the terminal still thinks it is connected")
	}
}

// The lesson player's lines come from the engine: a state change, then
// its note, then the session's lines. The conversation gives each what
// its explanation needs.
func TestConversationForTheEngine(t *testing.T) {
	var cv Conversation
	target := scenarios.Target{Host: "mx.sandbox.test", Port: 25}
	cv.State(scenarios.StateChange{State: Connecting, Target: target})
	cv.Line(session.Line{Who: session.Note, Text: "Trying mx.sandbox.test..."})
	if d := cv.Line(session.Line{Who: session.Server, Text: "220 mx.sandbox.test ESMTP"}); !d.Reply || d.Context != (explain.Context{Command: "CONNECT", Role: "relay"}) {
		t.Errorf("greeting: %+v", d)
	}
	cv.Line(session.Line{Who: session.Client, Text: "RCPT TO:<a@example.com>"})
	if d := cv.Line(session.Line{Who: session.Server, Text: "554 5.7.1 <a@example.com>: Relay access denied"}); !d.Reply || d.Context.Command != "RCPT" {
		t.Errorf("relay refusal: %+v", d)
	}
	cv.State(scenarios.StateChange{State: Refused, Target: target, Err: &tunnel.CloseError{Code: tunnel.CodeRefused}})
	if d := cv.Line(session.Line{Who: session.Note, Text: "telnet: Unable to connect to remote host: Connection refused"}); d.Close != int(tunnel.CodeRefused) {
		t.Errorf("the refusal's note: close %d", d.Close)
	}
	if d := cv.Line(session.Line{Who: session.Note, Text: "another note"}); d.Close != 0 {
		t.Errorf("a later note: close %d", d.Close)
	}
}

// TestTerminalWordsTranslated: the state label, the data notice and
// reminder and the silent door's note come from the catalog, in every
// language declared complete, with the same placeholders as English.
func TestTerminalWordsTranslated(t *testing.T) {
	states := []ConnState{Idle, Connecting, Connected, Silent, Secure, Closed, Refused, TimedOut, UnknownHost}
	for _, s := range states {
		if got := StateLabel(nil, s); got != string(s) {
			t.Errorf("English label of %q = %q, want the state's name", s, got)
		}
	}
	if got, want := i18n.EnglishCatalog.T("term.silent", 3*time.Second, "smtp.relay.test", 465), englishSilent(3*time.Second); got != want {
		t.Errorf("English silent note %q, the engine says %q", got, want)
	}
	for _, lang := range locales.Complete {
		c := locales.Catalog(lang)
		for _, s := range states {
			if got := StateLabel(c, s); got == "" || got == "term.state."+string(s) {
				t.Errorf("%s: no label for state %q", lang, s)
			}
		}
		if StateLabel(c, Connected) == string(Connected) {
			t.Errorf("%s: the state label is the raw English name", lang)
		}
		if DataNotice(c) == DataNotice(nil) {
			t.Errorf("%s: the data notice is English: %q", lang, DataNotice(c))
		}
		if r := dataReminder(c, "NOOP"); r == dataReminder(nil, "NOOP") || !strings.Contains(r, "NOOP") {
			t.Errorf("%s: reminder %q", lang, r)
		}
		if n := c.T("term.silent", 3*time.Second, "smtp.relay.test", 465); n == englishSilent(3*time.Second) || !strings.Contains(n, "open smtp.relay.test 465 tls") || !strings.Contains(n, "3s") {
			t.Errorf("%s: silent note %q", lang, n)
		}
	}
}

// englishSilent is the engine's own note for a silent 465 door.
func englishSilent(wait time.Duration) string {
	return scenarios.StateChange{State: Silent, Wait: wait, Target: scenarios.Target{Host: "smtp.relay.test", Port: 465}}.Note()
}
