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
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // goroutines end on their own schedule
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "%d goroutines leaked:\n%s\n", n-before, strings.TrimSpace(string(buf)))
			code = 1
		}
	}
	os.Exit(code)
}
