package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/portlab/portlab/server/sandbox"
)

// Issue 9's browser checks: every reply opens to its explanation (by
// click and by keyboard), typed lines are echoed and refused lines say
// why, the DATA notice stays while a command word goes into the message,
// and a server that hangs up is announced when it does.
func TestExplainer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	for _, c := range []struct {
		name  string
		check func(*testing.T, string)
	}{
		{"auth-before-starttls-587", checkAuthBeforeStartTLSExplained},
		{"typo-echoed-and-explained", checkTypoExplained},
		{"data-notice", checkDataNotice},
		{"lesson-replies", checkLessonRepliesExplained},
		{"refused-explained", checkRefusedExplained},
	} {
		t.Run(c.name, func(t *testing.T) { t.Parallel(); c.check(t, startSandbox(t)) })
	}
	t.Run("server-close-announced", func(t *testing.T) { t.Parallel(); checkServerCloseAnnounced(t) })
}

// reply is the selector of the explain button of the last reply line
// with code.
func reply(code string) string {
	return `[...document.querySelectorAll('#transcript li[data-code="` + code + `"] button.reply')].pop()`
}

// panelOf is the expression of the explanation panel a button controls.
func panelOf(button string) string {
	return `document.getElementById(` + button + `.getAttribute('aria-controls'))`
}

func openPlayground(t *testing.T, ctx context.Context, base, profile, host string) {
	t.Helper()
	navigate(t, ctx, base+"/playground?profile="+profile+"&host="+host)
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab", `document.getElementById('lab').dataset.state === 'ready'`, 10*time.Second)
}

func checkAuthBeforeStartTLSExplained(t *testing.T, base string) {
	ctx := newBrowser(t)
	openPlayground(t, ctx, base, "home-isp", "smtp.relay.test")
	typeLine(t, ctx, "open smtp.relay.test 587")
	waitFor(t, ctx, "the greeting", `document.querySelector('#transcript li[data-code="220"]') !== null`, 20*time.Second)
	typeLine(t, ctx, "EHLO student.example")
	waitFor(t, ctx, "EHLO answered", `document.querySelector('#transcript li[data-code="250"] button.reply') !== null`, 10*time.Second)
	typeLine(t, ctx, "AUTH PLAIN AGZvbwBiYXJiYXo=")
	waitFor(t, ctx, "530 5.7.0", `!!`+reply("530")+` && `+reply("530")+`.textContent.includes('5.7.0')`, 10*time.Second)

	// Only the last line of the multi-line EHLO reply opens.
	if n := eval[int](t, ctx, `document.querySelectorAll('#transcript li[data-code="250"] button.reply').length`); n != 1 {
		t.Errorf("%d lines of the EHLO reply open to an explanation, want its last one", n)
	}

	// By click.
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#transcript li[data-code="530"] button.reply`)))
	waitFor(t, ctx, "the panel, by click", `!`+panelOf(reply("530"))+`.hidden && `+panelOf(reply("530"))+`.textContent.includes('STARTTLS')`, 10*time.Second)
	text := eval[string](t, ctx, panelOf(reply("530"))+`.textContent`)
	for _, want := range []string{"5xx", "5.7.0", "Security or policy status", "What it means here", "What to try next", "RFC 3207"} {
		if !strings.Contains(text, want) {
			t.Errorf("the 530 panel lacks %q: %s", want, text)
		}
	}
	if got := eval[string](t, ctx, reply("530")+`.getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("aria-expanded %q after opening", got)
	}
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#transcript li[data-code="530"] button.reply`)))
	waitFor(t, ctx, "the panel closed", panelOf(reply("530"))+`.hidden`, 5*time.Second)

	// By keyboard: from the input, Shift+Tab reaches the last reply (the
	// 530), which shows a focus ring; Enter opens it.
	do(t, ctx, 5*time.Second, chromedp.Focus(chromedp.ID("term-input")),
		chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	if !eval[bool](t, ctx, `document.activeElement === `+reply("530")) {
		t.Fatalf("Shift+Tab from the input reached %s, not the 530's button", eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 120)`))
	}
	ring := eval[string](t, ctx, `(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor; })()`)
	if !strings.HasPrefix(ring, "solid 3px") {
		t.Errorf("no focus ring on the reply: %s", ring)
	}
	do(t, ctx, 5*time.Second, chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the panel, by Enter", `!`+panelOf(reply("530"))+`.hidden && `+panelOf(reply("530"))+`.textContent.includes('STARTTLS')`, 10*time.Second)

	// The panel, looked at: light and dark, wide and narrow.
	views(t, ctx, func(scheme string, width int64) {
		// The transcript scrolled to the reply line, as opening it does.
		painted(t, ctx, `const tr = document.getElementById('transcript'), li = `+reply("530")+`.closest('li'); tr.scrollTop = li.offsetTop - tr.offsetTop`)
		screenshot(t, ctx, "explainer-"+itoa(int(width))+"-"+scheme)
	})
}

func checkTypoExplained(t *testing.T, base string) {
	ctx := newBrowser(t)
	openPlayground(t, ctx, base, "datacenter", "mx.sandbox.test")
	// A line the terminal does not send is echoed, and says why.
	typeLine(t, ctx, "EHLO student.example")
	waitFor(t, ctx, "the refusal", `[...document.querySelectorAll('#transcript li[data-who="error"]')].some(li => li.textContent.includes('Not sent: not connected'))`, 5*time.Second)
	if !eval[bool](t, ctx, `[...document.querySelectorAll('#transcript li[data-who="typed"]')].some(li => li.textContent.includes('EHLO student.example'))`) {
		t.Errorf("the refused line is not echoed:\n%s", transcript(t, ctx))
	}
	typeLine(t, ctx, "open mx.sandbox.test 25")
	waitFor(t, ctx, "the greeting", `!!`+reply("220"), 20*time.Second)
	typeLine(t, ctx, "EHOL x")
	waitFor(t, ctx, "500 5.5.2", `!!`+reply("500"), 10*time.Second)
	if !eval[bool](t, ctx, `[...document.querySelectorAll('#transcript li[data-who="client"]')].some(li => li.textContent.includes('EHOL x'))`) {
		t.Errorf("the typo is not echoed:\n%s", transcript(t, ctx))
	}
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#transcript li[data-code="500"] button.reply`)))
	waitFor(t, ctx, "the 500 explained", `!`+panelOf(reply("500"))+`.hidden && `+panelOf(reply("500"))+`.textContent.includes('Unknown command')`, 10*time.Second)
	if text := eval[string](t, ctx, panelOf(reply("500"))+`.textContent`); !strings.Contains(text, "5.5.2") || !strings.Contains(text, "Syntax error") {
		t.Errorf("the 500 panel: %s", text)
	}
	// "Explain all" opens every reply, and the ones still to come.
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("explain-all")))
	waitFor(t, ctx, "every reply open", `[...document.querySelectorAll('#transcript button.reply')].every(b => b.getAttribute('aria-expanded') === 'true')`, 10*time.Second)
	typeLine(t, ctx, "NOOP")
	waitFor(t, ctx, "the NOOP reply opened", `!!`+reply("250")+` && `+reply("250")+`.getAttribute('aria-expanded') === 'true' && !`+panelOf(reply("250"))+`.hidden`, 10*time.Second)
	screenshot(t, ctx, "explain-all")
}

func checkDataNotice(t *testing.T, base string) {
	ctx := newBrowser(t)
	openPlayground(t, ctx, base, "datacenter", "mx.sandbox.test")
	typeLine(t, ctx, "open mx.sandbox.test 25")
	waitFor(t, ctx, "the greeting", `!!`+reply("220"), 20*time.Second)
	for _, l := range []string{"EHLO student.example", "MAIL FROM:<teacher@example.org>", "RCPT TO:<student@sandbox.test>", "DATA"} {
		typeLine(t, ctx, l)
	}
	waitFor(t, ctx, "354", `!!`+reply("354"), 10*time.Second)
	notice := `document.getElementById('term-notice')`
	waitFor(t, ctx, "the DATA notice", `!`+notice+`.hidden && `+notice+`.textContent.includes('a line with a single . ends it')`, 5*time.Second)
	typeLine(t, ctx, "Subject: a test")
	typeLine(t, ctx, "QUIT")
	waitFor(t, ctx, "the reminder", notice+`.textContent.includes('QUIT goes into the message as text')`, 10*time.Second)
	if !eval[bool](t, ctx, `!`+notice+`.hidden && `+notice+`.textContent.includes('a line with a single . ends it')`) {
		t.Errorf("the DATA notice went away after QUIT")
	}
	if !eval[bool](t, ctx, `[...document.querySelectorAll('#transcript li[data-who="hint"]')].some(li => li.textContent.includes('QUIT goes into the message'))`) {
		t.Errorf("no reminder in the transcript:\n%s", transcript(t, ctx))
	}
	if s := termState(t, ctx); s == "closed" {
		t.Errorf("QUIT inside the message closed the connection")
	}
	screenshot(t, ctx, "data-notice")
	typeLine(t, ctx, ".")
	waitFor(t, ctx, "the message accepted", `[...document.querySelectorAll('#transcript li[data-code="250"]')].some(li => li.textContent.includes('queued'))`, 10*time.Second)
	waitFor(t, ctx, "the notice gone", notice+`.hidden`, 5*time.Second)
}

// A connection the network refuses opens to the gateway close code's
// explanation, in the same panel.
func checkRefusedExplained(t *testing.T, base string) {
	ctx := newBrowser(t)
	openPlayground(t, ctx, base, "home-isp", "mx.sandbox.test")
	typeLine(t, ctx, "open mx.sandbox.test 25")
	refused := `document.querySelector('#transcript li[data-who="error"] button.reply')`
	waitFor(t, ctx, "refused", `document.getElementById('term-state').dataset.state === 'refused' && !!`+refused, 20*time.Second)
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#transcript li[data-who="error"] button.reply`)))
	waitFor(t, ctx, "the refusal explained", `!`+panelOf(refused)+`.hidden && `+panelOf(refused)+`.textContent.includes('your network blocks this port')`, 10*time.Second)
}

func checkLessonRepliesExplained(t *testing.T, base string) {
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/first-contact?autoplay=1&pace=0")
	waitReady(t, ctx)
	waitFor(t, ctx, "played through", `document.getElementById('scenario-status').dataset.state === 'watched'`, 90*time.Second)
	first := `document.querySelector('#transcript li[data-code="220"] button.reply')`
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#transcript li[data-code="220"] button.reply`)))
	waitFor(t, ctx, "the greeting explained", `!`+panelOf(first)+`.hidden && `+panelOf(first)+`.textContent.includes('The server is ready')`, 10*time.Second)
	screenshot(t, ctx, "lesson-explained")
}

// policyWith is the built-in relay policy with one line replaced, as a
// file for sandbox.Config.Policy.
func policyWith(t *testing.T, old, new string) string {
	t.Helper()
	def, err := os.ReadFile(filepath.Join("..", "..", "server", "policy", "default.policy"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(def), old, new, 1)
	if changed == string(def) {
		t.Fatalf("default.policy has no %q line", old)
	}
	file := filepath.Join(t.TempDir(), "test.policy")
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// checkServerCloseAnnounced makes the relay hang up: after too many
// errors (421 4.7.0, Postfix's smtpd_hard_error_limit) and on a session
// left idle (smtpd_timeout). Each time the terminal says so when it
// happens, with no further command typed.
func checkServerCloseAnnounced(t *testing.T) {
	closed := `document.getElementById('term-state').dataset.state === 'closed' && document.getElementById('transcript').textContent.includes('Connection closed by foreign host')`

	base := startSandboxWith(t, func(c *sandbox.Config) { c.Policy = policyWith(t, "max-errors 20", "max-errors 3") })
	ctx := newBrowser(t)
	openPlayground(t, ctx, base, "datacenter", "mx.sandbox.test")
	typeLine(t, ctx, "open mx.sandbox.test 25")
	waitFor(t, ctx, "the greeting", `!!`+reply("220"), 20*time.Second)
	for i := 1; i <= 5; i++ {
		typeLine(t, ctx, "EHOL x")
		waitFor(t, ctx, "the reply to error "+itoa(i), `document.querySelectorAll('#transcript li[data-code="500"]').length === `+itoa(i)+` || !!`+reply("421"), 10*time.Second)
		if eval[bool](t, ctx, `!!`+reply("421")) {
			break
		}
	}
	waitFor(t, ctx, "the close after 421, announced", closed, 10*time.Second)
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`#transcript li[data-code="421"] button.reply`)))
	waitFor(t, ctx, "the 421 explained", `!`+panelOf(reply("421"))+`.hidden && `+panelOf(reply("421"))+`.textContent.includes('Too many errors')`, 10*time.Second)

	// Idle: the relay gives up after 2 s; nothing more is typed.
	base = startSandboxWith(t, func(c *sandbox.Config) { c.Policy = policyWith(t, "idle-timeout 5m", "idle-timeout 2s") })
	openPlayground(t, ctx, base, "datacenter", "mx.sandbox.test")
	typeLine(t, ctx, "open mx.sandbox.test 25")
	waitFor(t, ctx, "the greeting", `!!`+reply("220"), 20*time.Second)
	waitFor(t, ctx, "the idle close, announced", closed, 30*time.Second)
}
