package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portlab/portlab/server/sandbox"
)

// An open mailbox tab after a restart of the server (labs live in memory)
// says the lab has expired and offers a new one, instead of
// "reconnecting" forever.
func TestMailboxLabExpired(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	// The real sandbox, restarted on the same address: the page's origin
	// and its kept lab stay, the server's labs are gone.
	first, err := sandbox.New(sandbox.Config{Version: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(first.Close)
	base := first.URL()

	ctx := newBrowser(t)
	navigate(t, ctx, base+"/mailbox")
	waitFor(t, ctx, "live mailbox", `document.getElementById('mailbox-live').dataset.state === 'on'`, 20*time.Second)
	// The restart: the first sandbox stops (its streams end), a new one
	// with no labs listens on the same address.
	first.Close()
	second, err := sandbox.New(sandbox.Config{HTTP: strings.TrimPrefix(base, "http://"), Version: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Close)
	waitFor(t, ctx, "expired notice", `!!document.querySelector('[data-testid=lab-expired]')`, 20*time.Second)
	screenshot(t, ctx, "mailbox-expired")
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.CSS(`[data-testid=lab-new]`)))
	waitFor(t, ctx, "a new lab, live", `document.getElementById('mailbox-live').dataset.state === 'on'`, 20*time.Second)
}
