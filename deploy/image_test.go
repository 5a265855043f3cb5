// Package deploy holds how portlab is shipped: the container image's
// Dockerfile and the Kubernetes manifests (deploy/kubernetes).
package deploy

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The image is FROM scratch: it holds the binary and nothing else, so
// the binary must be static (no ELF interpreter, no shared library).
// The test builds it as the Dockerfile and `make build` do.
func TestBinaryIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server")
	}
	bin := staticBinary(t)
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

// staticBinary is the server as `make build` links it (CGO_ENABLED=0):
// the one make test hands over, or one built the same way.
func staticBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("PORTLAB_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "portlab")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../server")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	return bin
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
	if !strings.Contains(string(b), "COPY bin/portlab /portlab") {
		t.Error("the image does not take the binary make build links (CGO_ENABLED=0)")
	}
}

// TestImageServes builds the image from deploy/Dockerfile with buildah
// (Debian's package, daemonless: vfs storage in a temporary directory,
// chroot isolation), checks its configuration, and runs it: the binary
// alone in a scratch image, as the non-root user, serves /healthz and
// /readyz and logs in JSON.
func TestImageServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the image")
	}
	buildah, err := exec.LookPath("buildah")
	if err == nil && os.Geteuid() != 0 {
		err = errors.New("buildah's chroot isolation needs root")
	}
	if err != nil {
		if os.Getenv("PORTLAB_REQUIRE_TOOLS") != "" {
			t.Fatalf("buildah: %v (make test-deps installs it)", err)
		}
		t.Skipf("buildah: %v", err)
	}
	// The build context, as .dockerignore leaves it: the binary and the
	// empty data directory.
	dir := t.TempDir()
	ctxDir := filepath.Join(dir, "context")
	bin := staticBinary(t)
	for _, d := range []string{"bin", "deploy/image/data"} {
		if err := os.MkdirAll(filepath.Join(ctxDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "bin/portlab"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		all := append([]string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs"}, args...)
		out, err := exec.Command(buildah, all...).CombinedOutput()
		if err != nil {
			t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	t.Cleanup(func() {
		exec.Command(buildah, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs", "rm", "--all").Run()
	})
	run("bud", "--isolation", "chroot", "--quiet", "-f", filepath.Join(mustAbs(t, "."), "Dockerfile"), "-t", "localhost/portlab:test", ctxDir)

	var img struct {
		OCIv1 struct {
			Config struct {
				User       string
				Entrypoint []string
				Cmd        []string
			} `json:"config"`
		}
	}
	if err := json.Unmarshal([]byte(run("inspect", "--type", "image", "localhost/portlab:test")), &img); err != nil {
		t.Fatal(err)
	}
	if c := img.OCIv1.Config; c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/portlab" || strings.Join(c.Cmd, " ") != "serve" {
		t.Errorf("image config: user %q, entrypoint %q, cmd %q", c.User, c.Entrypoint, c.Cmd)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctr := run("from", "--quiet", "localhost/portlab:test")
	// chroot isolation shares the host's network: the server listens on
	// loopback only, browser gateway only (no SMTP ports to collide).
	cmd := exec.Command(buildah, "--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs",
		"run", "--isolation", "chroot", "--env", "PORTLAB_HTTP="+addr, "--env", "PORTLAB_SMTP_LISTEN=false", ctr, "/portlab", "serve")
	// The server's log, line by line; serving closes at its JSON
	// "serving" line (the image sets PORTLAB_LOG_FORMAT=json).
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var (
		mu      sync.Mutex
		log     strings.Builder
		serving = make(chan struct{})
	)
	go func() {
		sc, seen := bufio.NewScanner(pr), false
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if !seen && strings.Contains(sc.Text(), `"msg":"serving"`) {
				seen = true
				close(serving)
			}
		}
	}()
	logged := func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	// buildah run ends its container's process on SIGTERM (it does not
	// pass the signal on: TestServeStopsOnSignal covers the server's own
	// shutdown).
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
		}
	}()

	deadline := time.After(time.Minute)
	select {
	case <-serving:
	case err := <-done:
		t.Fatalf("the image's server ended (%v) before it logged serving:\n%s", err, logged())
	case <-deadline:
		t.Fatalf("no JSON \"serving\" line within a minute:\n%s", logged())
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for _, path := range []string{"/healthz", "/readyz"} {
		url := "http://" + addr + path
	poll:
		for {
			if res, err := http.Get(url); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break poll
				}
			}
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("%s did not answer 200 within a minute:\n%s", url, logged())
			}
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
