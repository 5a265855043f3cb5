package relay

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/policy"
)

// The queue: what a delivery could not hand over for a temporary reason (a
// 4xx reply, greylisting, required TLS not offered) waits and is tried
// again, as RFC 5321 §4.5.4.1 asks of a sender, on Postfix's schedule:
// the first retry after minimal_backoff_time (300 s), each wait twice the
// last up to maximal_backoff_time (4000 s), until maximal_queue_lifetime
// (5 days) runs out and the message bounces (postconf(5)).
//
// The schedule runs on simulated time: each attempt happens at its
// simulated moment (Meta.At, which greylisting judges by), while the real
// wait is that delay divided by queueSpeedup, so five simulated days pass
// in about two real seconds and a lesson shows the whole story.
const (
	minimalBackoff      = 300 * time.Second
	maximalBackoff      = 4000 * time.Second
	maximalQueueLife    = 5 * 24 * time.Hour
	queueSpeedup        = 200000
	maxQueued           = 1000     // messages waiting at once, over all labs
	maxQueuedPerLab     = 20       // so one lab cannot take every place
	maxQueuedBytes      = 64 << 20 // the copies the queue holds, over all labs
	queueNotePrefix     = "queue: "
	simulatedSuffix     = " (simulated time)"
	queueLifetimeReason = "delivery temporarily suspended until maximal_queue_lifetime ran out"
)

// queue holds the retry loops of deferred messages. Full (in messages,
// bytes, or one lab's share), a deferred message bounces at once with its
// last reason, as a real MTA's does when it cannot keep it.
type queue struct {
	mu     sync.Mutex
	n      int
	bytes  int
	perLab map[string]int
	done   chan struct{} // closed by close
	closed bool
	wg     sync.WaitGroup
}

// deferred is one message waiting for some of its recipients.
type deferred struct {
	pol                 *policy.Policy // of the session that accepted it: its bounce's
	id, lab, helo, from string
	rcpts               []string
	raw                 []byte
	mx                  Door
	tls                 policy.Outbound
	arrival             time.Time // simulated: the relay's clock when it was accepted
	last                []failure // the latest attempt's reasons
	attempts            int
}

// add starts the retry loop of d; false when the queue is full or closed.
func (q *queue) add(d *deferred, run func(stop <-chan struct{})) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	size := len(d.raw)
	if q.closed || q.n >= maxQueued || q.bytes+size > maxQueuedBytes || q.perLab[d.lab] >= maxQueuedPerLab {
		return false
	}
	if q.done == nil {
		q.done = make(chan struct{})
		q.perLab = map[string]int{}
	}
	q.n++
	q.bytes += size
	q.perLab[d.lab]++
	q.wg.Add(1)
	done := q.done
	go func() {
		defer func() {
			q.mu.Lock()
			q.n--
			q.bytes -= size
			if q.perLab[d.lab]--; q.perLab[d.lab] == 0 {
				delete(q.perLab, d.lab)
			}
			q.mu.Unlock()
			q.wg.Done()
		}()
		run(done)
	}()
	return true
}

// close stops every retry loop and waits for them.
func (q *queue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		if q.done != nil {
			close(q.done)
		}
	}
	q.mu.Unlock()
	q.wg.Wait()
}

// wait returns once no message is queued (tests).
func (q *queue) wait() { q.wg.Wait() }

// enqueue defers the temporarily failed recipients of one delivery and
// retries them in the background; what is still failing when the queue
// lifetime ends, or what the queue has no room for, bounces.
func (r *Relay) enqueue(d *deferred) {
	r.queueEvent(d, fmt.Sprintf("%s deferred for %s: %s; next try in %v%s", d.id, rcptList(d.last), d.last[0].why, minimalBackoff, simulatedSuffix))
	ok := r.queue.add(d, func(stop <-chan struct{}) { r.retry(d, stop) })
	if !ok {
		r.expire(d, "the queue is full")
	}
}

// retry is one deferred message's loop.
func (r *Relay) retry(d *deferred, stop <-chan struct{}) {
	at, backoff := d.arrival, minimalBackoff
	for attempt := 2; ; attempt++ {
		next := min(backoff, d.arrival.Add(maximalQueueLife).Sub(at))
		if !r.queueSleep(next/queueSpeedup, stop) {
			return
		}
		at = at.Add(next)
		if !at.Before(d.arrival.Add(maximalQueueLife)) {
			r.expire(d, queueLifetimeReason)
			return
		}
		failed := r.deliver(d.lab, d.helo, d.from, d.rcpts, d.raw, d.mx, d.tls, at)
		var temp []failure
		var perm []failure
		for _, f := range failed {
			if f.temporary {
				temp = append(temp, f)
			} else {
				perm = append(perm, f)
			}
		}
		if len(perm) > 0 && d.from != "" {
			r.bounce(d.pol, d.lab, d.helo, d.from, perm, d.raw)
		}
		after := at.Sub(d.arrival)
		if len(temp) == 0 {
			r.queueEvent(d, fmt.Sprintf("%s left the queue after %v%s", d.id, after, simulatedSuffix))
			return
		}
		d.rcpts, d.last = nil, temp
		for _, f := range temp {
			d.rcpts = append(d.rcpts, f.rcpt)
		}
		backoff = min(2*backoff, maximalBackoff)
		d.attempts = attempt
		if attempt <= 3 { // a hundred lines more would drown the stream
			r.queueEvent(d, fmt.Sprintf("%s deferred again after %v: %s; next try in %v%s", d.id, after, temp[0].why, backoff, simulatedSuffix))
		}
	}
}

// expire bounces what is still waiting, with the last reason.
func (r *Relay) expire(d *deferred, why string) {
	r.queueEvent(d, fmt.Sprintf("%s: %s after %d attempts; returned to sender", d.id, why, max(d.attempts, 1)))
	if d.from != "" { // never bounce a bounce (RFC 5321 §4.5.5)
		r.bounce(d.pol, d.lab, d.helo, d.from, d.last, d.raw)
	}
}

func (r *Relay) queueEvent(d *deferred, text string) {
	r.bus.Publish(events.Event{Time: r.now(), Kind: events.Message, Lab: d.lab, Host: d.helo, Text: queueNotePrefix + text})
}

// queueSleep waits d of real time, or until the queue stops.
func (r *Relay) queueSleep(d time.Duration, stop <-chan struct{}) bool {
	if r.queueWait != nil {
		r.queueWait(d)
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

func rcptList(f []failure) string {
	var s []string
	for _, x := range f {
		s = append(s, "<"+x.rcpt+">")
	}
	return strings.Join(s, ", ")
}
