package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPagesInChromium loads every page of the sandbox and takes a
// screenshot: the layout, the loader and the wasm start.
func TestPagesInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	for _, p := range []string{"/", "/ports", "/clients", "/mailbox", "/lessons/first-contact", "/embed/playground"} {
		navigate(t, ctx, base+p)
		if p == "/lessons/first-contact" {
			waitReady(t, ctx)
		}
		screenshot(t, ctx, strings.Trim(strings.ReplaceAll(p, "/", "_"), "_"))
	}
	navigate(t, ctx, base+"/playground")
	waitReady(t, ctx)
	if got := eval[string](t, ctx, `document.getElementById('client-loader').dataset.state`); got != "ready" {
		t.Errorf("loader state %q", got)
	}
	typeLine(t, ctx, "help")
	waitFor(t, ctx, "help text", `document.getElementById('transcript').textContent.includes('telnet HOST PORT')`, 5*time.Second)
	screenshot(t, ctx, "playground")

	// A phone-sized viewport: one column, nothing wider than the screen.
	do(t, ctx, 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	navigate(t, ctx, base+"/playground")
	waitReady(t, ctx)
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("phone layout is %v px wide", w)
	}
	screenshot(t, ctx, "playground-phone")
}

// TestKeyboardOnly walks the playground with Tab alone and checks that every
// control can be reached and shows where the focus is, then connects and
// recalls history with the arrow keys.
func TestKeyboardOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/playground")
	waitReady(t, ctx)

	// The skip link comes first and jumps to main.
	do(t, ctx, 5*time.Second, chromedp.KeyEvent(kb.Tab))
	if got := eval[string](t, ctx, `document.activeElement.textContent`); got != "Skip to content" {
		t.Errorf("first Tab focuses %q, want the skip link", got)
	}
	seen := map[string]bool{}
	for range 80 {
		do(t, ctx, 5*time.Second, chromedp.KeyEvent(kb.Tab))
		id := eval[string](t, ctx, `(document.activeElement.dataset.testid || document.activeElement.id || document.activeElement.tagName)`)
		seen[id] = true
		outline := eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle`)
		if outline == "none" && id != "BODY" {
			t.Errorf("%s has no visible focus outline", id)
		}
	}
	for _, want := range []string{"profile-select", "host-select", "port-25", "port-587", "port-995", "connect-host", "connect-port", "connect-button", "transcript", "terminal-input", "quick-ehlo", "lab-reset"} {
		if !seen[want] {
			t.Errorf("Tab never reached %s (reached %v)", want, seen)
		}
	}
	// Keyboard: type into the terminal, recall with ArrowUp.
	typeLine(t, ctx, "help")
	typeLine(t, ctx, "open")
	do(t, ctx, 5*time.Second, chromedp.KeyEvent(kb.ArrowUp), chromedp.KeyEvent(kb.ArrowUp))
	if got := eval[string](t, ctx, `document.getElementById('term-input').value`); got != "help" {
		t.Errorf("ArrowUp twice recalls %q, want help", got)
	}
	// A port cell activated with Enter starts a connection attempt.
	do(t, ctx, 5*time.Second, chromedp.Focus(chromedp.ID("port-587")), chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "a connection attempt", `document.getElementById('transcript').textContent.includes('Trying smtp.relay.test...')`, 5*time.Second)
	screenshot(t, ctx, "keyboard")
}
