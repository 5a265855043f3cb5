package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/portlab/portlab/scenarios"
)

// The lesson page (issue 10 item 6): the status bar on the terminal, the
// lesson's network from the page's load, tabs below 960 px, the mailbox
// panel, the end with the next lesson, and replay at a readable pace that
// does not scroll the page.

// TestLessonProfileBeforeStart: the lesson's network profile is in force
// as soon as the page loads, and a line typed before Start at a lesson
// that opens with the student's step starts it and answers that step.
func TestLessonProfileBeforeStart(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)

	// fallback-2525 runs on the cloud-vm profile, which drops 587; the
	// server's default profile (datacenter) lets it through.
	navigate(t, ctx, base+"/lessons/fallback-2525")
	waitReady(t, ctx)
	typeLine(t, ctx, "telnet smtp.relay.test 587")
	waitFor(t, ctx, "the knock's end", `['timeout', 'connected', 'refused', 'closed'].includes(document.getElementById('term-state').dataset.state)`, 30*time.Second)
	if s := termState(t, ctx); s != "timeout" {
		t.Errorf("587 before Start on the cloud-vm lesson: %q, want timeout (the lesson's profile)\n%s", s, transcript(t, ctx))
	}
	if s := eval[string](t, ctx, `document.getElementById('scenario-status').dataset.state`); s != "idle" {
		t.Errorf("a lesson that opens with a played step started from the terminal: %q", s)
	}

	// tls-before-auth opens with "telnet smtp.relay.test 587", typed by
	// the student: the terminal's first line must not say it first.
	navigate(t, ctx, base+"/lessons/tls-before-auth")
	waitReady(t, ctx)
	if tr := transcript(t, ctx); contains(tr, "smtp.relay.test 587") {
		t.Errorf("the terminal gives the first step's answer away:\n%s", tr)
	}

	// first-contact opens with a typed step.
	navigate(t, ctx, base+"/lessons/first-contact")
	waitReady(t, ctx)
	typeLine(t, ctx, "telnet mx.sandbox.test 25")
	waitFor(t, ctx, "step 1 passed by the line typed before Start", `document.getElementById('step-0').dataset.state === 'passed'`, 30*time.Second)
	if who := eval[string](t, ctx, `(JSON.parse(localStorage.getItem('portlab.progress'))['first-contact'].steps || {})['knock-25'] || ''`); who != "student" {
		t.Errorf("step 1 recorded as done by %q, want student", who)
	}
}

// TestLessonStatusBar: the bar on top of the terminal holds the step, the
// instruction, the feedback, the one list of hints, Check, Show me and
// Play this step; the mailbox panel is on the page; at 390 px the
// terminal is within one screen of the current step.
func TestLessonStatusBar(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/first-contact")
	waitReady(t, ctx)
	instantScroll(t, ctx)
	for _, id := range []string{"lesson-start", "lesson-play-step", "lesson-check", "lesson-show-me", "lesson-hint-next", "lesson-hints", "lesson-feedback", "lesson-progress-text", "lesson-instruction", "lesson-predict"} {
		if !eval[bool](t, ctx, `document.getElementById('lesson-bar').contains(document.getElementById(`+js(id)+`))`) {
			t.Errorf("#%s is not in the status bar", id)
		}
	}
	if eval[bool](t, ctx, `!!document.getElementById('lesson-hint')`) {
		t.Error("a second hint route (#lesson-hint) is still on the page")
	}
	// Attached: the bar's bottom is the terminal's top.
	if gap := eval[float64](t, ctx, `document.getElementById('terminal').getBoundingClientRect().top - document.getElementById('lesson-bar').getBoundingClientRect().bottom`); gap < -1 || gap > 1 {
		t.Errorf("the bar is %v px from the terminal", gap)
	}
	waitFor(t, ctx, "the mailbox panel", `document.querySelector('#lesson-work #mailbox')?.dataset.state === 'ready'`, 20*time.Second)

	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))
	waitFor(t, ctx, "step 1 waits", `document.getElementById('lesson-do').dataset.waiting === 'true'`, 20*time.Second)
	if s := eval[string](t, ctx, `document.getElementById('lesson-progress-text').textContent`); !contains(s, "Step 1 of ") {
		t.Errorf("progress %q", s)
	}
	if s := eval[string](t, ctx, `document.getElementById('lesson-instruction').textContent`); !contains(s, "Knock on port 25") || !contains(s, "Your turn") {
		t.Errorf("the bar's instruction %q", s)
	}
	if s := eval[string](t, ctx, `document.getElementById('lesson-instruction').textContent`); contains(s, "mx.sandbox.test 25") {
		t.Errorf("the bar gives the answer away: %q", s)
	}

	// A wrong try: the feedback says so and the first hint joins the list.
	typeLine(t, ctx, "HELP ME")
	waitFor(t, ctx, "the feedback", `!document.getElementById('lesson-feedback').hidden`, 20*time.Second)
	waitFor(t, ctx, "the first hint", `document.querySelectorAll('#lesson-hints li').length === 1`, 10*time.Second)
	if s := eval[string](t, ctx, `document.getElementById('lesson-feedback').textContent`); contains(s, "two things") {
		t.Errorf("the hint shows twice, in the feedback too: %q", s)
	}
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-hint-next")))
	waitFor(t, ctx, "the second hint", `document.querySelectorAll('#lesson-hints li').length === 2`, 10*time.Second)

	views(t, ctx, func(scheme string, width int64) {
		if width == 390 {
			do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("tab-terminal")))
			near := eval[float64](t, ctx, `document.getElementById('term-input').getBoundingClientRect().bottom - document.getElementById('lesson-instruction').getBoundingClientRect().top`)
			h := eval[float64](t, ctx, `innerHeight`)
			t.Logf("%s, 390 px: from the current step to the input's bottom: %v px of %v", scheme, near, h)
			if near > h {
				t.Errorf("%s, 390 px: the input is %v px below the current step, more than a screen (%v)", scheme, near, h)
			}
			painted(t, ctx, `scrollTo(0, 0)`)
			viewShot(t, ctx, "terminal-390-"+scheme)
			// "Read the step" shows the current step, below the tabs.
			painted(t, ctx, `document.getElementById('lesson-read-step').click()`)
			if top := eval[float64](t, ctx, `document.getElementById('step-0').getBoundingClientRect().top - document.querySelector('.lesson-tabs').getBoundingClientRect().bottom`); top < 0 || top > 200 {
				t.Errorf("%s, 390 px: after Read the step, step 1 is %v px below the tabs", scheme, top)
			}
			viewShot(t, ctx, "steps-390-"+scheme)
			return
		}
		painted(t, ctx, `scrollTo(0, 0)`)
		viewShot(t, ctx, "1280-"+scheme)
		elementShot(t, ctx, "#lesson-bar", "bar-"+itoa(int(width))+"-"+scheme)
	})

	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-show-me")))
	waitFor(t, ctx, "step 1 passed", `document.getElementById('step-0').dataset.state === 'passed'`, 20*time.Second)
	waitFor(t, ctx, "the bar on step 2", `document.getElementById('lesson-instruction').dataset.step === '1'`, 20*time.Second)
}

// TestLessonInFrames: an embedded lesson works in a 700 px and a 400 px
// iframe: steps and terminal are tabs, nothing is wider than the frame,
// and at 400 px the terminal is within one screen of the current step.
func TestLessonInFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/")
	for _, width := range []int{700, 400} {
		t.Run(itoa(width), func(t *testing.T) {
			eval[bool](t, ctx, `(() => { document.getElementById('lp-frame')?.remove();
				const f = document.createElement('iframe'); f.id = 'lp-frame'; f.width = `+itoa(width)+`; f.height = 720;
				f.src = '/embed/lessons/first-contact'; document.querySelector('main').prepend(f); return true; })()`)
			doc := `document.getElementById('lp-frame').contentDocument`
			waitFor(t, ctx, "the framed terminal", doc+`?.getElementById('terminal')?.dataset.ready === 'true'`, 30*time.Second)
			if w := eval[float64](t, ctx, doc+`.documentElement.scrollWidth`); w > float64(width) {
				t.Errorf("the framed page is %v px wide in a %d px frame", w, width)
			}
			if eval[string](t, ctx, `getComputedStyle(`+doc+`.querySelector('.lesson-tabs')).display`) == "none" {
				t.Error("no tabs in the frame")
			}
			if eval[string](t, ctx, `getComputedStyle(`+doc+`.getElementById('lesson-work')).display`) != "none" {
				t.Error("the steps tab shows the terminal too")
			}
			eval[bool](t, ctx, `(`+doc+`.querySelector('[data-testid=to-terminal]').click(), true)`)
			eval[bool](t, ctx, `(`+doc+`.getElementById('lesson-start').click(), true)`)
			waitFor(t, ctx, "step 1 waits in the frame", doc+`.getElementById('lesson-do').dataset.waiting === 'true'`, 20*time.Second)
			if eval[string](t, ctx, `getComputedStyle(`+doc+`.getElementById('lesson-narration')).display`) != "none" {
				t.Error("the terminal tab shows the steps too")
			}
			near := eval[float64](t, ctx, doc+`.getElementById('term-input').getBoundingClientRect().bottom - `+doc+`.getElementById('lesson-instruction').getBoundingClientRect().top`)
			h := eval[float64](t, ctx, `document.getElementById('lp-frame').contentWindow.innerHeight`)
			t.Logf("%d px frame: from the current step to the input's bottom: %v px of %v", width, near, h)
			if near > h {
				t.Errorf("%d px frame: the input is %v px below the current step, more than a screen (%v)", width, near, h)
			}
			painted(t, ctx, `document.getElementById('lp-frame').scrollIntoView()`)
			viewShot(t, ctx, "frame-"+itoa(width))
		})
	}
}

// TestLessonPlayedAtPace: a lesson played through goes step by step
// (Pause holds it, Next advances one step), never scrolls the page, and
// ends with what it taught and the next lesson, which the home page then
// offers as "Continue with …".
func TestLessonPlayedAtPace(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	course := scenarios.List()
	at := -1
	for i, l := range course {
		if l.Name == "first-contact" {
			at = i
		}
	}
	if at < 0 || at+1 >= len(course) {
		t.Fatal("first-contact is not followed by another lesson in course order")
	}
	next := course[at+1]
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/first-contact")
	waitReady(t, ctx)
	instantScroll(t, ctx)
	painted(t, ctx, `scrollTo(0, 120)`)
	y := eval[float64](t, ctx, `scrollY`)
	if y == 0 {
		t.Fatal("the page does not scroll at 1280x900: nothing to check")
	}
	eval[bool](t, ctx, `(() => { window.scrolled = []; addEventListener('scroll', () => window.scrolled.push(scrollY)); return true; })()`)

	// Clicked from script: a pointer click would scroll the button into view.
	eval[bool](t, ctx, `(document.getElementById('lesson-play-all').click(), true)`)
	waitFor(t, ctx, "the player running", `!document.getElementById('lesson-pause').hidden`, 10*time.Second)
	eval[bool](t, ctx, `(document.getElementById('lesson-pause').click(), true)`)
	waitFor(t, ctx, "the player held", `document.getElementById('lesson-pause').getAttribute('aria-pressed') === 'true' && !document.getElementById('lesson-next-step').disabled`, 30*time.Second)
	step := `Number(document.getElementById('lesson-instruction').dataset.step)`
	k := eval[int](t, ctx, step)
	eval[bool](t, ctx, `(document.getElementById('lesson-next-step').click(), true)`)
	waitFor(t, ctx, "Next to advance one step", step+` === `+itoa(k+1)+` && !document.getElementById('lesson-next-step').disabled`, 30*time.Second)
	if s := eval[string](t, ctx, `document.getElementById('scenario-status').dataset.state`); s != "running" {
		t.Errorf("held after Next: status %q", s)
	}
	if got := eval[int](t, ctx, step); got != k+1 {
		t.Errorf("a held player went on to step %d after one Next from %d", got+1, k+1)
	}
	eval[bool](t, ctx, `(document.getElementById('lesson-pause').click(), true)`)
	waitFor(t, ctx, "watched", `document.getElementById('scenario-status').dataset.state === 'watched'`, 120*time.Second)
	if moves := eval[[]float64](t, ctx, `window.scrolled`); len(moves) > 0 {
		t.Errorf("the page scrolled under the student while the lesson played: %v (was at %v)", moves, y)
	}

	waitFor(t, ctx, "the end", `!document.getElementById('lesson-end').hidden`, 5*time.Second)
	if s := eval[string](t, ctx, `document.getElementById('lesson-end').textContent`); !contains(s, "What you learned") || !contains(s, "the port finds the service") {
		t.Errorf("the end does not say what the lesson taught: %q", s)
	}
	if h := eval[string](t, ctx, `document.querySelector('[data-testid=lesson-next]').getAttribute('href')`); h != "/lessons/"+next.Name {
		t.Errorf("Next lesson goes to %q, want /lessons/%s", h, next.Name)
	}
	if eval[bool](t, ctx, `document.getElementById('lesson-bar-next').hidden`) {
		t.Error("the bar has no Next lesson at the end")
	}
	views(t, ctx, func(scheme string, width int64) {
		// The bar's "What you learned" shows the end, on a phone too
		// (from the terminal tab).
		painted(t, ctx, `document.getElementById('lesson-read-step').click()`)
		if top := eval[float64](t, ctx, `document.getElementById('lesson-end').getBoundingClientRect().top`); top < 0 || top > eval[float64](t, ctx, `innerHeight`) {
			t.Errorf("%s, %d px: What you learned does not show the end (top %v)", scheme, width, top)
		}
		viewShot(t, ctx, "end-"+itoa(int(width))+"-"+scheme)
		if width == 390 {
			do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("tab-terminal")))
			painted(t, ctx, `scrollTo(0, 0)`)
			viewShot(t, ctx, "end-bar-390-"+scheme)
		}
	})

	navigate(t, ctx, base+"/")
	waitFor(t, ctx, "Continue with", `document.getElementById('home-start').textContent.startsWith('Continue with')`, 10*time.Second)
	if s := eval[string](t, ctx, `document.getElementById('home-start').textContent`); s != "Continue with "+next.Title {
		t.Errorf("home: %q, want %q", s, "Continue with "+next.Title)
	}
	if h := eval[string](t, ctx, `document.getElementById('home-start').getAttribute('href')`); h != "/lessons/"+next.Name {
		t.Errorf("Continue goes to %q, want /lessons/%s", h, next.Name)
	}
	views(t, ctx, func(scheme string, width int64) {
		viewShot(t, ctx, "home-"+itoa(int(width))+"-"+scheme)
	})
}

// viewShot saves what the screen shows (not the whole page).
func viewShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	buf, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(screenshotDir(t), unsafeName.ReplaceAllString(t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// instantScroll turns the page's smooth scrolling off, so that a
// screenshot after a scroll shows where it ends.
func instantScroll(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[bool](t, ctx, `(document.documentElement.style.scrollBehavior = 'auto') === 'auto'`)
}
