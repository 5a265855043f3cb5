package e2e_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPlayground runs issue 4's browser checks against the real sandbox,
// started in-process: gateway, relay, labs API and pages.
func TestPlayground(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	for _, c := range []struct {
		name  string
		check func(*testing.T, string)
	}{
		{"submission-587", checkPlaygroundSubmission587},
		{"refused-25", checkPort25RefusedHomeISP},
		{"implicit-tls-465", checkImplicitTLS465},
	} {
		t.Run(c.name, func(t *testing.T) { t.Parallel(); c.check(t, startSandbox(t)) })
	}
}

func checkPlaygroundSubmission587(t *testing.T, base string) {
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/playground?profile=home-isp&host=smtp.relay.test")
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab", `document.getElementById('lab').dataset.state === 'ready'`, 10*time.Second)

	typeLine(t, ctx, "open smtp.relay.test 587")
	waitFor(t, ctx, "the greeting", `document.querySelector('#transcript li[data-code="220"]') !== null`, 20*time.Second)
	if s := termState(t, ctx); s != "connected" {
		t.Errorf("terminal state %q after the greeting, want connected", s)
	}
	typeLine(t, ctx, "EHLO student.example")
	waitFor(t, ctx, "STARTTLS offered", `[...document.querySelectorAll('#transcript li[data-code="250"]')].some(li => li.textContent.includes('STARTTLS'))`, 10*time.Second)
	typeLine(t, ctx, "STARTTLS")
	waitFor(t, ctx, "TLS in the tab", `document.getElementById('term-state').dataset.state === 'tls'`, 20*time.Second)
	waitFor(t, ctx, "port 587 tls", `document.getElementById('port-587').dataset.state === 'tls'`, 5*time.Second)
	typeLine(t, ctx, "EHLO student.example")
	waitFor(t, ctx, "AUTH offered inside TLS", `[...document.querySelectorAll('#transcript li.secure[data-code="250"]')].some(li => li.textContent.includes('AUTH'))`, 10*time.Second)

	// The AUTH helper with the demo account foo / barbaz.
	do(t, ctx, 10*time.Second,
		chromedp.Click(chromedp.CSS("#auth-helper summary")),
		chromedp.SetValue(chromedp.ID("auth-user"), "foo"),
		chromedp.SetValue(chromedp.ID("auth-pass"), "barbaz"),
		chromedp.Click(chromedp.CSS("[data-testid=auth-send]")))
	waitFor(t, ctx, "235", `document.querySelector('#transcript li[data-code="235"]') !== null`, 10*time.Second)
	waitFor(t, ctx, "port 587 auth-ok", `document.getElementById('port-587').dataset.state === 'auth-ok'`, 5*time.Second)
	if title := eval[string](t, ctx, `(document.querySelector('#transcript li.secure .text[title]') || {}).title || ''`); title == "" {
		t.Error("no decoded base64 on the AUTH line")
	}

	subject := "e2e " + strconv.FormatInt(time.Now().UnixNano(), 36)
	do(t, ctx, 10*time.Second,
		chromedp.Click(chromedp.CSS("#data-helper summary")),
		chromedp.SetValue(chromedp.ID("msg-subject"), subject),
		chromedp.Click(chromedp.CSS("[data-testid=data-send]")))
	waitFor(t, ctx, "the message accepted", `[...document.querySelectorAll('#transcript li.secure[data-code="250"]')].some(li => /queued|accepted|ok/i.test(li.textContent))`, 15*time.Second)
	waitFor(t, ctx, "the message in the mailbox",
		`[...document.querySelectorAll('[data-testid=message] .subject')].some(e => e.textContent === `+js(subject)+`)`, 15*time.Second)
	screenshot(t, ctx, "after-send")

	navigate(t, ctx, base+"/mailbox")
	waitFor(t, ctx, "the mailbox page", `[...document.querySelectorAll('[data-testid=message] .subject')].some(e => e.textContent === `+js(subject)+`)`, 15*time.Second)
	if tls := eval[string](t, ctx, `document.querySelector('[data-testid=message]').dataset.tls`); tls != "true" {
		t.Errorf("message arrived with tls=%s, want true", tls)
	}
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS("[data-testid=message] [data-testid=message-open]")))
	waitFor(t, ctx, "the raw source", `document.getElementById('message-raw').textContent.includes('Subject: `+subject+`')`, 10*time.Second)
	// The header table shows the API's headers (a list of {name, value}):
	// a Subject row with the subject sent.
	waitFor(t, ctx, "the Subject row of the header table", `[...document.querySelectorAll('#message-headers tr')].some(tr =>
		tr.querySelector('th') && tr.querySelector('th').textContent === 'Subject' && tr.querySelector('td').textContent === `+js(subject)+`)`, 10*time.Second)
	screenshot(t, ctx, "mailbox")
}

func checkPort25RefusedHomeISP(t *testing.T, base string) {
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/playground?profile=home-isp&host=mx.sandbox.test")
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab", `document.getElementById('lab').dataset.state === 'ready'`, 10*time.Second)
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.ID("port-25")))
	waitFor(t, ctx, "refused", `document.getElementById('term-state').dataset.state === 'refused'`, 20*time.Second)
	if got := eval[string](t, ctx, `document.getElementById('port-25').dataset.state`); got != "refused" {
		t.Errorf("port 25 cell %q, want refused", got)
	}
	if tr := transcript(t, ctx); !contains(tr, "Connection refused") || !contains(tr, "Trying mx.sandbox.test...") {
		t.Errorf("transcript:\n%s", tr)
	}
	screenshot(t, ctx, "refused")
}

func checkImplicitTLS465(t *testing.T, base string) {
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/playground?profile=datacenter&host=legacy.mail.test")
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab", `document.getElementById('lab').dataset.state === 'ready'`, 10*time.Second)

	// Plaintext first: telnet meets silence on 465.
	typeLine(t, ctx, "telnet legacy.mail.test 465")
	waitFor(t, ctx, "silence", `document.getElementById('port-465').dataset.state === 'silent'`, 15*time.Second)
	do(t, ctx, 5*time.Second, chromedp.Click(chromedp.ID("disconnect-button")))

	typeLine(t, ctx, "open legacy.mail.test 465")
	waitFor(t, ctx, "TLS greeting", `document.querySelector('#transcript li.secure[data-code="220"]') !== null`, 20*time.Second)
	if s := termState(t, ctx); s != "tls" {
		t.Errorf("terminal state %q, want tls", s)
	}
	if got := eval[string](t, ctx, `document.getElementById('port-465').dataset.state`); got != "tls" {
		t.Errorf("port 465 cell %q, want tls", got)
	}
	if tr := transcript(t, ctx); !contains(tr, "TLS 1.") || !contains(tr, "certificate") {
		t.Errorf("no TLS details in the transcript:\n%s", tr)
	}
	screenshot(t, ctx, "implicit-tls")
}
