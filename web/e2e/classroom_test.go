package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/server/sandbox"
)

// TestClassroomDashboardLive: a teacher signs in and creates a class; a
// student, in another browser, joins by the link with a display name and
// does the first step of a lesson; the teacher's dashboard row shows the
// lesson, the step and the reply without a reload.
func TestClassroomDashboardLive(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	const password = "teach me"
	base := startSandboxWith(t, func(c *sandbox.Config) { c.TeacherPassword = password })

	teacher := newBrowser(t)
	navigate(t, teacher, base+"/teach")
	waitFor(t, teacher, "the sign-in form", `!document.getElementById('teach-login').hidden`, 10*time.Second)
	do(t, teacher, 10*time.Second,
		chromedp.SendKeys(chromedp.ID("teach-password"), password+kb.Enter))
	waitFor(t, teacher, "the classes", `!!document.getElementById('teach-classes') && !document.getElementById('teach-classes').hidden`, 10*time.Second)
	// The form goes to the new class's dashboard.
	loadAfter(t, teacher, chromedp.SendKeys(chromedp.ID("class-name"), "Networks 1"+kb.Enter))
	waitFor(t, teacher, "the dashboard, live", `document.getElementById('live') && document.getElementById('live').dataset.state === 'on' && document.getElementById('class-code').textContent.length === 6`, 10*time.Second)
	link := eval[string](t, teacher, `document.getElementById('class-link').href`)
	if !contains(link, "/join/") {
		t.Fatalf("join link %q", link)
	}
	if !eval[bool](t, teacher, `document.getElementById('class-qr').complete && document.getElementById('class-qr').naturalWidth > 0`) {
		waitFor(t, teacher, "the QR code", `document.getElementById('class-qr').naturalWidth > 0`, 5*time.Second)
	}

	student := newBrowser(t)
	navigate(t, student, link)
	waitFor(t, student, "the join form with the class's name", `!!document.getElementById('join-name') && document.getElementById('join-class').textContent.includes('Networks 1')`, 10*time.Second)
	views(t, student, func(scheme string, width int64) {
		screenshot(t, student, "join-"+scheme+"-"+itoa(int(width)))
	})
	loadAfter(t, student, chromedp.SendKeys(chromedp.ID("join-name"), "Ada"+kb.Enter))
	if p := eval[string](t, student, `location.pathname`); p != "/course" {
		t.Fatalf("after joining the student is at %s, want /course", p)
	}
	waitFor(t, teacher, "Ada's row", `!!document.querySelector('tr[data-student=Ada]')`, 5*time.Second)

	navigate(t, student, base+"/lessons/first-contact")
	waitReady(t, student)
	waitFor(t, student, "the class notice", `!!document.querySelector('[data-testid=class-notice]')`, 10*time.Second)
	waitFor(t, teacher, "Ada in first-contact", `document.querySelector('tr[data-student=Ada]').dataset.lesson === 'first-contact'`, 5*time.Second)
	do(t, student, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))
	waitFor(t, student, "the first step to wait", `document.getElementById('lesson-do').dataset.waiting === 'true'`, 20*time.Second)
	typeLine(t, student, "telnet mx.sandbox.test 25")
	waitFor(t, student, "step 1 passed", `document.getElementById('step-0').dataset.state === 'passed'`, 20*time.Second)

	// Live: the row moves without a reload, within a second or two.
	waitFor(t, teacher, "the row at step 2 with the 220", `(() => {
		const tr = document.querySelector('tr[data-student=Ada]');
		return tr && tr.textContent.includes('step 2 of') && tr.querySelector('[data-testid^=reply-] code') && tr.querySelector('[data-testid^=reply-] code').textContent === '220';
	})()`, 3*time.Second)

	// The network for everyone reaches the student's page at once: on
	// 587, hotel Wi-Fi strips STARTTLS. Undo takes it back.
	navigate(t, student, base+"/playground?host=smtp.relay.test")
	waitReady(t, student)
	waitFor(t, student, "the lab", `document.getElementById('lab').dataset.state === 'ready' && !!document.querySelector('[data-testid=class-notice]')`, 10*time.Second)
	own := eval[string](t, student, `document.getElementById('profile').value`)
	do(t, teacher, 5*time.Second, chromedp.SetValue(chromedp.ID("class-profile"), "hotel-wifi"), chromedp.Click(chromedp.CSS(`[data-testid=class-profile-set]`)))
	waitFor(t, student, "the student's network switched", `document.getElementById('profile').value === 'hotel-wifi' && document.querySelector('[data-testid=class-notice]').textContent.includes('hotel-wifi')`, 5*time.Second)
	typeLine(t, student, "open smtp.relay.test 587")
	waitFor(t, student, "the greeting", `!!document.querySelector('#transcript li[data-code="220"]')`, 20*time.Second)
	typeLine(t, student, "EHLO student.example")
	typeLine(t, student, "STARTTLS")
	waitFor(t, student, "STARTTLS answered", `[...document.querySelectorAll('#transcript li[data-who="server"]')].length >= 3`, 20*time.Second)
	if got := eval[string](t, student, `document.getElementById('route-net-effect').textContent`); !contains(got, "STARTTLS stripped") {
		t.Errorf("after the class switch to hotel-wifi the network box says %q", got)
	}
	do(t, teacher, 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=class-profile-undo]`)))
	waitFor(t, student, "the student's network back", `document.getElementById('profile').value === `+js(own)+` && !document.querySelector('[data-testid=class-notice]').textContent.includes('hotel-wifi')`, 5*time.Second)

	// An assigned lesson shows on the student's page as a link.
	do(t, teacher, 5*time.Second, chromedp.SetValue(chromedp.ID("class-lesson"), "tls-before-auth"), chromedp.Click(chromedp.CSS(`[data-testid=class-lesson-assign]`)))
	waitFor(t, student, "the assigned lesson", `(() => { const a = document.querySelector('[data-testid=class-lesson]'); return !!a && a.getAttribute('href') === '/lessons/tls-before-auth'; })()`, 5*time.Second)

	// The transcript opens read-only.
	do(t, teacher, 5*time.Second, chromedp.Click(chromedp.CSS(`tr[data-student=Ada] button`)))
	waitFor(t, teacher, "the transcript", `document.getElementById('transcript').textContent.includes('220')`, 5*time.Second)
	views(t, teacher, func(scheme string, width int64) {
		screenshot(t, teacher, "dashboard-"+scheme+"-"+itoa(int(width)))
	})
}

// loadAfter runs an action that makes the page go to another one, and
// waits for that page's load event.
func loadAfter(t *testing.T, ctx context.Context, trigger chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.WaitEvent(page.LoadEventFired, nil, trigger)); err != nil {
		screenshot(t, ctx, "failed-load")
		t.Fatalf("waiting for the next page: %v", err)
	}
}

// TestProjectorMode: /teach/project shows a lesson in large type with the
// steps and the terminal side by side, at 1280 px and when the browser is
// zoomed to 150 % (853 CSS px), and the teacher plays it paced: the whole
// lesson, Pause, Next one step.
func TestProjectorMode(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/teach/project")
	waitFor(t, ctx, "the lessons", `!!document.querySelector('[data-testid=project-lessons] a[href="/teach/project?lesson=first-contact"]')`, 10*time.Second)
	navigate(t, ctx, base+"/teach/project?lesson=first-contact")
	waitReady(t, ctx)
	if fs := eval[string](t, ctx, `getComputedStyle(document.documentElement).fontSize`); fs != "24px" {
		t.Errorf("projector type: %s, want 24px (150 %%)", fs)
	}
	sideBySide := `(() => {
		const a = document.getElementById('lesson-narration').getBoundingClientRect();
		const b = document.getElementById('lesson-work').getBoundingClientRect();
		return a.width > 0 && b.width > 0 && a.right <= b.left && Math.abs(a.top - b.top) < 5;
	})()`
	if !eval[bool](t, ctx, sideBySide) {
		t.Error("at 1280 px the steps and the terminal are not side by side")
	}
	for _, scheme := range []string{"light", "dark"} {
		do(t, ctx, 10*time.Second, colorScheme(scheme), chromedp.EmulateViewport(1280, 800))
		shot(t, ctx, "projector-"+scheme+"-1280")
	}
	// A 1280 px projector with the browser at 150 % is 853 CSS px wide:
	// the type steps down to 125 %, the columns stay.
	do(t, ctx, 10*time.Second, colorScheme("light"), chromedp.EmulateViewport(853, 533))
	if !eval[bool](t, ctx, sideBySide) {
		t.Error("at 150 % zoom (853 px) the steps and the terminal are not side by side")
	}
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 853+10 {
		t.Errorf("at 853 px the page is %v px wide", w)
	}
	shot(t, ctx, "projector-light-853")
	do(t, ctx, 10*time.Second, chromedp.EmulateViewport(1280, 800))

	eval[bool](t, ctx, `(document.getElementById('lesson-play-all').click(), true)`)
	waitFor(t, ctx, "the player running", `!document.getElementById('lesson-pause').hidden`, 10*time.Second)
	eval[bool](t, ctx, `(document.getElementById('lesson-pause').click(), true)`)
	waitFor(t, ctx, "the player held", `document.getElementById('lesson-pause').getAttribute('aria-pressed') === 'true' && !document.getElementById('lesson-next-step').disabled`, 30*time.Second)
	step := `Number(document.getElementById('lesson-instruction').dataset.step)`
	k := eval[int](t, ctx, step)
	eval[bool](t, ctx, `(document.getElementById('lesson-next-step').click(), true)`)
	waitFor(t, ctx, "Next to advance one step", step+` === `+itoa(k+1)+` && !document.getElementById('lesson-next-step').disabled`, 30*time.Second)
	shot(t, ctx, "projector-playing-light-1280")
}

// shot saves what the screen shows (a projector shows no more), not the
// whole page.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	buf, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(screenshotDir(t), t.Name()+"-"+name+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", file)
}

// TestClassroomThreeStudents (issue 13): three students in three browsers
// join one class. Ann passes first-contact by typing it, Ben watches
// fallback-2525 played, Cy gets stuck at AUTH in tls-before-auth (the
// same step tried wrong three times): the dashboard marks Cy stuck live;
// the teacher sets hotel-wifi for everyone and every student's page shows
// it; the CSV export lists the three with passed and watched; clearing
// the class mailbox and resetting every lab reach the pages.
func TestClassroomThreeStudents(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	const password = "teach me"
	base := startSandboxWith(t, func(c *sandbox.Config) { c.TeacherPassword = password })

	teacher := newBrowser(t)
	navigate(t, teacher, base+"/teach")
	waitFor(t, teacher, "the sign-in form", `!document.getElementById('teach-login').hidden`, 10*time.Second)
	do(t, teacher, 10*time.Second, chromedp.SendKeys(chromedp.ID("teach-password"), password+kb.Enter))
	waitFor(t, teacher, "the classes", `!!document.getElementById('teach-classes') && !document.getElementById('teach-classes').hidden`, 10*time.Second)
	loadAfter(t, teacher, chromedp.SendKeys(chromedp.ID("class-name"), "Networks 3"+kb.Enter))
	waitFor(t, teacher, "the dashboard, live", `document.getElementById('live').dataset.state === 'on' && document.getElementById('class-code').textContent.length === 6`, 10*time.Second)
	link := eval[string](t, teacher, `document.getElementById('class-link').href`)

	students := map[string]context.Context{}
	for _, name := range []string{"Ann", "Ben", "Cy"} {
		ctx := newBrowser(t)
		navigate(t, ctx, link)
		waitFor(t, ctx, "the join form", `!!document.getElementById('join-name')`, 10*time.Second)
		loadAfter(t, ctx, chromedp.SendKeys(chromedp.ID("join-name"), name+kb.Enter))
		students[name] = ctx
	}
	waitFor(t, teacher, "three rows", `document.querySelectorAll('#rows tr').length === 3`, 5*time.Second)
	row := func(name string) string { return `document.querySelector('tr[data-student=` + name + `]')` }

	// Ann passes first-contact, typing her steps.
	ann := students["Ann"]
	fc, _ := lib.Lesson("first-contact", "en")
	navigate(t, ann, base+"/lessons/first-contact?pace=0")
	waitReady(t, ann)
	do(t, ann, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))
	doSteps(t, ann, fc.Steps)
	waitFor(t, ann, "Ann passed", `document.getElementById('scenario-status').dataset.state === 'passed'`, 30*time.Second)

	// Ben watches fallback-2525, played whole.
	ben := students["Ben"]
	navigate(t, ben, base+"/lessons/fallback-2525?pace=0")
	waitReady(t, ben)
	eval[bool](t, ben, `(document.getElementById('lesson-play-all').click(), true)`)
	waitFor(t, ben, "Ben watched", `document.getElementById('scenario-status').dataset.state === 'watched'`, 90*time.Second)

	// Cy gets to the log-in step of tls-before-auth (after STARTTLS) and
	// logs in with a wrong password, again and again.
	cy := students["Cy"]
	tba, _ := lib.Lesson("tls-before-auth", "en")
	navigate(t, cy, base+"/lessons/tls-before-auth?pace=0")
	waitReady(t, cy)
	do(t, cy, 5*time.Second, chromedp.Click(chromedp.ID("lesson-start")))
	authStep := slices.IndexFunc(tba.Steps, func(st *lesson.Step) bool { return st.ID == "auth" })
	if authStep >= 0 {
		doSteps(t, cy, tba.Steps[:authStep])
	}
	if authStep < 0 {
		t.Fatal("tls-before-auth has no step auth")
	}
	waitFor(t, cy, "Cy at the AUTH step", `document.getElementById('step-`+itoa(authStep)+`').dataset.state === 'current'`, 30*time.Second)
	for try := range 3 {
		typeLine(t, cy, "auth plain foo wrongpassword")
		waitFor(t, cy, "the wrong try "+itoa(try+1)+" answered", `[...document.querySelectorAll('#transcript li[data-code="535"]')].length === `+itoa(try+2)+` && !document.getElementById('lesson-feedback').hidden`, 20*time.Second)
	}
	// Live: the stuck marker, without a reload.
	waitFor(t, teacher, "Cy stuck on the dashboard", row("Cy")+`.dataset.stuck === 'true' && `+row("Cy")+`.textContent.includes('failed step `+itoa(authStep+1)+` 3 times')`, 5*time.Second)
	if eval[string](t, teacher, row("Ann")+`.dataset.stuck`) != "false" || eval[string](t, teacher, row("Ben")+`.dataset.stuck`) != "false" {
		t.Error("Ann or Ben is marked stuck")
	}
	waitFor(t, teacher, "Ann's passed and Ben's watched lesson", row("Ann")+`.querySelector('[data-testid^=passed-]').textContent === '1' && `+row("Ben")+`.children[3].textContent === '1'`, 5*time.Second)
	// Cy's port board: 587 answered.
	waitFor(t, teacher, "Cy's port board", row("Cy")+`.querySelector('[data-testid=port-587]') && `+row("Cy")+`.querySelector('[data-testid=port-587]').dataset.verdict === 'answered'`, 5*time.Second)
	do(t, teacher, 5*time.Second, chromedp.Click(chromedp.CSS(`tr[data-student=Cy] button`)))
	waitFor(t, teacher, "Cy's route", `document.getElementById('route').textContent.includes('smtp.relay.test:587 answered')`, 5*time.Second)
	// Ben's lesson sent a message over 2525: the class mailbox has it.
	eval[bool](t, teacher, `(document.getElementById('class-mailbox').open = true, true)`)
	waitFor(t, teacher, "Ben's message in the class mailbox", `[...document.querySelectorAll('#mail-rows tr')].some(tr => tr.textContent.includes('Ben') && tr.textContent.includes('2525'))`, 5*time.Second)
	screenshot(t, teacher, "dashboard-stuck-light-1280")

	// The network for everyone reaches each student's page.
	do(t, teacher, 5*time.Second, chromedp.SetValue(chromedp.ID("class-profile"), "hotel-wifi"), chromedp.Click(chromedp.CSS(`[data-testid=class-profile-set]`)))
	set := time.Now()
	for _, name := range []string{"Ann", "Ben", "Cy"} {
		waitFor(t, students[name], name+"'s page on hotel-wifi", `!!document.querySelector('[data-testid=class-notice]') && document.querySelector('[data-testid=class-notice]').textContent.includes('hotel-wifi')`, 15*time.Second)
		t.Logf("%s's page showed hotel-wifi %v after the teacher set it", name, time.Since(set).Round(10*time.Millisecond))
	}

	// The export lists the three, with passed and watched.
	csv := evalAwait(t, teacher, `fetch(document.getElementById('export-csv').href, {credentials: 'same-origin'}).then(r => r.text())`)
	for _, want := range []string{"Ann,first-contact,passed,", "Ben,fallback-2525,watched,", "Cy,tls-before-auth,,"} {
		if !contains(csv, want) {
			t.Errorf("export.csv lacks %q:\n%s", want, csv)
		}
	}

	// Clear the class mailbox, then reset every lab: the students' pages
	// reload on their emptied labs; progress stays.
	eval[bool](t, teacher, `(window.confirm = () => true, true)`)
	do(t, teacher, 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=class-clear-mail]`)))
	waitFor(t, teacher, "the class mailbox empty", `document.getElementById('mail-count').textContent === '0'`, 5*time.Second)
	if n := evalAwait(t, teacher, `fetch(document.getElementById('export-csv').href.replace('export.csv', 'mailbox')).then(r => r.json()).then(l => String(l.length))`); n != "0" {
		t.Errorf("the class mailbox holds %s messages after clearing", n)
	}
	eval[bool](t, ann, `(window.beforeReset = true, true)`)
	do(t, teacher, 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=class-reset]`)))
	waitAcrossLoad(t, ann, "Ann's page reloaded", `window.beforeReset === undefined && document.readyState === 'complete'`, 10*time.Second)
	waitFor(t, teacher, "Cy's port board emptied", row("Cy")+`.querySelector('[data-testid^=ports-]').textContent === '—' && `+row("Ann")+`.querySelector('[data-testid^=passed-]').textContent === '1'`, 5*time.Second)
}

// doSteps does a lesson's steps as a student does: types the typed ones,
// answers the predictions (the first choice), lets the played ones play.
func doSteps(t *testing.T, ctx context.Context, steps []*lesson.Step) {
	t.Helper()
	for i, st := range steps {
		step := `document.getElementById('step-` + itoa(i) + `').dataset.state`
		waitFor(t, ctx, "step "+itoa(i+1), step+` === 'current' || `+step+` === 'passed'`, 60*time.Second)
		switch {
		case st.Mode == lesson.Typed:
			typeLine(t, ctx, st.Answer())
		case st.Predict != "":
			waitFor(t, ctx, "the prediction", `!document.getElementById('lesson-predict').hidden && !!document.querySelector('[data-testid=lesson-choice-0]')`, 20*time.Second)
			do(t, ctx, 5*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=lesson-choice-0]`)))
		}
		waitFor(t, ctx, "step "+itoa(i+1)+" passed", step+` === 'passed'`, 60*time.Second)
	}
}

// evalAwait evaluates an expression whose value is a promise of a string.
func evalAwait(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitAcrossLoad is waitFor for a predicate that turns true on another
// page load: a poll the navigation cuts short is polled again.
func waitAcrossLoad(t *testing.T, ctx context.Context, what, predicate string, timeout time.Duration) {
	t.Helper()
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		tctx, cancel := context.WithTimeout(ctx, time.Until(end)+time.Second)
		_, err := chromedp.Run(tctx, chromedp.Poll[chromedp.Void](predicate,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(end))))
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("waiting for %s (%s): timeout", what, predicate)
}
