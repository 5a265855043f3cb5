package gateway_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portlab/portlab/server/policy"
	"github.com/portlab/portlab/server/sandbox"
)

// The relay's idle time-out reaches a tunnelled client as Postfix says
// it (421 4.4.2 ... timeout exceeded), then a normal close: the relay's
// read deadline must not end the WebSocket before the relay can write.
func TestIdleTimeoutThroughTunnel(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "idle.policy")
	if err := os.WriteFile(pol, []byte(policy.DefaultText()+"\nidle-timeout 200ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, sandbox.Config{Policy: pol})
	c, err := e.dial(t, "", "datacenter", "mx.sandbox.test", 25)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	greeting, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "220 ") {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	// Idle: the next thing the relay sends is its time-out.
	got, err := br.ReadString('\n')
	if want := "421 4.4.2 mx.sandbox.test Error: timeout exceeded\r\n"; got != want {
		t.Fatalf("after idling: %q (%v), want %q", got, err, want)
	}
	if rest, err := io.ReadAll(br); len(rest) != 0 || err != nil {
		t.Fatalf("after the 421: %q, %v; want a normal close (io.EOF)", rest, err)
	}
	if err := c.Close(); err != nil && !errors.Is(err, io.EOF) {
		t.Errorf("close: %v", err)
	}
}
