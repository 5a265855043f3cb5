package e2e_test

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBenchClient measures issue 4's delivery targets: the wasm client's
// bytes on the wire with brotli (at most 2 MiB) and the time from
// navigation to a ready terminal in headless chromium, median of 5 cold
// loads, each in a fresh browser profile (at most 1.5 s on loopback).
//
//	PORTLAB_BENCH=1 go test -run TestBenchClient -v ./web/e2e/
//
// It starts the real sandbox in-process.
func TestBenchClient(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("set PORTLAB_BENCH=1 to measure the wasm client")
	}
	base := startSandbox(t)

	// Bytes on the wire, as a browser asks for them.
	resp, err := http.Get(base + "/playground")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`data-wasm-url="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Skip("the wasm client is not embedded: run make build")
	}
	req, _ := http.NewRequest("GET", base+string(m[1]), nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	raw, _ := strconv.ParseInt(resp.Header.Get("X-Uncompressed-Length"), 10, 64)
	t.Logf("wasm on the wire (%s): %d bytes = %.2f MiB (uncompressed %.2f MiB)",
		resp.Header.Get("Content-Encoding"), wire, float64(wire)/(1<<20), float64(raw)/(1<<20))
	if resp.Header.Get("Content-Encoding") != "br" {
		t.Errorf("Content-Encoding %q, want br", resp.Header.Get("Content-Encoding"))
	}
	if wire > 2<<20 {
		t.Errorf("wasm is %d bytes on the wire, over the 2 MiB target", wire)
	}

	// The baseline, measured in the same run on the same machine: a cold
	// load of a page without the wasm client (the ports reference), to
	// its load event.
	var baseline []float64
	for range 5 {
		ctx := newChromium(t)
		do(t, ctx, 30*time.Second, chromedp.Navigate(base+"/ports"))
		waitFor(t, ctx, "load", `performance.getEntriesByType('navigation')[0].loadEventEnd > 0`, 20*time.Second)
		baseline = append(baseline, eval[float64](t, ctx, `performance.getEntriesByType('navigation')[0].loadEventEnd`))
		chromedp.Cancel(ctx)
	}

	var ready, instantiated []float64
	for i := range 5 {
		ctx := newChromium(t) // a fresh profile: a cold cache every time
		do(t, ctx, 30*time.Second, chromedp.Navigate(base+"/playground"))
		waitFor(t, ctx, "ready", `window.portlabTimings && window.portlabTimings.ready > 0`, 20*time.Second)
		r := eval[float64](t, ctx, `window.portlabTimings.ready`) // ms since navigation start
		in := eval[float64](t, ctx, `window.portlabTimings.instantiated`)
		t.Logf("run %d: wasm instantiated at %.0f ms, terminal ready at %.0f ms", i+1, in, r)
		ready = append(ready, r)
		instantiated = append(instantiated, in)
		chromedp.Cancel(ctx)
	}
	med := median(ready)
	t.Logf("navigation to ready terminal: median %.0f ms of 5 (instantiated: median %.0f ms)", med, median(instantiated))
	t.Logf("baseline, a page without the client, to its load event: median %.0f ms; ratio %.1f", median(baseline), med/median(baseline))
	if med > 1500 {
		t.Errorf("median %.0f ms to a ready terminal, over the 1.5 s target", med)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
