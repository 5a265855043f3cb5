// Package e2e holds portlab's browser tests: Debian's chromium, headless,
// driven with chromedp against the real server binary (bin/portlab, built
// by `make build`) or, for the pages alone, against web.New in-process.
//
// Screenshots go to $PORTLAB_SCREENSHOTS, or testdata/screenshots here
// (gitignored). The benchmark of issue 4 runs with PORTLAB_BENCH=1; see
// bench_test.go.
package e2e
