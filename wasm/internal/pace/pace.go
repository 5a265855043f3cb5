// Package pace paces a lesson the player plays for the student: a gap
// between steps long enough to read the narration and the replies, which
// the student can hold (Pause) or cut short (Next).
package pace

import (
	"context"
	"sync"
	"time"
)

// Gap is the pause between played steps: about the time to read one
// reply line and the step's title.
const Gap = 1500 * time.Millisecond

// Pacer holds the player between steps. The zero value is not ready:
// use New.
type Pacer struct {
	gap  time.Duration
	next chan struct{} // unbuffered: Next only acts on a waiting player

	mu      sync.Mutex
	paused  bool
	resumed chan struct{} // closed by Resume
	// OnWait, if set, is told when a wait starts and ends (the page
	// enables Next only while the player waits).
	OnWait func(waiting bool)
}

// New returns a Pacer that waits gap between steps.
func New(gap time.Duration) *Pacer {
	return &Pacer{gap: gap, next: make(chan struct{}), resumed: make(chan struct{})}
}

// Wait returns after the gap, at once when Next is pressed, or, while
// paused, when Resume or Next is pressed. Next while paused advances one
// step and stays paused. It returns ctx's error if ctx ends first.
func (p *Pacer) Wait(ctx context.Context) error {
	if p.OnWait != nil {
		p.OnWait(true)
		defer p.OnWait(false)
	}
	var elapsed <-chan time.Time
	if !p.Paused() {
		t := time.NewTimer(p.gap)
		defer t.Stop()
		elapsed = t.C
	}
	for {
		p.mu.Lock()
		var resumed <-chan struct{}
		if p.paused {
			resumed = p.resumed // only a held player waits for Resume
		}
		p.mu.Unlock()
		select {
		case <-elapsed:
			if !p.Paused() {
				return nil
			}
			elapsed = nil // paused during the gap: wait for Resume or Next
		case <-resumed:
			return nil
		case <-p.next:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Pause holds the player at its next wait until Resume or Next.
func (p *Pacer) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		p.paused = true
		p.resumed = make(chan struct{})
	}
}

// Resume lets the player go on at its usual pace.
func (p *Pacer) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.paused = false
		close(p.resumed)
	}
}

// Paused reports whether the player is held.
func (p *Pacer) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// Next ends the current wait at once; it does nothing when the player
// is not waiting.
func (p *Pacer) Next() {
	select {
	case p.next <- struct{}{}:
	default:
	}
}
