package headless_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/headless"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/server/sandbox"
)

func TestFormatLine(t *testing.T) {
	for _, tt := range []struct {
		l    session.Line
		want string
	}{
		{session.Line{Who: session.Client, Text: "EHLO x"}, "-> EHLO x"},
		{session.Line{Who: session.Server, Text: "250 ok", Secure: true}, "<~ 250 ok"},
		{session.Line{Who: session.Client, Text: "AUTH PLAIN AGZvbwBiYXJiYXo=", Secure: true, Decoded: `\0foo\0barbaz`}, `~> AUTH PLAIN AGZvbwBiYXJiYXo=   [\0foo\0barbaz]`},
		{session.Line{Who: session.TLS, Text: "TLS 1.3"}, "=== TLS 1.3"},
		{session.Line{Who: session.Note, Text: "Connected."}, "=== Connected."},
	} {
		if got := headless.FormatLine(tt.l); got != tt.want {
			t.Errorf("FormatLine = %q, want %q", got, tt.want)
		}
	}
}

func TestUnknownLesson(t *testing.T) {
	err := headless.Run(context.Background(), "http://127.0.0.1:1", []string{"first-contact", "no-such-lesson"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no lesson no-such-lesson (lessons: first-contact,") {
		t.Fatalf("Run = %v", err)
	}
}

// TestBuiltinLessons plays every built-in lesson against the real
// sandbox, started in-process, as `portlab scenarios run --all` does.
func TestBuiltinLessons(t *testing.T) {
	s, err := sandbox.New(sandbox.Config{LabsPerClient: 100, DropTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err = (&headless.Runner{Server: s.URL(), Out: &out}).Run(ctx, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if n := strings.Count(out.String(), "PASS "); n != len(scenarios.List()) {
		t.Errorf("%d lessons passed of %d:\n%s", n, len(scenarios.List()), out.String())
	}
	// Predictions are answered (correctly) and printed; tasks are played
	// by their solution.
	for _, s := range []string{`predicted "Refused at once" (right)`, `predicted "Silence until a time-out" (right)`, "find-a-port            task by its solution: telnet smtp.relay.test 2525"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

// A failed expectation's reply is followed by its explanation's gist.
func TestFailedStepExplained(t *testing.T) {
	lib, err := scenarios.Load(fstest.MapFS{"auth-too-early.md": {Data: []byte(`---
title: AUTH too early
summary: A wrong expectation, to see the runner explain the reply.
level: beginner
minutes: 1
profile: datacenter
teaches: L3
---

# AUTH too early

## Connect {#connect}

` + "```step" + `
do: connect smtp.relay.test:587
expect: 220
` + "```" + `

## Log in before STARTTLS {#auth}

` + "```step" + `
do: send AUTH PLAIN AGZvbwBiYXJiYXo=
expect: 235
mode: typed
hint: Type AUTH PLAIN and the credentials.
` + "```" + `
`)}, scenarios.CourseFile: {Data: []byte("auth-too-early\n")}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.New(sandbox.Config{LabsPerClient: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	err = (&headless.Runner{Server: s.URL(), Out: &out, Library: lib}).Run(ctx, nil)
	t.Log(out.String())
	if err == nil {
		t.Fatalf("the lesson passed:\n%s", out.String())
	}
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		if strings.Contains(l, "FAIL  2/2") {
			if !strings.Contains(l, `got "530 5.7.0`) || i+1 >= len(lines) || !strings.Contains(lines[i+1], "STARTTLS") {
				t.Errorf("no gist under the failed reply:\n%s", out.String())
			}
			return
		}
	}
	t.Errorf("no failed step 2:\n%s", out.String())
}
