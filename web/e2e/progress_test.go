package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portlab/portlab/server/sandbox"
)

// TestCourseMapPassedWatchedAndKept: a lesson whose steps the student does
// is passed, a lesson played through by the player only watched; the
// course map shows both, and still does after "Start a new lab" and after
// a server restart (progress is the student's, kept in the browser, not
// the lab's).
func TestCourseMapPassedWatchedAndKept(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	// The real sandbox, restarted later on the same address (labs live in
	// memory; the page's origin, and so its localStorage, stays).
	cfg := sandbox.Config{PortOffset: "-1", DropTimeout: time.Second, LabsPerClient: 100, Version: "e2e"}
	first, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Close)
	base := first.URL()
	ctx := newBrowser(t)

	// fallback-2525, the shortest lesson with steps for the student: a
	// prediction and a task, both done by the student.
	navigate(t, ctx, base+"/lessons/fallback-2525?pace=0")
	waitReady(t, ctx)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))
	waitFor(t, ctx, "the prediction", `!document.getElementById('lesson-predict').hidden && !!document.querySelector('[data-testid=lesson-choice-0]')`, 20*time.Second)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=lesson-choice-1]`)))
	for _, line := range []string{
		"telnet smtp.relay.test 2525",
		"EHLO vm.example",
		"STARTTLS",
		"EHLO vm.example",
		"auth plain foo barbaz",
		`message from foo@sandbox.test to bob@sandbox.test subject "by hand"`,
	} {
		waitFor(t, ctx, "the task to wait for "+line, `document.getElementById('lesson-do').dataset.waiting === 'true'`, 30*time.Second)
		taken := eval[string](t, ctx, `document.getElementById('lesson-do').dataset.taken || '0'`)
		typeLine(t, ctx, line)
		waitFor(t, ctx, "the task to take "+line, `(document.getElementById('lesson-do').dataset.taken || '0') !== `+js(taken), 30*time.Second)
	}
	waitFor(t, ctx, "the task to wait for Check", `document.getElementById('lesson-do').dataset.waiting === 'true' || document.getElementById('scenario-status').dataset.state === 'passed'`, 30*time.Second)
	if eval[bool](t, ctx, `document.getElementById('lesson-do').dataset.waiting === 'true'`) {
		do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-check")))
	}
	waitFor(t, ctx, "fallback-2525 passed", `document.getElementById('scenario-status').dataset.state === 'passed'`, 60*time.Second)

	// first-contact, played through by the player: watched, not passed.
	navigate(t, ctx, base+"/lessons/first-contact?autoplay=1&pace=0")
	waitReady(t, ctx)
	waitFor(t, ctx, "first-contact played through", `document.getElementById('scenario-status').dataset.state === 'watched'`, 90*time.Second)

	checkMap := func(when string) {
		t.Helper()
		navigate(t, ctx, base+"/course")
		waitFor(t, ctx, "the course map filled in "+when, `document.querySelector('[data-testid=progress-fallback-2525]').dataset.state !== 'new'`, 10*time.Second)
		for name, want := range map[string]string{"fallback-2525": "passed", "first-contact": "watched", "open-relay": "new"} {
			got := eval[string](t, ctx, `document.querySelector('[data-testid=progress-`+name+`]').dataset.state`)
			if got != want {
				t.Errorf("%s: course map shows %s as %q, want %q", when, name, got, want)
			}
		}
		if body := eval[string](t, ctx, `document.querySelector('[data-testid=course-map]').textContent`); strings.Contains(body, "L1") || strings.Contains(body, "L10") {
			t.Errorf("%s: the course map shows author ids: %q", when, body)
		}
	}
	checkMap("after the lessons")

	// Looked at: light and dark, wide and narrow.
	views(t, ctx, func(scheme string, width int64) {
		screenshot(t, ctx, "course-map-"+scheme+"-"+itoa(int(width)))
	})
	do(t, ctx, 10*time.Second, colorScheme("light"), chromedp.EmulateViewport(1280, 900))

	// "Start a new lab" loses nothing.
	navigate(t, ctx, base+"/playground")
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab", `document.getElementById('lab').dataset.state === 'ready'`, 20*time.Second)
	oldLab := eval[string](t, ctx, `document.getElementById('lab-id').textContent`)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lab-reset")))
	waitFor(t, ctx, "a new lab", `document.getElementById('lab-id').textContent !== `+js(oldLab), 20*time.Second)
	checkMap("after Start a new lab")

	// A server restart (the lab is gone) loses nothing, and the page says
	// the lab was replaced.
	first.Close()
	cfg.HTTP = strings.TrimPrefix(base, "http://")
	second, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	navigate(t, ctx, base+"/playground")
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab-replaced notice", `!!document.querySelector('[data-testid=lab-replaced]')`, 20*time.Second)
	checkMap("after a server restart")
}
