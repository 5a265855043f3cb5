package pace

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// waited runs Wait in a goroutine and reports when it returned.
func waited(p *Pacer, ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.Wait(ctx) }()
	return done
}

func returned(done <-chan error) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// TestGap: a played step waits the whole gap, no less.
func TestGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Gap)
		start := time.Now()
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != Gap {
			t.Errorf("waited %v, want %v", got, Gap)
		}
	})
}

// TestNext cuts the gap short, and does nothing when nobody waits.
func TestNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Gap)
		p.Next() // nobody waits: must not skip the next gap
		start := time.Now()
		done := waited(p, t.Context())
		time.Sleep(Gap / 3)
		synctest.Wait()
		if returned(done) {
			t.Fatal("returned before the gap")
		}
		p.Next()
		synctest.Wait()
		if !returned(done) {
			t.Fatal("Next did not end the wait")
		}
		if got := time.Since(start); got != Gap/3 {
			t.Errorf("waited %v, want %v", got, Gap/3)
		}
	})
}

// TestPause holds the player past the gap until Resume; Next while
// paused advances one step and stays paused; after Resume the gap is
// the usual one again.
func TestPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Gap)
		var waits []bool
		p.OnWait = func(w bool) { waits = append(waits, w) }
		done := waited(p, t.Context())
		time.Sleep(Gap / 2)
		p.Pause()
		time.Sleep(10 * Gap)
		synctest.Wait()
		if returned(done) {
			t.Fatal("a paused player went on")
		}
		p.Next()
		synctest.Wait()
		if !returned(done) {
			t.Fatal("Next did not advance a paused player")
		}
		if !p.Paused() {
			t.Fatal("Next ended the pause")
		}
		done = waited(p, t.Context())
		time.Sleep(10 * Gap)
		synctest.Wait()
		if returned(done) {
			t.Fatal("a paused player went on after Next")
		}
		p.Resume()
		synctest.Wait()
		if !returned(done) {
			t.Fatal("Resume did not let the player go on")
		}
		start := time.Now()
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != Gap {
			t.Errorf("after Resume waited %v, want the gap %v", got, Gap)
		}
		if len(waits) != 6 || !waits[0] || waits[1] {
			t.Errorf("OnWait calls %v, want true,false three times", waits)
		}
	})
}

// TestCancel: a cancelled lesson does not wait.
func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Gap)
		p.Pause()
		ctx, cancel := context.WithCancel(t.Context())
		done := waited(p, ctx)
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		default:
			t.Fatal("a cancelled wait went on")
		}
	})
}
