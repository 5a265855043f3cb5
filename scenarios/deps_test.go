package scenarios

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWasmDependencies keeps the browser's share of scenarios/ clean: no
// server packages, no syscall/js of our own, and net/http only where the
// WebSocket library brings it (ws_js.go's Dial signature).
func TestWasmDependencies(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	pkgs := []string{".", "./lesson", "./session", "./tunnel"}
	cmd := exec.Command(gobin, append([]string{"list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}"}, pkgs...)...)
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/portlab/portlab/"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		switch {
		case strings.HasPrefix(pkg, mod+"server"):
			t.Errorf("the wasm would import %s", pkg)
		case pkg == mod+"scenarios/httpapi" || pkg == mod+"scenarios/headless":
			t.Errorf("the wasm would import %s, which uses net/http", pkg)
		case strings.HasPrefix(pkg, mod):
			for _, imp := range strings.Fields(imports) {
				if imp == "net/http" || imp == "syscall/js" {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
}
