// Package deploy holds how portlab is shipped: the container image's
// Dockerfile and the Kubernetes manifests (deploy/kubernetes).
package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The image is FROM scratch: it holds the binary and nothing else, so
// the binary must be static (no ELF interpreter, no shared library).
// The test builds it as the Dockerfile and `make build` do.
func TestBinaryIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server")
	}
	// make test hands over the binary it built (CGO_ENABLED=0, as the
	// image's); alone, the test builds one the same way.
	bin := os.Getenv("PORTLAB_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "portlab")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../server")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
		}
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary names an ELF interpreter: it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
}

// The Dockerfile's last stage is FROM scratch, runs as a numeric
// non-root user (scratch has no /etc/passwd) and starts the binary.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	user := ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		}
	}
	if len(froms) == 0 || froms[len(froms)-1] != "scratch" {
		t.Errorf("the image's stage is FROM %v, want scratch last", froms)
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.Trim(user, "0123456789:") != "" {
		t.Errorf("USER %q: want a numeric non-root user", user)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") {
		t.Error("the build is not CGO_ENABLED=0")
	}
}
