//go:build !(js && wasm)

package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWasmDeps keeps the server out of the browser bundle: the wasm may
// import scenarios/... and its own packages, never server/... . net/http
// (~130 KB brotli) and coder/websocket stay out too: the browser builds of
// scenarios/tunnel and scenarios/httpapi use the page's WebSocket and
// fetch. It also reports the heavy standard packages that come in, so a
// change that pulls one in is visible in the test log.
func TestWasmDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".")
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	forbidden := []string{
		"github.com/portlab/portlab/server",
		"github.com/portlab/portlab/web",
		"github.com/emersion/go-smtp", // the relay's library: the client speaks SMTP itself
		"github.com/a-h/templ",
		"github.com/chromedp/",
		"net/http",                   // and net/http/...: the page's fetch does it
		"github.com/coder/websocket", // the page's WebSocket does it (scenarios/tunnel/dial_js.go)
	}
	var heavy []string
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
				t.Errorf("the wasm client imports %s", d)
			}
		}
		switch d {
		case "encoding/json", "regexp", "text/template", "html/template", "reflect":
			heavy = append(heavy, d)
		}
	}
	t.Logf("%d packages; heavy standard ones: %s", len(deps), strings.Join(heavy, ", "))
}
