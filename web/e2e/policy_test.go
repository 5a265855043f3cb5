package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPolicyEditor edits the lab's own policy on /lab/policy: the editor
// starts from the server's policy with its lines numbered; a wrong line is
// refused with its line number (a button that selects it) and the lab
// keeps the policy it had; the corrected policy applies, and the
// playground's relay then follows it for this lab: a RCPT that the
// server's rules refuse is accepted. Reset brings back the server's. The
// lesson your-own-rules shows the editor and plays through in the tab.
func TestPolicyEditor(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lab/policy")
	waitFor(t, ctx, "the server's policy", `document.getElementById('policy-editor').dataset.state === 'server' && document.getElementById('policy-text').value.includes('<listener 25>')`, 15*time.Second)
	lines := `document.getElementById('policy-text').value.split('\n').length`
	if n, g := eval[int](t, ctx, lines), eval[int](t, ctx, `document.getElementById('policy-gutter').textContent.trim().split('\n').length`); n != g {
		t.Errorf("%d lines, %d line numbers", n, g)
	}

	// A network with a /33 prefix: refused, at its line.
	set := func(extra string) {
		t.Helper()
		eval[bool](t, ctx, `(() => { const ta = document.getElementById('policy-text'); ta.value = ta.value.replace(/\n*$/, '\n') + `+js(extra)+`; ta.dispatchEvent(new Event('input')); return true; })()`)
	}
	before := eval[int](t, ctx, lines)
	set("<source 203.0.113.0/33>\n  always-allow-relaying yes\n</source>\n")
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#policy-apply")))
	waitFor(t, ctx, "the error list", `!document.getElementById('policy-errors').hidden`, 10*time.Second)
	badLine := before // the text ended with a newline: the block starts on the last, empty line
	if got := eval[string](t, ctx, `[...document.querySelectorAll('[data-testid=policy-error]')].map(li => li.dataset.line + ' ' + li.textContent).join('|')`); got != itoa(badLine)+` line `+itoa(badLine)+`: "203.0.113.0/33" is not an address or CIDR network` {
		t.Errorf("errors %q, want one at line %d", got, badLine)
	}
	if got := eval[string](t, ctx, `document.getElementById('policy-editor').dataset.state`); got != "refused" {
		t.Errorf("editor state %q after a refused policy", got)
	}
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#policy-error-list button")))
	if got := eval[string](t, ctx, `(() => { const ta = document.getElementById('policy-text'); return ta.value.slice(ta.selectionStart, ta.selectionEnd); })()`); got != "<source 203.0.113.0/33>" {
		t.Errorf("the error's line button selected %q", got)
	}
	views(t, ctx, func(scheme string, width int64) {
		screenshot(t, ctx, "policy-errors-"+itoa(int(width))+"-"+scheme)
	})

	// The lab kept the server's policy: a new visit shows it.
	navigate(t, ctx, base+"/lab/policy")
	waitFor(t, ctx, "the server's policy kept", `document.getElementById('policy-editor').dataset.state === 'server' && !document.getElementById('policy-text').value.includes('203.0.113.0')`, 15*time.Second)

	// Corrected: applied.
	set("<source 203.0.113.0/24>\n  always-allow-relaying yes\n</source>\n")
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#policy-apply")))
	waitFor(t, ctx, "the lab's own policy", `document.getElementById('policy-editor').dataset.state === 'own' && document.getElementById('policy-errors').hidden`, 10*time.Second)
	views(t, ctx, func(scheme string, width int64) {
		screenshot(t, ctx, "policy-own-"+itoa(int(width))+"-"+scheme)
	})

	// The behaviour: this lab's relay trusts the other data center now.
	// With the lab open: a line typed before it is would dial into the
	// shared classroom lab, which follows the server's policy.
	openPlayground(t, ctx, base, "other-datacenter", "mx.sandbox.test")
	count := func(code string) string {
		return `document.querySelectorAll('#transcript li[data-code="` + code + `"]').length`
	}
	typeLine(t, ctx, "telnet mx.sandbox.test 25")
	waitFor(t, ctx, "the greeting", count("220")+` >= 1`, 20*time.Second)
	typeLine(t, ctx, "EHLO ops.partner.example")
	typeLine(t, ctx, "MAIL FROM:<ops@partner.example>")
	typeLine(t, ctx, "RCPT TO:<friend@example.net>")
	waitFor(t, ctx, "RCPT accepted", `[...document.querySelectorAll('#transcript li[data-code="250"]')].some(li => li.textContent.includes('2.1.5'))`, 15*time.Second)
	if eval[int](t, ctx, count("554")) != 0 {
		t.Errorf("relaying refused under the lab's own policy: %s", transcript(t, ctx))
	}

	// Reset: the server's policy again.
	navigate(t, ctx, base+"/lab/policy")
	waitFor(t, ctx, "the own policy loaded", `document.getElementById('policy-editor').dataset.state === 'own'`, 15*time.Second)
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#policy-reset")))
	waitFor(t, ctx, "the server's policy", `document.getElementById('policy-editor').dataset.state === 'server' && !document.getElementById('policy-text').value.includes('203.0.113.0')`, 10*time.Second)

	// The lesson that teaches it shows the editor beside its terminal, and
	// plays through in the tab: its policy steps go through the browser's
	// API client, and the editor follows them.
	navigate(t, ctx, base+"/lessons/your-own-rules?autoplay=1&pace=0")
	waitReady(t, ctx)
	if !eval[bool](t, ctx, `!!document.querySelector('.main-col #policy-editor')`) {
		t.Error("the lesson page has no policy editor")
	}
	waitFor(t, ctx, "the lesson played", `document.getElementById('scenario-status').dataset.state === 'watched'`, 90*time.Second)
	waitFor(t, ctx, "the editor back on the server's policy", `document.getElementById('policy-editor').dataset.state === 'server'`, 10*time.Second)
	views(t, ctx, func(scheme string, width int64) {
		painted(t, ctx, `document.getElementById('policy-editor').scrollIntoView()`)
		screenshot(t, ctx, "policy-lesson-"+itoa(int(width))+"-"+scheme)
	})
}
