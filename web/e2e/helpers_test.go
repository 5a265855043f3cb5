package e2e_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
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

// One chromium serves the whole package: starting one costs a second or
// more of CPU, and every test used to start its own. It starts with the
// first test that asks for a browser and stops when the package's tests
// end (TestMain).
var chromium struct {
	once   sync.Once
	ctx    context.Context // the browser's first tab; tests never use it
	cancel func()
	dir    string // the shared profile's directory
	err    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	// Browser tests mostly wait (for the page, the relay, the player)
	// rather than compute: more of them at once than there are cores,
	// unless -parallel says otherwise.
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", itoa(max(4, 2*runtime.GOMAXPROCS(0))))
	}
	m.Run()
	if chromium.cancel != nil {
		chromium.cancel()
	}
	if chromium.dir != "" {
		os.RemoveAll(chromium.dir)
	}
	if sharedSandbox.s != nil {
		sharedSandbox.s.Close()
	}
}

// chromiumOptions are the flags of every chromium the tests start.
func chromiumOptions(path, profile string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
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
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
}

// newBrowser returns a tab of its own in the package's chromium, in a
// new browser context: like a fresh profile, it shares no cookies,
// storage or cache with any other test's tab, and it sits in a window of
// its own (1280x900), so tests may run in parallel. The tab and its
// context end with the test.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium not found (apt-get install chromium, or set CHROMIUM): `make test` installs it")
	}
	chromium.once.Do(func() {
		chromium.dir, chromium.err = os.MkdirTemp("", "portlab-e2e-chromium-")
		if chromium.err != nil {
			return
		}
		actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromiumOptions(path, chromium.dir)...)
		ctx, cancelC := chromedp.NewContext(actx)
		chromium.ctx, chromium.cancel = ctx, func() { cancelC(); cancelA() }
		chromium.err = chromedp.Do(ctx) // starts the browser, no timeout
	})
	if chromium.err != nil {
		t.Fatalf("start chromium: %v", chromium.err)
	}
	if err := chromium.ctx.Err(); err != nil {
		t.Fatalf("chromium is gone: %v", err)
	}
	ctx, cancel := chromedp.NewContext(chromium.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, no timeout
		t.Fatalf("open a tab: %v", err)
	}
	// Every tab behaves as the focused one, as the one tab of a browser
	// of its own did: focus rings, the clipboard and keyboard events do
	// not depend on which window chromium last focused.
	do(t, ctx, 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	}))
	return ctx
}

// newChromium starts a chromium of its own, with a fresh profile on
// disk, and returns its first tab's context; the browser ends with the
// test. Only a measure of a cold start needs this (newBrowser is cheaper).
func newChromium(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium not found (apt-get install chromium, or set CHROMIUM): `make test` installs it")
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromiumOptions(path, t.TempDir())...)
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

// sharedSandbox is the sandbox that startSandbox hands every test: the
// tests that use it change only their own lab (each tab is a new browser
// context, so a new lab), not the sandbox.
var sharedSandbox struct {
	once sync.Once
	s    *sandbox.Sandbox
	err  error
}

// e2eConfig is the sandbox configuration of the browser tests: free
// loopback ports, drops that time out after a second.
func e2eConfig() sandbox.Config {
	return sandbox.Config{PortOffset: "-1", DropTimeout: time.Second, LabsPerClient: 100, Version: "e2e"}
}

// startSandbox returns the URL of the package's shared sandbox (pages,
// API, gateway, relay and its listeners on free loopback ports, run
// in-process), started by the first test that asks. A test that changes
// the sandbox itself (its configuration, a class, a restart) starts its
// own with startSandboxWith.
func startSandbox(t testing.TB) string {
	t.Helper()
	sharedSandbox.once.Do(func() {
		cfg := e2eConfig()
		// Every test's tab is a new client of the same address (loopback).
		cfg.LabsPerClient = 10000
		sharedSandbox.s, sharedSandbox.err = sandbox.New(cfg)
	})
	if sharedSandbox.err != nil {
		t.Fatal(sharedSandbox.err)
	}
	return sharedSandbox.s.URL()
}

// startSandboxWith starts a sandbox of the test's own, with the
// configuration adjusted first (extra origins for the embedding test, a
// teacher password, a policy), and returns its URL; nil adjusts nothing.
// The sandbox ends with the test.
func startSandboxWith(t testing.TB, adjust func(*sandbox.Config)) string {
	t.Helper()
	cfg := e2eConfig()
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

// TestBrowsersShareNothing: two tests' tabs share no storage and no
// cookies, as two browsers of their own did, and each is as wide as a
// browser of its own was (--window-size).
func TestBrowsersShareNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	first, second := newBrowser(t), newBrowser(t)
	navigate(t, first, base+"/ports")
	eval[bool](t, first, `(localStorage.setItem('e2e-mark', 'first'), sessionStorage.setItem('e2e-mark', 'first'), document.cookie = 'e2e-mark=first; path=/', true)`)
	navigate(t, second, base+"/ports")
	if got := eval[string](t, second, `[localStorage.getItem('e2e-mark'), sessionStorage.getItem('e2e-mark'), document.cookie.includes('e2e-mark')].join('|')`); got != "||false" {
		t.Errorf("the second tab sees the first's storage or cookie (local|session|cookie): %s", got)
	}
	// The browser's first tab is what a browser of a test's own was: as
	// wide. (Not as high: in Chromium 156 headless a new window's page is
	// 813 px high, the first window's 757; views() emulates 1280x900
	// and 390x844 for the looks.)
	want := eval[float64](t, chromium.ctx, `innerWidth`)
	for _, ctx := range []context.Context{first, second} {
		if got := eval[float64](t, ctx, `innerWidth`); got != want {
			t.Errorf("a tab's window is %v px wide, the browser's first tab %v", got, want)
		}
	}
}
