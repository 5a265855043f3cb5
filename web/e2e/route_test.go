package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRouteDiagram checks the route diagram and the port board beside the
// terminal: who refused (the network or a host without the door), the
// STARTTLS stripped by hotel Wi-Fi, the lock once TLS is up, and the
// sentence a screen reader reads; looked at in light and dark, at 1280
// and 390 px.
func TestRouteDiagram(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		ctx := newBrowser(t)
		openPlayground(t, ctx, base, "home-isp", "mx.sandbox.test")
		do(t, ctx, 10*time.Second, chromedp.Click(chromedp.ID("port-25")))
		waitFor(t, ctx, "refused by home-isp", `document.getElementById('route-net-effect').textContent === 'refused by home-isp'`, 20*time.Second)
		if got, want := eval[string](t, ctx, `document.getElementById('route-sentence').textContent`), "home-isp refuses outbound port 25 before it reaches mx.sandbox.test."; got != want {
			t.Errorf("sentence %q, want %q", got, want)
		}
		if got := eval[string](t, ctx, `document.querySelector('#port-25 [data-role=verdict]').textContent`); got != "refused by home-isp" {
			t.Errorf("port 25 cell says %q", got)
		}
		// The drawing is hidden from screen readers; the sentence is not.
		if got := eval[string](t, ctx, `document.querySelector('#route .route-path').getAttribute('aria-hidden')`); got != "true" {
			t.Errorf("route drawing aria-hidden=%q", got)
		}
		// The telnet line is the same whoever refused.
		if tr := transcript(t, ctx); !contains(tr, "Unable to connect to remote host: Connection refused") {
			t.Errorf("transcript:\n%s", tr)
		}
		looks(t, ctx, "refused")

		// A host without the door: the network let it through.
		typeLine(t, ctx, "open smtp.relay.test 465")
		waitFor(t, ctx, "no door", `document.getElementById('port-465').dataset.state === 'no-door'`, 20*time.Second)
		if got := eval[string](t, ctx, `document.querySelector('#port-465 [data-role=verdict]').textContent`); got != "no door on smtp.relay.test" {
			t.Errorf("port 465 cell says %q", got)
		}
		if got := eval[string](t, ctx, `document.getElementById('route-door').textContent`); got != "no door on smtp.relay.test" {
			t.Errorf("route door says %q", got)
		}
		if got := eval[string](t, ctx, `document.getElementById('board-profile').textContent`); got != "home-isp" {
			t.Errorf("board profile %q", got)
		}
		screenshot(t, ctx, "route-no-door")
	})
	t.Run("stripped", func(t *testing.T) {
		t.Parallel()
		ctx := newBrowser(t)
		openPlayground(t, ctx, base, "hotel-wifi", "smtp.relay.test")
		typeLine(t, ctx, "open smtp.relay.test 587")
		waitFor(t, ctx, "the greeting", `!!document.querySelector('#transcript li[data-code="220"]')`, 20*time.Second)
		typeLine(t, ctx, "EHLO student.example")
		typeLine(t, ctx, "STARTTLS")
		waitFor(t, ctx, "STARTTLS answered", `[...document.querySelectorAll('#transcript li[data-who="server"]')].length >= 3`, 20*time.Second)
		if got := eval[string](t, ctx, `document.getElementById('route-net-effect').textContent`); !contains(got, "STARTTLS stripped") {
			t.Errorf("network box says %q", got)
		}
		if got := eval[string](t, ctx, `document.getElementById('route').dataset.secure`); got != "false" {
			t.Errorf("a lock on a stripped path: secure=%s", got)
		}
		if got := eval[string](t, ctx, `document.getElementById('route-sentence').textContent`); !contains(got, "strips STARTTLS") {
			t.Errorf("sentence %q", got)
		}
		looks(t, ctx, "stripped")
	})
	t.Run("encrypted", func(t *testing.T) {
		t.Parallel()
		ctx := newBrowser(t)
		openPlayground(t, ctx, base, "home-isp", "smtp.relay.test")
		typeLine(t, ctx, "open smtp.relay.test 587")
		waitFor(t, ctx, "the greeting", `!!document.querySelector('#transcript li[data-code="220"]')`, 20*time.Second)
		typeLine(t, ctx, "EHLO student.example")
		typeLine(t, ctx, "STARTTLS")
		waitFor(t, ctx, "the lock", `document.getElementById('route').dataset.secure === 'true'`, 20*time.Second)
		if got := eval[string](t, ctx, `document.getElementById('route-sentence').textContent`); got != "home-isp passes port 587 to smtp.relay.test; every hop is encrypted with TLS." {
			t.Errorf("sentence %q", got)
		}
		if n := eval[int](t, ctx, `[...document.querySelectorAll('#route .route-lock')].filter(e => getComputedStyle(e).display !== 'none').length`); n != 2 {
			t.Errorf("%d locks drawn, want 2", n)
		}
		looks(t, ctx, "encrypted")
	})
}

// looks takes screenshots of the page at 1280 and 390 px, light and dark,
// and checks that nothing is wider than the screen.
func looks(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	views(t, ctx, func(scheme string, width int64) {
		painted(t, ctx, `document.getElementById('route').scrollIntoView()`)
		screenshot(t, ctx, "route-"+name+"-"+itoa(int(width))+"-"+scheme)
		elementShot(t, ctx, "#route", "route-only-"+name+"-"+itoa(int(width))+"-"+scheme)
	})
}

// elementShot saves a screenshot of one element, to look at closely.
func elementShot(t *testing.T, ctx context.Context, sel, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	buf, err := chromedp.Run(tctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(screenshotDir(t), unsafeName.ReplaceAllString(t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}
