// Package failures counts recent failures per key (a client address): the
// relay's AUTH failures, which slow a client down as Postfix's anvil
// does, and the teacher's wrong passwords, which make a client wait.
// Failures older than the window are forgotten, and so are keys with none
// left: the table holds only clients that failed lately.
package failures

import (
	"sync"
	"time"
)

// Window is safe for concurrent use.
type Window struct {
	d   time.Duration
	now func() time.Time

	mu    sync.Mutex
	byKey map[string][]time.Time // oldest first
	swept int                    // len(byKey) after the last sweep
}

// New keeps failures for d; now is the clock (nil: time.Now).
func New(d time.Duration, now func() time.Time) *Window {
	if now == nil {
		now = time.Now
	}
	return &Window{d: d, now: now, byKey: map[string][]time.Time{}}
}

// Add records a failure of key now.
func (w *Window) Add(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.byKey[key] = append(w.recent(key, now), now)
	// A client that failed once and never came back would stay for
	// ever: when the table has doubled since the last sweep, forget
	// every key with no recent failure (amortised over the Adds).
	if len(w.byKey) > 2*w.swept+64 {
		for k := range w.byKey {
			w.recent(k, now)
		}
		w.swept = len(w.byKey)
	}
}

// Recent is key's failures within the window, oldest first.
func (w *Window) Recent(key string) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Time(nil), w.recent(key, w.now())...)
}

// Len is how many keys have recent failures kept.
func (w *Window) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.byKey)
}

// recent drops key's failures older than the window (and key with none
// left) and returns the rest; w.mu is held.
func (w *Window) recent(key string, now time.Time) []time.Time {
	r := w.byKey[key]
	i := 0
	for i < len(r) && now.Sub(r[i]) >= w.d {
		i++
	}
	if i == len(r) {
		delete(w.byKey, key)
		return nil
	}
	r = r[i:]
	w.byKey[key] = r
	return r
}
