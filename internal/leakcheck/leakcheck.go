// Package leakcheck fails a test binary whose goroutines outlive its tests.
// Connections live in the relay, the gateway and the scenario packages,
// and a forgotten one is a leak both in the browser and in the server.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests, then waits briefly for goroutines to wind down and
// fails the run if more remain than when it started. Call it from
// TestMain.
func Main(m *testing.M) {
	before, _ := goroutines()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		n, stacks := goroutines()
		for n > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // goroutines end on their own schedule
			n, stacks = goroutines()
		}
		if n > before {
			fmt.Fprintf(os.Stderr, "%d goroutines leaked:\n%s\n", n-before, strings.Join(stacks, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// notOurs are goroutines the Go tool and runtime start for themselves: the
// signal loop that `go test -fuzz` starts with signal.Notify is one, and
// js/wasm's event handler another.
var notOurs = []string{"os/signal.loop", "os/signal.signal_recv", "runtime.handleEvent"}

// goroutines counts the running goroutines that are the tests' own, and
// returns their stacks.
func goroutines() (int, []string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var ours []string
next:
	for _, g := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		for _, f := range notOurs {
			if strings.Contains(g, f) {
				continue next
			}
		}
		ours = append(ours, g)
	}
	return len(ours), ours
}
