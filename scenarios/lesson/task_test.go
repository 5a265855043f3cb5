package lesson

import (
	"strings"
	"testing"
)

const taskLesson = `---
title: A task
level: beginner
minutes: 5
profile: cloud-vm
teaches: L6
---

## Knock {#knock}

` + "```step" + `
do: connect mx.sandbox.test:25
expect: timed out
predict: What happens when you knock on 25 here?
choice: A greeting | Only if the network lets 25 through.
choice: * Silence, then a time-out | The cloud network drops packets to 25.
choice: Refused | A refusal would need the packet to arrive.
` + "```" + `

## Deliver {#deliver}

` + "```step" + `
mode: task
goal: Find a port that gets through and deliver a message to bob.
expect: message to=bob@sandbox.test
expect: state closed
hint: Try the submission ports one by one.
hint: 587 and 465 time out here.
hint: telnet smtp.relay.test 2525
solution: telnet smtp.relay.test 2525
solution: EHLO vm.example
solution: QUIT
` + "```" + `
`

func TestTaskAndPrediction(t *testing.T) {
	l, err := Parse("task.md", []byte(taskLesson))
	if err != nil {
		t.Fatal(err)
	}
	knock, task := l.Steps[0], l.Steps[1]
	if knock.Predict == "" || len(knock.Choices) != 3 || knock.Correct() != 1 || knock.Choices[1].Why != "The cloud network drops packets to 25." {
		t.Errorf("prediction: %+v", knock.Choices)
	}
	if task.Mode != Task || task.Goal == "" || len(task.Solution) != 3 || task.Solution[0].Line != 30 {
		t.Errorf("task: %+v", task)
	}
	for n, want := range []string{"", "Try the submission ports one by one.", "587 and 465 time out here.", "telnet smtp.relay.test 2525", "telnet smtp.relay.test 2525"} {
		if got := task.Hint(n); got != want {
			t.Errorf("Hint(%d) = %q, want %q", n, got, want)
		}
	}
	if task.Answer() != "telnet smtp.relay.test 2525" {
		t.Errorf("Answer() = %q", task.Answer())
	}
}

// TestLintTask checks each new rule's message and line.
func TestLintTask(t *testing.T) {
	for _, tc := range []struct{ old, new, at, msg string }{
		{"expect: message to=bob@sandbox.test\nexpect: state closed\n", "", "mode: task", "a task needs at least one state expectation"},
		{"solution: telnet smtp.relay.test 2525\nsolution: EHLO vm.example\nsolution: QUIT\n", "", "mode: task", "a task needs a solution"},
		{"goal: Find a port that gets through and deliver a message to bob.\n", "", "mode: task", "a task needs a goal"},
		{"expect: state closed", "expect: capability AUTH", "expect: capability AUTH", "cannot be judged on the state a task reached"},
		{"expect: state closed", "expect: state open", "expect: state open", "state needs one of"},
		{"mode: task\n", "mode: task\ndo: send NOOP\n", "do: send NOOP", "a task has no do:"},
		{"solution: telnet smtp.relay.test 2525\n", "solution: telnet nowhere.test 2525\n", "solution: telnet nowhere", `unknown host "nowhere.test"`},
		{"solution: EHLO vm.example", "solution: telnet smtp.relay.test", "solution: telnet smtp.relay.test\n", "solution: want a host and a port"},
		{"hint: telnet smtp.relay.test 2525\n", "hint: telnet smtp.relay.test 2525\nhint: a fourth\n", "hint: a fourth", "at most 3 hints"},
		{"choice: * Silence", "choice: Silence", "predict:", "mark exactly one choice correct"},
		{"choice: Refused | A refusal would need the packet to arrive.", "choice: Refused", "choice: Refused", "choice: want"},
		{"predict: What happens when you knock on 25 here?\n", "", "choice: A greeting", "choice: without a predict: question"},
		{"expect: timed out\n", "expect: timed out\nmode: typed\nhint: h\n", "predict:", "predict: belongs to a played step"},
		{"expect: timed out\n", "expect: timed out\nhint: h\n", "hint: h", "hints belong to typed and task steps"},
	} {
		if strings.Count(taskLesson, tc.old) != 1 {
			t.Fatalf("edit %q: not exactly one occurrence", tc.old)
		}
		src := strings.Replace(taskLesson, tc.old, tc.new, 1)
		want := "task.md:" + itoa(lineOf(t, src, tc.at)) + ": "
		_, err := Parse("task.md", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("edit %q: want an error at %s containing %q, got:\n%v", tc.old, want, tc.msg, err)
			continue
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if strings.Contains(line, tc.msg) && !strings.HasPrefix(line, want) {
				t.Errorf("edit %q: %q is not at %s", tc.old, line, want)
			}
		}
	}
}
