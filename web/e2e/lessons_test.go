package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
)

// Issue 5's browser checks: two lessons played through with ?autoplay=1
// (watched: the player did the student's steps), one passed by typing the
// student's commands.

func TestLessonsAutoplay(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	// Every lesson of the course plays through in the browser, at no
	// pace (?pace=0): the wasm engine against the real sandbox, as the
	// headless runner does in scenarios/headless.
	lessons := scenarios.List()
	base := startSandbox(t)
	for _, l := range lessons {
		t.Run(l.Name, func(t *testing.T) {
			t.Parallel()
			ctx := newBrowser(t) // its own storage: the progress shown is this lesson's
			navigate(t, ctx, base+"/lessons/"+l.Name+"?autoplay=1&pace=0")
			waitReady(t, ctx)
			waitFor(t, ctx, "watched", `document.getElementById('scenario-status').dataset.state === 'watched'`, 90*time.Second)
			screenshot(t, ctx, "passed")
			// The progress is kept: a reload shows the lesson watched.
			navigate(t, ctx, base+"/lessons/"+l.Name)
			waitReady(t, ctx)
			waitFor(t, ctx, "watched after a reload", `document.getElementById('scenario-status').dataset.state === 'watched'`, 10*time.Second)
			navigate(t, ctx, base+"/")
			waitFor(t, ctx, "home shows the progress", `document.querySelector('[data-testid=progress-`+l.Name+`]').dataset.state === 'watched'`, 10*time.Second)
		})
	}
}

func TestLessonByTyping(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, ok := lib.Lesson("first-contact", "en")
	if !ok {
		t.Fatal("no first-contact lesson")
	}
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/"+l.Name+"?pace=0")
	waitReady(t, ctx)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))
	wrongTried := false
	for i, st := range l.Steps {
		step := `document.getElementById('step-` + itoa(i) + `').dataset.state`
		waitFor(t, ctx, "step "+itoa(i+1), step+` === 'current' || `+step+` === 'passed'`, 60*time.Second)
		if st.Mode == lesson.Typed {
			if !wrongTried {
				// A wrong try shows the hint and keeps the step open.
				wrongTried = true
				typeLine(t, ctx, "HELP ME")
				waitFor(t, ctx, "the hint", `!document.getElementById('lesson-feedback').hidden && document.querySelectorAll('#lesson-hints li').length > 0`, 20*time.Second)
				if s := eval[string](t, ctx, step); s != "current" {
					t.Errorf("step %d is %q after a wrong try", i+1, s)
				}
			}
			typeLine(t, ctx, st.Answer())
		}
		waitFor(t, ctx, "step "+itoa(i+1)+" passed", step+` === 'passed'`, 60*time.Second)
	}
	waitFor(t, ctx, "passed", `document.getElementById('scenario-status').dataset.state === 'passed'`, 30*time.Second)
	screenshot(t, ctx, "typed")
}
