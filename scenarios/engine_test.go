package scenarios_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/sandbox"
)

// world is the real sandbox, started in-process (only tests import it:
// the engine itself imports nothing from the server), and one lab in it.
type world struct {
	s     *sandbox.Sandbox
	api   *httpapi.Client
	lab   *httpapi.Lab
	mu    sync.Mutex
	dials []scenarios.Target
}

// newSandbox starts a sandbox whose dropped connections time out quickly.
func newSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	s, err := sandbox.New(sandbox.Config{DropTimeout: 200 * time.Millisecond, LabsPerClient: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// newWorld opens a new lab in s (a new sandbox when s is nil).
func newWorld(t *testing.T, s *sandbox.Sandbox) *world {
	t.Helper()
	if s == nil {
		s = newSandbox(t)
	}
	api := &httpapi.Client{Server: s.URL()}
	l, err := api.CreateLab(context.Background(), "datacenter")
	if err != nil {
		t.Fatal(err)
	}
	return &world{s: s, api: api, lab: l}
}

// Dial records each target and dials through the real gateway.
func (w *world) Dial(ctx context.Context, t scenarios.Target) (net.Conn, error) {
	w.mu.Lock()
	w.dials = append(w.dials, t)
	w.mu.Unlock()
	return tunnel.Dialer{}.Dial(ctx, t)
}

type recorder struct {
	mu     sync.Mutex
	events []scenarios.Event
	lines  []session.Line
}

func (r *recorder) event(e scenarios.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}
func (r *recorder) line(l session.Line) {
	r.mu.Lock()
	r.lines = append(r.lines, l)
	r.mu.Unlock()
}

func (r *recorder) transcript() string {
	var b strings.Builder
	for _, l := range r.lines {
		lock := " "
		if l.Secure {
			lock = "*"
		}
		fmt.Fprintf(&b, "%s %-6s %s\n", lock, l.Who, l.Text)
	}
	return b.String()
}

func (r *recorder) log() string {
	var b strings.Builder
	for _, e := range r.events {
		id := ""
		if e.Step != nil {
			id = e.Step.ID
		}
		fmt.Fprintf(&b, "%s %s %s %q %q\n", e.Kind, id, e.Typed, e.Result, e.Reason)
	}
	return b.String()
}

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newEngine(t *testing.T, w *world, rec *recorder) *scenarios.Engine {
	t.Helper()
	return &scenarios.Engine{
		Dialer: w, Mailbox: httpapi.Mailbox{Client: w.api, Lab: w.lab}, Policy: httpapi.LabPolicy{Client: w.api, Lab: w.lab}, RootCAs: w.s.Roots(),
		Server: w.s.URL(), Lab: w.lab.ID, Key: w.lab.Key,
		Now:     func() time.Time { return epoch },
		Sleep:   func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		OnEvent: rec.event, OnLine: rec.line,
		ReplyTimeout: 5 * time.Second, DialTimeout: 5 * time.Second,
	}
}

func mustParse(t *testing.T, name, src string) *lesson.Lesson {
	t.Helper()
	l, err := lesson.Parse(name+".md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFirstContact(t *testing.T) {
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := lib.Lesson("first-contact", "en")
	w := newWorld(t, nil)
	var transcripts [2]string
	for i := range transcripts {
		rec := &recorder{}
		if err := newEngine(t, w, rec).Run(context.Background(), l); err != nil {
			t.Fatalf("run %d: %v\n%s\n%s", i, err, rec.log(), rec.transcript())
		}
		transcripts[i] = rec.transcript() + rec.log()
		last := rec.events[len(rec.events)-1]
		if last.Kind != scenarios.LessonPassed || last.Steps != len(l.Steps) {
			t.Errorf("last event %+v", last)
		}
	}
	if transcripts[0] != transcripts[1] {
		t.Errorf("two runs differ:\n%s\n---\n%s", transcripts[0], transcripts[1])
	}
	for _, want := range []string{
		"note   telnet: Unable to connect to remote host: Connection refused",
		"note   telnet: Unable to connect to remote host: Connection timed out",
		"server * OK [CAPABILITY IMAP4rev1 ",
		"note   Connection closed by foreign host.",
	} {
		if !strings.Contains(transcripts[0], want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcripts[0])
		}
	}
	// The profile travels in each Target.
	var profiles []string
	for _, d := range w.dials {
		profiles = append(profiles, d.Profile)
	}
	if got := strings.Join(profiles, ","); !strings.HasSuffix(got, "datacenter,home-isp,cloud-vm") {
		t.Errorf("dial profiles %s", got)
	}
}

// submission plays port 587 of the real relay: Postfix's replies.
const submission = `---
title: Submission on the sandbox
level: beginner
minutes: 5
profile: home-isp
teaches: L5
---

## Connect {#connect}
` + "```step" + `
do: connect smtp.relay.test:587
expect: 220 "smtp.relay.test"
` + "```" + `

## Hello {#ehlo}
` + "```step" + `
do: send EHLO laptop.example
expect: 250
expect: capability STARTTLS
expect: no capability AUTH
mode: typed
hint: EHLO and a name
` + "```" + `

## AUTH in the clear {#auth-clear}
` + "```step" + `
do: auth plain foo barbaz
expect: 530 5.7.0 "Must issue a STARTTLS command first"
` + "```" + `

## STARTTLS {#starttls}
` + "```step" + `
do: starttls
expect: 220
expect: tls at least 1.2
mode: typed
hint: type STARTTLS
` + "```" + `

## Hello again {#ehlo-tls}
` + "```step" + `
do: send EHLO laptop.example
expect: capability AUTH PLAIN
expect: no capability STARTTLS
` + "```" + `

## Bad password {#bad-password}
` + "```step" + `
do: auth plain foo wrong
expect: 535 5.7.8 "authentication failed"
` + "```" + `

## Good password {#auth}
` + "```step" + `
do: auth plain foo barbaz
expect: 235
mode: typed
hint: auth plain foo barbaz
` + "```" + `

## Send {#send}
` + "```step" + `
do: message from foo@sandbox.test to bob@sandbox.test subject "Hello, sandbox"
expect: 250
` + "```" + `

## Bye {#quit}
` + "```step" + `
do: send QUIT
expect: 221
expect: closed
` + "```" + `

## Implicit TLS {#implicit}
` + "```step" + `
do: connect legacy.mail.test:465 tls
expect: 220
expect: tls at least 1.2
` + "```" + `

## Close {#close}
` + "```step" + `
do: close
` + "```" + `

## Plaintext at 465 {#silent}
` + "```step" + `
do: connect legacy.mail.test:465
expect: silent 200ms
` + "```" + `

## Mailbox {#mailbox}
` + "```step" + `
do: mailbox
expect: message from=foo@sandbox.test to=bob@sandbox.test subject="sandbox" host=smtp.relay.test port=587 tls=yes tls-version=1.2 auth=foo
expect: no message port=465
` + "```" + `
`

// script types lines in turn, whatever the step.
type script struct {
	lines []string
	steps []string
}

func (s *script) Typed(_ context.Context, st *lesson.Step, _ int) (string, error) {
	if len(s.lines) == 0 {
		return "", errors.New("script exhausted")
	}
	line := s.lines[0]
	s.lines = s.lines[1:]
	s.steps = append(s.steps, st.ID)
	return line, nil
}

func TestTypedStepsAndTLS(t *testing.T) {
	l := mustParse(t, "fake-submission", submission)
	w := newWorld(t, nil)
	rec := &recorder{}
	e := newEngine(t, w, rec)
	in := &script{lines: []string{
		"QUIT",                // ehlo: would end the connection, held back
		"EHLO",                // ehlo: sent, 501 from go-smtp: wrong try
		"ehlo laptop.example", // passes
		"starttls",            // passes: typed STARTTLS runs the handshake
		"AUTH PLAIN " + session.PlainResponse("foo", "nope"), // 535: wrong try
		"auth plain foo barbaz",                              // the helper passes
	}}
	e.Input = in
	if err := e.Run(context.Background(), l); err != nil {
		t.Fatalf("%v\n%s\n%s", err, rec.log(), rec.transcript())
	}
	var retries []string
	for _, ev := range rec.events {
		if ev.Kind == scenarios.StepRetry {
			retries = append(retries, ev.Step.ID+": "+ev.Reason+" / hint: "+ev.Hint)
		}
	}
	want := []string{
		"ehlo: QUIT would end the connection the next steps need; this step needs EHLO / hint: EHLO and a name",
		"ehlo: expected reply 250, got ",
		"auth: expected reply 235, got \"535 5.7.8 Error: authentication failed: authentication failure\" / hint: auth plain foo barbaz",
	}
	if len(retries) != len(want) {
		t.Fatalf("retries:\n%s", strings.Join(retries, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(retries[i], want[i]) {
			t.Errorf("retry %d = %q, want prefix %q", i, retries[i], want[i])
		}
	}
	tr := rec.transcript()
	for _, s := range []string{"* client AUTH PLAIN AGZvbwBiYXJiYXo=", "  tls    TLS 1.3", "* server 235", "Date: Wed, 04 Mar 2026 05:06:07 +0000", "Message-ID: <send.fake-submission@portlab.test>"} {
		if !strings.Contains(tr, s) {
			t.Errorf("transcript lacks %q:\n%s", s, tr)
		}
	}

	// Played again in the same lab: only the new message counts, and a
	// lesson that sends nothing cannot pass on the old one.
	if err := newEngine(t, w, &recorder{}).Run(context.Background(), l); err != nil {
		t.Fatalf("second run: %v", err)
	}
	onlyCheck := mustParse(t, "check-only", strings.SplitN(submission, "## Connect", 2)[0]+
		"## Mailbox {#mailbox}\n```step\ndo: mailbox\nexpect: message to=bob@sandbox.test\n"+
		"predict: Is a new message there?\nchoice: * Yes | It was sent.\nchoice: No | It was not.\n```\n")
	err := newEngine(t, w, &recorder{}).Run(context.Background(), onlyCheck)
	var se *scenarios.StepError
	if !errors.As(err, &se) || se.Step != "mailbox" || !strings.Contains(se.Reason, "no new message in the mailbox with to=bob@sandbox.test; the mailbox has no new messages") {
		t.Fatalf("check-only run: %v", err)
	}
}

func TestStepFailureReasons(t *testing.T) {
	head := strings.Replace(strings.SplitN(submission, "## Connect", 2)[0], "home-isp", "datacenter", 1)
	tests := []struct {
		name, steps, step, reason string
	}{
		{"wrong-code", "## C {#c}\n```step\ndo: connect mx.sandbox.test:25\nexpect: 554\n```\n",
			"c", `expected reply 554, got "220 mx.sandbox.test ESMTP portlab sandbox"`},
		{"refused-not-timeout", "## C {#c}\n```step\ndo: connect mx.sandbox.test:25 under cloud-vm\nexpect: refused\n```\n",
			"c", `expected "Connection refused", got "Connection timed out"`},
		{"unexpected-refusal", "## C {#c}\n```step\ndo: connect smtp.relay.test:465\nexpect: 220\n```\n",
			"c", `expected reply 220, got "Connection refused"; could not connect: Connection refused`},
		{"not-silent", "## C {#c}\n```step\ndo: connect mx.sandbox.test:25\nexpect: silent 1s\n```\n",
			"c", `expected silence for 1s, got "220 mx.sandbox.test ESMTP portlab sandbox"`},
		{"capability", "## C {#c}\n```step\ndo: connect mx.sandbox.test:25\nexpect: 220\n```\n## E {#e}\n```step\ndo: send EHLO x\nexpect: capability AUTH\n```\n",
			"e", "expected the server to offer AUTH; it offers PIPELINING, SIZE, STARTTLS, ENHANCEDSTATUSCODES, 8BITMIME"},
		{"no-tls", "## C {#c}\n```step\ndo: connect mx.sandbox.test:25\nexpect: 220\n```\n## E {#e}\n```step\ndo: send NOOP\nexpect: tls at least 1.2\n```\n",
			"e", "expected TLS, but the connection is not encrypted"},
		// other-datacenter: outside the relay's trusted network.
		{"relay-denied-passes-then-mailbox", "## C {#c}\n```step\ndo: connect mx.sandbox.test:25 under other-datacenter\nexpect: 220\n```\n" +
			"## H {#h}\n```step\ndo: send EHLO x\nexpect: 250\n```\n" +
			"## M {#m}\n```step\ndo: message from a@example.org to v@example.org\nexpect: 554 5.7.1 \"Relay access denied\"\n```\n" +
			"## B {#b}\n```step\ndo: mailbox\nexpect: message to=v@example.org\n```\n",
			"b", "no new message in the mailbox with to=v@example.org; the mailbox has no new messages"},
	}
	s := newSandbox(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A last step for the student, which the lint asks of every
			// lesson; each lesson here fails before it.
			student := "## P {#p}\n```step\ndo: wait 1ms\npredict: Q?\nchoice: * A | why\nchoice: B | why\n```\n"
			l := mustParse(t, tt.name, head+tt.steps+student)
			rec := &recorder{}
			err := newEngine(t, newWorld(t, s), rec).Run(context.Background(), l)
			var se *scenarios.StepError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a scenarios.StepError\n%s", err, rec.transcript())
			}
			if se.Step != tt.step || se.Reason != tt.reason {
				t.Errorf("got step %s: %s\nwant step %s: %s", se.Step, se.Reason, tt.step, tt.reason)
			}
			last := rec.events[len(rec.events)-1]
			if last.Kind != scenarios.LessonFailed || last.Reason != tt.reason {
				t.Errorf("last event %+v", last)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		ok   bool
	}{
		{"EHLO *", "ehlo laptop", true}, {"EHLO *", "HELO laptop", false}, {"*", "", true},
		{"a*b*c", "axxbyyc", true}, {"a*a", "a", false}, {"MAIL FROM:<*@sandbox.test>", "mail from:<x@sandbox.test>", true},
	} {
		if scenarios.Glob(tt.p, tt.s) != tt.ok {
			t.Errorf("scenarios.Glob(%q, %q) != %v", tt.p, tt.s, tt.ok)
		}
	}
}
