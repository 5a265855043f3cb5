package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPlaygroundTypedAuthAndMailbox types a whole submission in the
// playground with the terminal's own helpers (auth plain USER PASS gets
// 235 on 587 after STARTTLS), sends two messages, and checks the mailbox
// page: newest first, the open message's header table has its Subject
// row, and the detail sits beside the list on a wide screen and below it
// on a phone, in light and dark.
func TestPlaygroundTypedAuthAndMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/playground?profile=home-isp&host=smtp.relay.test")
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab", `document.getElementById('lab').dataset.state === 'ready'`, 10*time.Second)

	count := func(code string) string {
		return `document.querySelectorAll('#transcript li[data-code="` + code + `"]').length`
	}
	typeLine(t, ctx, "open smtp.relay.test 587")
	waitFor(t, ctx, "the greeting", count("220")+` >= 1`, 20*time.Second)
	typeLine(t, ctx, "EHLO student.example")
	typeLine(t, ctx, "STARTTLS")
	waitFor(t, ctx, "TLS", `document.getElementById('term-state').dataset.state === 'tls'`, 20*time.Second)
	if got := eval[string](t, ctx, `document.getElementById('term-target').textContent`); got != "smtp.relay.test:587" {
		t.Errorf("terminal target %q after STARTTLS", got)
	}
	typeLine(t, ctx, "EHLO student.example")
	typeLine(t, ctx, "auth plain foo barbaz")
	waitFor(t, ctx, "235 for auth plain foo barbaz", count("235")+` === 1`, 10*time.Second)

	for i, subject := range []string{"older message", "newer message"} {
		typeLine(t, ctx, "MAIL FROM:<foo@sandbox.test>")
		typeLine(t, ctx, "RCPT TO:<bob@sandbox.test>")
		typeLine(t, ctx, "DATA")
		waitFor(t, ctx, "354", count("354")+` === `+itoa(i+1), 10*time.Second)
		typeLine(t, ctx, "Subject: "+subject)
		typeLine(t, ctx, "")
		typeLine(t, ctx, "hello")
		typeLine(t, ctx, ".")
		waitFor(t, ctx, "the message accepted", `[...document.querySelectorAll('#transcript li.secure[data-code="250"]')].filter(li => /queued/i.test(li.textContent)).length === `+itoa(i+1), 15*time.Second)
	}

	navigate(t, ctx, base+"/mailbox")
	waitFor(t, ctx, "two messages", `document.querySelectorAll('#mailbox-list [data-testid=message]').length === 2`, 15*time.Second)
	if got := eval[string](t, ctx, `document.querySelector('#mailbox-list [data-testid=message] .subject').textContent`); got != "newer message" {
		t.Errorf("first message in the list is %q, want the newest", got)
	}
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS("#mailbox-list [data-testid=message] [data-testid=message-open]")))
	waitFor(t, ctx, "the Subject row", `[...document.querySelectorAll('#message-headers tr')].some(tr => tr.querySelector('th').textContent === 'Subject' && tr.querySelector('td').textContent === 'newer message')`, 10*time.Second)
	if bad := eval[bool](t, ctx, `document.getElementById('message-headers').textContent.includes('[object Object]')`); bad {
		t.Error("the header table shows [object Object]")
	}
	waitFor(t, ctx, "the raw source", `document.getElementById('message-raw').textContent.includes('Subject: newer message')`, 10*time.Second)

	beside := `(() => { const l = document.getElementById('mailbox-list').getBoundingClientRect(), v = document.getElementById('message-view').getBoundingClientRect(); return v.left >= l.right && v.top < l.bottom; })()`
	below := `(() => { const l = document.getElementById('mailbox-list').getBoundingClientRect(), v = document.getElementById('message-view').getBoundingClientRect(); return v.top >= l.bottom; })()`
	for _, scheme := range []string{"light", "dark"} {
		do(t, ctx, 10*time.Second, colorScheme(scheme), chromedp.EmulateViewport(1280, 900))
		if !eval[bool](t, ctx, beside) {
			t.Errorf("%s, 1280 px: the message view is not beside the list", scheme)
		}
		screenshot(t, ctx, "mailbox-1280-"+scheme)
		do(t, ctx, 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		if !eval[bool](t, ctx, below) {
			t.Errorf("%s, 390 px: the message view is not below the list", scheme)
		}
		if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 400 {
			t.Errorf("%s, 390 px: the page is %v px wide", scheme, w)
		}
		screenshot(t, ctx, "mailbox-390-"+scheme)
	}
}
