package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/sandbox"
)

// A sandbox shutting down while `portlab dial` is connected: the session
// gets its 421, then the gateway closes the tunnel with 1001, and dial
// says why, as the page does, rather than a bare "Connection closed".
func TestDialReportsShutdown(t *testing.T) {
	s, err := sandbox.New(sandbox.Config{PortOffset: "-1", Data: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	stdin, keepOpen := io.Pipe() // the user types nothing and never hangs up
	defer keepOpen.Close()
	out, stdout := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- cmdDial(ctx, []string{"--server", s.URL(), "--profile", "datacenter", "mx.sandbox.test", "25"}, stdin, stdout, &stderr)
		stdout.Close()
	}()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "220 ") {
		t.Fatalf("greeting %q, %v", lines.Text(), lines.Err())
	}
	go io.Copy(io.Discard, out) // the 421 that follows

	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != exitError(1) {
		t.Errorf("dial returned %v, want exit status 1", err)
	}
	const want = "Connection closed by foreign host: the sandbox server is shutting down; wait a moment and connect again\n"
	if got := stderr.String(); !strings.HasSuffix(got, want) {
		t.Errorf("stderr:\n%s\nwant it to end with %q", got, want)
	}
}
