package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLessonTaskAndPrediction: fallback-2525 asks a prediction (judged
// with its line of why), then a task passes by a route the lesson does
// not script, after a Check that said "not yet".
func TestLessonTaskAndPrediction(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/fallback-2525?pace=0")
	waitReady(t, ctx)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))

	waitFor(t, ctx, "the prediction", `!document.getElementById('lesson-predict').hidden && !!document.querySelector('[data-testid=lesson-choice-0]')`, 20*time.Second)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=lesson-choice-0]`)))
	waitFor(t, ctx, "the verdict", `!document.getElementById('lesson-predict-verdict').hidden`, 20*time.Second)
	if v := eval[string](t, ctx, `document.getElementById('lesson-predict-verdict').dataset.correct`); v != "false" {
		t.Errorf("a wrong prediction judged correct=%q", v)
	}
	if s := eval[string](t, ctx, `document.getElementById('lesson-predict-verdict').textContent`); !contains(s, "drops the packets") {
		t.Errorf("verdict %q lacks the line of why", s)
	}

	task := `document.getElementById('step-1').dataset.state`
	waitFor(t, ctx, "the task", task+` === 'current' && !document.getElementById('lesson-check').hidden`, 30*time.Second)
	if s := eval[string](t, ctx, `document.getElementById('term-input').placeholder`); contains(s, "2525") {
		t.Errorf("the input's placeholder gives the answer away: %q", s)
	}
	waitFor(t, ctx, "the task to wait", `document.getElementById('lesson-do').dataset.waiting === 'true'`, 30*time.Second)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-check")))
	waitFor(t, ctx, "not yet", `document.getElementById('lesson-feedback').textContent.toLowerCase().includes('not yet')`, 30*time.Second)
	// Another route than the solution: 465 first (it times out), then
	// 2525 with AUTH PLAIN.
	for _, line := range []string{
		"telnet smtp.relay.test 465",
		"telnet smtp.relay.test 2525",
		"EHLO vm.example",
		"STARTTLS",
		"EHLO vm.example",
		"auth plain foo barbaz",
		`message from foo@sandbox.test to bob@sandbox.test subject "found it"`,
	} {
		waitFor(t, ctx, "the task to wait for "+line, `document.getElementById('lesson-do').dataset.waiting === 'true'`, 30*time.Second)
		taken := eval[string](t, ctx, `document.getElementById('lesson-do').dataset.taken || '0'`)
		typeLine(t, ctx, line)
		waitFor(t, ctx, "the task to take "+line, `(document.getElementById('lesson-do').dataset.taken || '0') !== `+js(taken), 30*time.Second)
	}
	waitFor(t, ctx, "the task passed", task+` === 'passed'`, 60*time.Second)
	waitFor(t, ctx, "the lesson passed", `document.getElementById('scenario-status').dataset.state === 'passed'`, 30*time.Second)
}

// TestLessonHintsThenShowMe: a typed step does not show its answer before
// the student asks; hints come one at a time, then "Show me" types it.
func TestLessonHintsThenShowMe(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/first-contact")
	waitReady(t, ctx)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))
	step := `document.getElementById('step-0').dataset.state`
	waitFor(t, ctx, "the typed step", step+` === 'current' && !document.getElementById('lesson-do').hidden`, 20*time.Second)
	if eval[bool](t, ctx, `document.getElementById('step-0').textContent.includes('telnet mx.sandbox.test 25') || document.getElementById('term-input').placeholder.includes('mx.sandbox.test')`) {
		t.Error("the answer is shown before the student tried")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#lesson-hints li').length`); n != 0 {
		t.Errorf("%d hints shown before any was asked for", n)
	}
	// One hint per request, from a nudge to the near answer.
	for i, want := range []string{"two things", "the door between mail servers is 25", "telnet mx.sandbox.test 25"} {
		do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-hint-next")))
		waitFor(t, ctx, "hint "+itoa(i+1), `document.querySelectorAll('#lesson-hints li').length === `+itoa(i+1), 10*time.Second)
		if s := eval[string](t, ctx, `document.querySelector('[data-testid=lesson-hint-`+itoa(i+1)+`]').textContent`); !contains(s, want) {
			t.Errorf("hint %d = %q, want it to contain %q", i+1, s, want)
		}
	}
	if !eval[bool](t, ctx, `document.getElementById('lesson-hint-next').disabled`) {
		t.Error("the hint button is still enabled after the last hint")
	}
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-show-me")))
	waitFor(t, ctx, "the step passed", step+` === 'passed'`, 20*time.Second)
	if tr := transcript(t, ctx); !contains(tr, "Connected to mx.sandbox.test") {
		t.Errorf("Show me did not connect:\n%s", tr)
	}
}
