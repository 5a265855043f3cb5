package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/portlab/portlab/server/sandbox"
)

// chromiumPath is Debian's chromium, or $CHROMIUM.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless chromium with a fresh profile and returns a
// tab's context. The browser ends with the test.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium not found (apt-get install chromium, or set CHROMIUM): `make test` installs it")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, no timeout
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs steps with a deadline, failing the test on error.
func do(t testing.TB, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is true; on timeout it
// saves a screenshot and prints the transcript.
func waitFor(t testing.TB, ctx context.Context, what, predicate string, timeout time.Duration) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(tctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		screenshot(t, ctx, "failed-"+what)
		t.Fatalf("waiting for %s (%s): %v\ntranscript:\n%s", what, predicate, err, transcript(t, ctx))
	}
}

// transcript is the terminal's text, one line per transcript line.
func transcript(t testing.TB, ctx context.Context) string {
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('#transcript li')).map(li => li.textContent).join('\n')`))
	if err != nil {
		return "(no transcript: " + err.Error() + ")"
	}
	return s
}

// typeLine types a line into the terminal and presses Enter.
func typeLine(t testing.TB, ctx context.Context, line string) {
	t.Helper()
	do(t, ctx, 10*time.Second,
		chromedp.Focus(chromedp.ID("term-input")),
		chromedp.SendKeys(chromedp.ID("term-input"), line+kb.Enter))
}

// screenshotDir is $PORTLAB_SCREENSHOTS or testdata/screenshots.
func screenshotDir(t testing.TB) string {
	dir := os.Getenv("PORTLAB_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshot saves the whole page as a PNG named after the test.
func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	buf, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(screenshotDir(t), unsafeName.ReplaceAllString(t.Name()+"-"+name, "_")+".png")
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", file)
}

// startSandbox runs the real sandbox in-process (pages, API, gateway,
// relay and its listeners on free loopback ports) and returns its URL.
func startSandbox(t testing.TB) string {
	t.Helper()
	return startSandboxWith(t, nil)
}

// startSandboxWith is startSandbox with the configuration adjusted first
// (extra origins for the embedding test).
func startSandboxWith(t testing.TB, adjust func(*sandbox.Config)) string {
	t.Helper()
	cfg := sandbox.Config{PortOffset: "-1", DropTimeout: time.Second, LabsPerClient: 100, Version: "e2e"}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.URL()
}

// requireClient skips when the page says the wasm client was not built.
func requireClient(t testing.TB, ctx context.Context) {
	t.Helper()
	if eval[bool](t, ctx, `!!document.querySelector('[data-testid=client-missing]')`) {
		t.Skip("the wasm client is not embedded: run `go run ./web/internal/assets` (make build) first")
	}
}

func navigate(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, 30*time.Second, chromedp.Navigate(url))
}

func waitReady(t testing.TB, ctx context.Context) {
	t.Helper()
	requireClient(t, ctx)
	waitFor(t, ctx, "terminal ready", `document.getElementById('terminal').dataset.ready === 'true'`, 20*time.Second)
}

func termState(t testing.TB, ctx context.Context) string {
	return eval[string](t, ctx, `document.getElementById('term-state').dataset.state`)
}

func js(s string) string { return fmt.Sprintf("%q", s) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func itoa(i int) string { return fmt.Sprint(i) }

// views sets the page to light and dark at 1280 and 390 px in turn,
// checks that nothing is wider than the screen, and calls look, which
// takes that view's screenshots; it ends on light at 1280 px. Every page
// a test changes is looked at these four ways.
func views(t *testing.T, ctx context.Context, look func(scheme string, width int64)) {
	t.Helper()
	for _, scheme := range []string{"light", "dark"} {
		for _, width := range []int64{1280, 390} {
			if width == 390 {
				do(t, ctx, 10*time.Second, colorScheme(scheme), chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
			} else {
				do(t, ctx, 10*time.Second, colorScheme(scheme), chromedp.EmulateViewport(1280, 900))
			}
			if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > float64(width)+10 {
				t.Errorf("%s, %d px: the page is %v px wide", scheme, width, w)
			}
			look(scheme, width)
		}
	}
	do(t, ctx, 10*time.Second, colorScheme("light"), chromedp.EmulateViewport(1280, 900))
}

// painted runs a script that moves the page (a scroll), then waits for
// two animation frames, so that a screenshot shows the page moved.
func painted(t *testing.T, ctx context.Context, script string) {
	t.Helper()
	eval[bool](t, ctx, `(() => { `+script+`; window.painted = false; requestAnimationFrame(() => requestAnimationFrame(() => { window.painted = true; })); return true; })()`)
	waitFor(t, ctx, "a frame painted", `window.painted === true`, 5*time.Second)
}

// colorScheme emulates prefers-color-scheme (light or dark).
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}
