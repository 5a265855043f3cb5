package failures

import (
	"fmt"
	"testing"
	"time"
)

// TestWindow: failures count within the window and are forgotten after
// it; a key that never fails again does not stay in the table.
func TestWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	w := New(10*time.Minute, func() time.Time { return now })
	w.Add("a")
	now = now.Add(time.Minute)
	w.Add("a")
	if n := len(w.Recent("a")); n != 2 {
		t.Fatalf("%d recent failures, want 2", n)
	}
	now = now.Add(9*time.Minute + time.Second) // the first is 10 min 1 s old
	if r := w.Recent("a"); len(r) != 1 {
		t.Fatalf("%d recent failures, want 1", len(r))
	}
	now = now.Add(time.Hour)
	if r := w.Recent("a"); len(r) != 0 || w.Len() != 0 {
		t.Fatalf("after the window: %d failures, %d keys", len(r), w.Len())
	}
	// A thousand clients fail once each and never return: the table
	// forgets them as it grows.
	for i := range 1000 {
		w.Add(fmt.Sprint("client", i))
		now = now.Add(time.Minute)
	}
	if n := w.Len(); n > 200 {
		t.Errorf("%d keys kept; only the last 10 minutes' should stay, give or take a sweep", n)
	}
}
