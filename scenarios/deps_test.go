package scenarios

import (
	"encoding/json"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWasmDependencies keeps the browser's share of scenarios/ clean: no
// server packages, no net/http (the browser builds of tunnel and httpapi
// use the page's WebSocket and fetch), and syscall/js only in files that
// build for js alone (tunnel's dial_js.go, httpapi's fetch_js.go), so the
// same packages still build and test natively.
func TestWasmDependencies(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	pkgs := []string{".", "./lesson", "./session", "./tunnel", "./httpapi"}
	cmd := exec.Command(gobin, append([]string{"list", "-deps", "-json=ImportPath,Dir,GoFiles,Imports"}, pkgs...)...)
	cmd.Env = append(cmd.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/portlab/portlab/"
	jsFiles := 0
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath, Dir string
			GoFiles         []string
			Imports         []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(p.ImportPath, mod+"server"):
			t.Errorf("the wasm would import %s", p.ImportPath)
		case p.ImportPath == mod+"scenarios/headless":
			t.Errorf("the wasm would import %s, the native runner", p.ImportPath)
		case p.ImportPath == "net/http" || p.ImportPath == "github.com/coder/websocket":
			t.Errorf("the browser's share of scenarios imports %s", p.ImportPath)
		case strings.HasPrefix(p.ImportPath, mod):
			for _, imp := range p.Imports {
				if imp == "net/http" {
					t.Errorf("%s imports net/http in its js build", p.ImportPath)
				}
			}
			for _, f := range p.GoFiles {
				if importsJS(t, filepath.Join(p.Dir, f)) {
					jsFiles++
					for _, goos := range []string{"linux", "darwin", "windows"} {
						ctx := build.Default
						ctx.GOOS, ctx.GOARCH = goos, "amd64"
						if ok, err := ctx.MatchFile(p.Dir, f); err != nil || ok {
							t.Errorf("%s/%s imports syscall/js but builds for %s (%v): tag it js && wasm", p.ImportPath, f, goos, err)
						}
					}
				}
			}
		}
	}
	if jsFiles == 0 {
		t.Error("no js file seen: the check above checked nothing")
	}
}

func importsJS(t *testing.T, path string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "syscall/js" {
			return true
		}
	}
	return false
}
