package scenarios_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
)

// student types its lines in turn and answers predictions with choice.
type student struct {
	lines  []string
	choice int
	hints  []string // the hint of each try, as the engine gives it
}

func (s *student) Typed(_ context.Context, st *lesson.Step, attempt int) (string, error) {
	s.hints = append(s.hints, st.Hint(attempt))
	if len(s.lines) == 0 {
		return "", errors.New("the student has nothing more to type")
	}
	line := s.lines[0]
	s.lines = s.lines[1:]
	return line, nil
}

func (s *student) Predict(context.Context, *lesson.Step) (int, error) { return s.choice, nil }

// TestTaskByAnotherRoute: the fallback-2525 task passes by a route its
// solution does not script: 587 times out first, then 2525 with AUTH
// PLAIN and the message typed as SMTP commands, and without QUIT.
func TestTaskByAnotherRoute(t *testing.T) {
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := lib.Lesson("fallback-2525", "en")
	w := newWorld(t, nil)
	rec := &recorder{}
	e := newEngine(t, w, rec)
	in := &student{choice: 0, lines: []string{
		"check", // nothing done yet: not yet
		"telnet smtp.relay.test 587",
		"telnet smtp.relay.test 2525",
		"EHLO vm.example",
		"STARTTLS",
		"EHLO vm.example",
		"auth plain foo barbaz",
		"MAIL FROM:<foo@sandbox.test>",
		"RCPT TO:<bob@sandbox.test>",
		"DATA",
		"Subject: my own way",
		"",
		"Found 2525 by myself.",
		".",
		"check",
	}}
	e.Input = in
	if err := e.Run(context.Background(), l); err != nil {
		t.Fatalf("%v\n%s\n%s", err, rec.log(), rec.transcript())
	}
	var ports []int
	for _, d := range w.dials {
		ports = append(ports, d.Port)
	}
	if !slices.Equal(ports, []int{587, 587, 2525}) {
		t.Errorf("dials to ports %v, want 587 (the played step), 587, 2525", ports)
	}
	var checked, retries int
	passed := ""
	for _, ev := range rec.events {
		if ev.Step == nil || ev.Step.ID != "find-a-port" {
			continue
		}
		switch ev.Kind {
		case scenarios.TaskChecked:
			checked++
			if !strings.Contains(ev.Reason, "no new message") {
				t.Errorf("task checked after %q: %q", ev.Typed, ev.Reason)
			}
		case scenarios.StepRetry:
			retries++
			if ev.Typed != "check" || !strings.HasPrefix(ev.Reason, "not yet: no new message") {
				t.Errorf("retry after %q: %q", ev.Typed, ev.Reason)
			}
		case scenarios.StepPassed:
			passed = ev.Typed
		}
	}
	// The state is judged after each reply; the message counts once the
	// final "." is answered, before any QUIT or check.
	if passed != "." || retries != 1 || checked == 0 {
		t.Errorf("passed after %q, %d explicit checks failed, %d checks after lines\n%s", passed, retries, checked, rec.log())
	}
	if len(in.lines) != 1 {
		t.Errorf("lines left over: %q", in.lines)
	}
	tr := rec.transcript()
	for _, s := range []string{"Subject: my own way", "Your prediction: A greeting: 220 smtp.relay.test. Not quite: it was Silence until a time-out."} {
		if !strings.Contains(tr, s) {
			t.Errorf("transcript lacks %q:\n%s", s, tr)
		}
	}
}

// TestTaskCheckNotYet: a task whose state is not reached fails with what
// is missing when the input has nothing more to type.
func TestTaskCheckNotYet(t *testing.T) {
	l := mustParse(t, "task", `---
title: Task
level: beginner
minutes: 5
profile: datacenter
teaches: L1
---

## Log in over TLS {#login}
`+"```step"+`
mode: task
goal: Be logged in over TLS.
expect: authenticated foo
expect: tls at least 1.2
expect: state tls
hint: h
solution: telnet smtp.relay.test 587
`+"```"+`
`)
	w := newWorld(t, nil)
	rec := &recorder{}
	e := newEngine(t, w, rec)
	e.Input = &student{lines: []string{"EHLO early.example", "telnet smtp.relay.test 587", "EHLO a.example", "check"}}
	err := e.Run(context.Background(), l)
	var se *scenarios.StepError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "expected the connection logged in as foo") || !strings.Contains(se.Reason, "expected TLS") {
		t.Fatalf("got %v\n%s", err, rec.log())
	}
	if tr := rec.transcript(); !strings.Contains(tr, "No connection is open") {
		t.Errorf("a command before any connection is not answered:\n%s", tr)
	}

	// The same task reached: STARTTLS, then AUTH.
	rec = &recorder{}
	e = newEngine(t, w, rec)
	e.Input = &student{lines: []string{"telnet smtp.relay.test 587", "EHLO a.example", "STARTTLS", "EHLO a.example", "auth login foo barbaz"}}
	if err := e.Run(context.Background(), l); err != nil {
		t.Fatalf("%v\n%s", err, rec.log())
	}
}

const hintsLesson = `---
title: Hints
level: beginner
minutes: 5
profile: datacenter
teaches: L1
---

## Connect {#connect}
` + "```step" + `
do: connect mx.sandbox.test:25
expect: 220
` + "```" + `

## Say hello {#ehlo}
` + "```step" + `
do: send EHLO laptop.example
expect: 250
mode: typed
hint: Introduce yourself.
hint: The modern greeting starts with E.
hint: EHLO laptop.example
` + "```" + `

## Home {#home}
` + "```step" + `
do: profile home-isp
` + "```" + `

## Knock from home {#knock}
` + "```step" + `
do: connect mx.sandbox.test:25
expect: refused
predict: What happens?
choice: A greeting | The MX would greet you, but the knock never reaches it.
choice: * Refused | This home ISP blocks outbound 25 and refuses in the host's place.
` + "```" + `
`

// TestHintsAndAlternatives: at a typed step a valid other line goes to
// the real server and is explained, a wrecking line is held back with
// its reason, and each wrong try brings the next hint.
func TestHintsAndAlternatives(t *testing.T) {
	l := mustParse(t, "hints", hintsLesson)
	w := newWorld(t, nil)
	rec := &recorder{}
	e := newEngine(t, w, rec)
	in := &student{choice: 1, lines: []string{"HELO laptop.example", "QUIT", "NOOP", "MAIL FROM:<a@sandbox.test>", "EHLO laptop.example"}}
	e.Input = in
	if err := e.Run(context.Background(), l); err != nil {
		t.Fatalf("%v\n%s\n%s", err, rec.log(), rec.transcript())
	}
	type retry struct {
		typed, reason, hint string
		held                bool
	}
	var got []retry
	var predicted []scenarios.Event
	for _, ev := range rec.events {
		switch ev.Kind {
		case scenarios.StepRetry:
			got = append(got, retry{ev.Typed, ev.Reason, ev.Hint, ev.Held})
		case scenarios.StepPredicted:
			predicted = append(predicted, ev)
		}
	}
	want := []retry{
		{"HELO laptop.example", "the server answered your HELO with a plain greeting", "Introduce yourself.", false},
		{"QUIT", "QUIT would end the connection the next steps need", "The modern greeting starts with E.", true},
		{"NOOP", "the server answered your NOOP; this step needs EHLO", "EHLO laptop.example", false},
		{"MAIL FROM:<a@sandbox.test>", "MAIL would change the session the next steps rely on", "EHLO laptop.example", true},
	}
	if len(got) != len(want) {
		t.Fatalf("retries: %+v\n%s", got, rec.log())
	}
	for i, g := range got {
		if g.typed != want[i].typed || !strings.HasPrefix(g.reason, want[i].reason) || g.hint != want[i].hint || g.held != want[i].held {
			t.Errorf("retry %d = %+v, want %+v", i, g, want[i])
		}
	}
	tr := rec.transcript()
	for _, s := range []string{"client HELO laptop.example", "server 250 mx.sandbox.test", "client NOOP", "Not sent: QUIT would end the connection"} {
		if !strings.Contains(tr, s) {
			t.Errorf("transcript lacks %q:\n%s", s, tr)
		}
	}
	if strings.Contains(tr, "client QUIT") || strings.Contains(tr, "client MAIL") {
		t.Errorf("a held-back line was sent:\n%s", tr)
	}
	if len(predicted) != 1 || !predicted[0].Correct || predicted[0].Typed != "Refused" || !strings.Contains(predicted[0].Reason, "refuses in the host's place") {
		t.Errorf("prediction: %+v", predicted)
	}
}
