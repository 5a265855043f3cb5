package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Issue 9's terminal as a tool, and its accessibility: Copy, Download
// and Clear the transcript, commands in a lesson fill the input, a real
// command as placeholder, Disconnect disabled while idle, state changes
// said in a polite live region (not every line of a lesson played at
// once), the focus in the input after Connect and Start, and a focus
// ring of 3:1 on every control in and around the terminal.
func TestTerminalTool(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	t.Run("playground", func(t *testing.T) { t.Parallel(); checkTerminalTool(t, startSandbox(t)) })
	t.Run("lesson", func(t *testing.T) { t.Parallel(); checkLessonTool(t, startSandbox(t)) })
	t.Run("focus-ring", func(t *testing.T) { t.Parallel(); checkFocusRing(t, startSandbox(t)) })
}

// grantClipboard lets the page write and read the clipboard, as a click
// on Copy in a real browser may.
func grantClipboard(t *testing.T, ctx context.Context, origin string) bool {
	t.Helper()
	var ok bool
	do(t, ctx, 5*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			_, err := cdp.Call(ctx, tg, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
				Setting:    browser.PermissionSettingGranted,
				Origin:     origin,
				// The tab's own browser context (see newBrowser), not
				// the browser's default one.
				BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
			})
			if err != nil {
				t.Logf("clipboard permission %s: %v (checking data-copied only)", name, err)
				return nil
			}
		}
		ok = true
		return nil
	}))
	return ok
}

func checkTerminalTool(t *testing.T, base string) {
	ctx := newBrowser(t)
	clipboard := grantClipboard(t, ctx, base)
	openPlayground(t, ctx, base, "datacenter", "mx.sandbox.test")

	if p := eval[string](t, ctx, `document.getElementById('term-input').placeholder`); p != "telnet mx.sandbox.test 25" {
		t.Errorf("idle placeholder %q, want a real command", p)
	}
	disabled := `document.getElementById('disconnect-button').disabled`
	if !eval[bool](t, ctx, disabled) {
		t.Error("Disconnect is enabled with no connection")
	}
	if !eval[bool](t, ctx, `document.getElementById('disconnect-button').classList.contains('secondary')`) {
		t.Error("Disconnect is not a secondary button")
	}

	// Connect with the form: the focus goes to the input.
	do(t, ctx, 10*time.Second,
		chromedp.SetValue(chromedp.ID("connect-port"), "25"),
		chromedp.Click(chromedp.ID("connect-button")))
	waitFor(t, ctx, "the focus in the input", `document.activeElement && document.activeElement.id === 'term-input'`, 5*time.Second)
	waitFor(t, ctx, "the greeting", `!!document.querySelector('#transcript li[data-code="220"]')`, 20*time.Second)
	waitFor(t, ctx, "Disconnect enabled", `!`+disabled, 5*time.Second)
	waitFor(t, ctx, "the state said", `document.getElementById('term-announce').textContent === 'Connected to mx.sandbox.test port 25.'`, 10*time.Second)
	if p := eval[string](t, ctx, `document.getElementById('term-input').placeholder`); p != "EHLO student.example" {
		t.Errorf("connected placeholder %q", p)
	}
	typeLine(t, ctx, "EHLO student.example")
	waitFor(t, ctx, "EHLO answered", `!!document.querySelector('#transcript li[data-code="250"] button.reply')`, 10*time.Second)
	// An open explanation is not part of the text copied.
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.CSS(`#transcript li[data-code="220"] button.reply`)))

	// Copy: swaks-style text with the project's marks.
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("transcript-copy")))
	waitFor(t, ctx, "copied", `document.getElementById('term-announce').textContent.startsWith('Transcript copied')`, 5*time.Second)
	copied := eval[string](t, ctx, `document.getElementById('transcript-copy').dataset.copied`)
	if clipboard {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Errorf("read the clipboard: %v", err)
		} else if v != copied {
			t.Errorf("clipboard %q, the copy made %q", v, copied)
		}
	}
	for _, want := range []string{"=== portlab terminal ready. Type: telnet mx.sandbox.test 25 ", "\n=== Trying mx.sandbox.test...", "\n<- 220 mx.sandbox.test", "\n-> EHLO student.example\n", "\n<- 250 "} {
		if !strings.Contains(copied, want) {
			t.Errorf("the copied transcript lacks %q:\n%s", want, copied)
		}
	}
	if strings.Contains(copied, "What it means here") || strings.Contains(copied, "explain") {
		t.Errorf("the copied transcript holds an explanation:\n%s", copied)
	}

	// Download: a .txt through a Blob URL, holding the same text.
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("transcript-download")))
	waitFor(t, ctx, "the download link", `(document.getElementById('transcript-file').getAttribute('href') || '').startsWith('blob:')`, 5*time.Second)
	if name := eval[string](t, ctx, `document.getElementById('transcript-file').download`); !strings.HasPrefix(name, "portlab-transcript-") || !strings.HasSuffix(name, ".txt") {
		t.Errorf("download name %q, want portlab-transcript-….txt", name)
	}
	// (The page's CSP lets no script fetch the blob: its size tells.)
	if n := eval[int](t, ctx, `Number(document.getElementById('transcript-file').dataset.bytes)`); n != len(copied) {
		t.Errorf("the downloaded file has %d bytes, the copied text %d", n, len(copied))
	}
	screenshot(t, ctx, "tools")

	// Clear: the transcript empties, the connection stays, focus in the input.
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("transcript-clear")))
	waitFor(t, ctx, "an empty transcript", `document.querySelectorAll('#transcript li').length === 0`, 5*time.Second)
	waitFor(t, ctx, "the focus back in the input", `document.activeElement.id === 'term-input'`, 5*time.Second)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("transcript-copy")))
	waitFor(t, ctx, "an empty copy", `document.getElementById('transcript-copy').dataset.copied === ''`, 5*time.Second)
	if s := termState(t, ctx); s != "connected" {
		t.Errorf("Clear changed the connection: %s", s)
	}

	// Disconnect: disabled again, the idle placeholder back.
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("disconnect-button")))
	waitFor(t, ctx, "closed", `document.getElementById('term-state').dataset.state === 'closed'`, 5*time.Second)
	waitFor(t, ctx, "Disconnect disabled", disabled, 5*time.Second)
	if p := eval[string](t, ctx, `document.getElementById('term-input').placeholder`); p != "telnet mx.sandbox.test 25" {
		t.Errorf("placeholder after Disconnect %q", p)
	}
}

func checkLessonTool(t *testing.T, base string) {
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/first-contact")
	waitReady(t, ctx)

	// The transcript is not a live region: the lesson played at once
	// would be read line by line.
	if live := eval[string](t, ctx, `(() => { const tr = document.getElementById('transcript'); return (tr.getAttribute('aria-live') || '') + '|' + (tr.getAttribute('role') || ''); })()`); live != "|" && live != "off|" {
		t.Errorf("the transcript is a live region (aria-live|role = %s)", live)
	}

	// A command in the narration fills the input, and sends nothing. (The
	// first step's own answer is not in its narration: the student tries
	// first; later narration shows commands.)
	cmd := `document.querySelector('.steps button.cmd-fill')`
	waitFor(t, ctx, "a command button", `!!`+cmd, 5*time.Second)
	want := eval[string](t, ctx, cmd+`.dataset.cmd`)
	lines := eval[int](t, ctx, `document.querySelectorAll('#transcript li').length`)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.CSS(`.steps button.cmd-fill`)))
	waitFor(t, ctx, "the input filled", `document.getElementById('term-input').value === `+js(want), 5*time.Second)
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "term-input" {
		t.Errorf("the focus is on %q after the command's click, want the input", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#transcript li').length`); n != lines {
		t.Errorf("the command's click added %d transcript lines", n-lines)
	}
	// Words that are not commands stay text.
	if eval[bool](t, ctx, `[...document.querySelectorAll('button.cmd-fill')].some(b => ['220', 'sandbox.test', 'telnet host port'].includes(b.dataset.cmd))`) {
		t.Error("a word that is not a command became a button")
	}

	// What the polite region says, from here on.
	eval[bool](t, ctx, `(() => { window.said = []; const el = document.getElementById('term-announce');
		new MutationObserver(() => window.said.push(el.textContent)).observe(el, {childList: true, characterData: true, subtree: true}); return true; })()`)

	// Start: the focus goes to the input.
	do(t, ctx, 5*time.Second, chromedp.Focus(chromedp.ID("lesson-start")), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the focus in the input after Start", `document.activeElement.id === 'term-input'`, 5*time.Second)
	waitFor(t, ctx, "step 1 waits", `document.getElementById('step-0').dataset.state === 'current' && !document.getElementById('lesson-do').hidden`, 10*time.Second)

	// The hints, one per request: the last spells the command out, as a
	// button too.
	eval[bool](t, ctx, `(document.getElementById('term-input').value = '') === ''`)
	for i := 1; i <= 3; i++ {
		do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-hint-next")))
		waitFor(t, ctx, "hint "+itoa(i), `document.querySelectorAll('#lesson-hints li').length === `+itoa(i), 10*time.Second)
	}
	if !eval[bool](t, ctx, `!!document.querySelector('#lesson-hints button.cmd-fill[data-cmd="telnet mx.sandbox.test 25"]')`) {
		t.Errorf("the hint's command is not a button: %s", eval[string](t, ctx, `document.getElementById('lesson-hints').innerHTML`))
	}
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.CSS(`#lesson-hints button.cmd-fill`)))
	waitFor(t, ctx, "the input filled from the hint", `document.getElementById('term-input').value === 'telnet mx.sandbox.test 25'`, 5*time.Second)
	views(t, ctx, func(scheme string, width int64) {
		do(t, ctx, 5*time.Second, chromedp.Focus(chromedp.CSS(`#lesson-hints button.cmd-fill`)))
		elementShot(t, ctx, ".player", "hint-"+itoa(int(width))+"-"+scheme)
		elementShot(t, ctx, "#step-0", "step-"+itoa(int(width))+"-"+scheme)
	})

	// The rest played at once.
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("lesson-play-all")))
	// The player did the student's steps: watched, not passed.
	waitFor(t, ctx, "watched", `document.getElementById('scenario-status').dataset.state === 'watched'`, 90*time.Second)
	waitFor(t, ctx, "the lesson's end said", `window.said.includes('Lesson watched.')`, 10*time.Second)

	said := eval[[]string](t, ctx, `window.said`)
	lineTexts := eval[[]string](t, ctx, `[...document.querySelectorAll('#transcript li')].map(li => li.querySelector('.text') ? li.querySelector('.text').textContent : '')`)
	if len(said) >= len(lineTexts) {
		t.Errorf("the live region said %d sentences for %d transcript lines: %q", len(said), len(lineTexts), said)
	}
	state := false
	for _, s := range said {
		if strings.HasPrefix(s, "Connect") || strings.HasPrefix(s, "Connection") {
			state = true
		}
		for _, l := range lineTexts {
			if l != "" && strings.Contains(s, strings.TrimSpace(l)) && len(strings.TrimSpace(l)) > 8 {
				t.Errorf("the live region read a transcript line: %q", s)
			}
		}
	}
	if !state {
		t.Errorf("no connection state said: %q", said)
	}
	t.Logf("said: %q (transcript %d lines)", said, len(lineTexts))
}

// checkFocusRing tabs through the playground and checks that every
// control in and around the terminal shows a ring of at least 3:1
// against what is behind it (WCAG 2.2 SC 1.4.11), in light and dark, and
// is reached by Tab on a phone too;
// then takes the screenshots of the terminal's tools at both widths.
func checkFocusRing(t *testing.T, base string) {
	ctx := newBrowser(t)
	openPlayground(t, ctx, base, "datacenter", "mx.sandbox.test")
	do(t, ctx, 10*time.Second,
		chromedp.SetValue(chromedp.ID("connect-port"), "25"),
		chromedp.Click(chromedp.ID("connect-button")))
	waitFor(t, ctx, "the greeting", `!!document.querySelector('#transcript li[data-code="220"] button.reply')`, 20*time.Second)
	typeLine(t, ctx, "EHLO student.example")
	waitFor(t, ctx, "EHLO answered", `!!document.querySelector('#transcript li[data-code="250"] button.reply')`, 10*time.Second)

	// contrast of the focused element's outline against the background
	// behind it: the first ancestor with an opaque background.
	const ring = `(() => {
		const lum = c => { const m = c.match(/[\d.]+/g).map(Number); const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(m[0]) + 0.7152 * f(m[1]) + 0.0722 * f(m[2]); };
		const el = document.activeElement, cs = getComputedStyle(el);
		if (cs.outlineStyle === 'none' || parseFloat(cs.outlineWidth) < 2) return 0;
		let bg = null;
		for (let p = el.parentElement; p; p = p.parentElement) {
			const b = getComputedStyle(p).backgroundColor;
			if (b && !b.startsWith('rgba(0, 0, 0, 0)') && b !== 'transparent') { bg = b; break; }
		}
		bg = bg || getComputedStyle(document.body).backgroundColor;
		const a = lum(cs.outlineColor), b = lum(bg);
		return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
	})()`
	for _, view := range []struct {
		scheme string
		width  int64
	}{{"light", 1280}, {"dark", 1280}, {"dark", 390}} {
		scheme := view.scheme + "-" + itoa(int(view.width))
		if view.width == 390 {
			do(t, ctx, 10*time.Second, colorScheme(view.scheme), chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		} else {
			do(t, ctx, 10*time.Second, colorScheme(view.scheme), chromedp.EmulateViewport(1280, 900))
		}
		do(t, ctx, 5*time.Second, chromedp.Focus(chromedp.ID("host")))
		seen := map[string]bool{}
		for range 60 {
			do(t, ctx, 5*time.Second, chromedp.KeyEvent(kb.Tab))
			id := eval[string](t, ctx, `(() => { const a = document.activeElement; return a.dataset.testid || a.id || a.className || a.tagName; })()`)
			if !eval[bool](t, ctx, `!!document.activeElement.closest('#terminal, .board-wrap, .pickers')`) {
				continue
			}
			seen[id] = true
			if c := eval[float64](t, ctx, ring); c < 3 {
				t.Errorf("%s: the focus ring on %s has contrast %.2f, want at least 3", scheme, id, c)
			}
		}
		for _, want := range []string{"transcript-copy", "transcript-download", "transcript-clear", "disconnect-button", "terminal-input", "explain-all", "explain-toggle"} {
			if !seen[want] {
				t.Errorf("%s: Tab never reached %s (reached %v)", scheme, want, seen)
			}
		}
	}
	// Looked at: the tools and the secondary Disconnect, wide and narrow.
	views(t, ctx, func(scheme string, width int64) {
		do(t, ctx, 5*time.Second, chromedp.Focus(chromedp.ID("transcript-copy")))
		screenshot(t, ctx, "tools-"+itoa(int(width))+"-"+scheme)
		elementShot(t, ctx, "#terminal", "terminal-"+itoa(int(width))+"-"+scheme)
	})
}
