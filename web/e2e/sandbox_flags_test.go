package e2e_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startPortlabWith runs bin/portlab serve like startPortlab, with extra
// flags (--allow-origin for the embedding test). It skips when the binary
// has not been built.
func startPortlabWith(t testing.TB, flags ...string) string {
	t.Helper()
	bin := os.Getenv("PORTLAB_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), "bin", "portlab")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is missing: run `make build` first (make test does)", bin)
	}
	args := append([]string{"serve", "--http", "127.0.0.1:0", "--smtp-listen=false", "--data", t.TempDir()}, flags...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("portlab stderr:\n%s", stderr.String())
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "web: "); ok {
				found <- strings.TrimSuffix(u, "/")
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("portlab serve printed no `web: URL` line in 30 s; stderr:\n%s", stderr.String())
	}
	return ""
}
