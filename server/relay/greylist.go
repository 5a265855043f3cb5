package relay

import (
	"container/list"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// greylist is postgrey's triplet store (docs/teaching-map.md L25): a door
// that greylists defers the first try of a (client network, sender,
// recipient) triplet with a 4xx and accepts a retry once the delay has
// passed, betting that a real MTA retries (RFC 5321 §4.5.4.1) and a
// spam cannon does not. Entries are kept per lab, so one student's retry
// never opens the door for another's first try.
//
// The store is bounded: full, it forgets the triplet least recently
// tried, as postgrey's max-age forgets the triplets not seen for longest,
// so a flood of new triplets never wipes the ones a retry is under way
// for.
type greylist struct {
	mu   sync.Mutex
	seen map[greyKey]*list.Element // of *greyItem, in order
	// order holds the triplets, the most recently tried in front.
	order list.List
	// evicted counts the triplets forgotten to make room.
	evicted uint64
	// log says when the store is full and forgets (nil: nowhere).
	log *slog.Logger
}

// greyItem is one triplet in greylist.order.
type greyItem struct {
	key greyKey
	greyEntry
}

// greyEntry is postgrey's record of a triplet: when it was first seen,
// and whether a try has since been let through.
type greyEntry struct {
	first  time.Time
	passed bool
}

type greyKey struct {
	lab, host string
	client    netip.Prefix
	from, to  string
}

const (
	// greyRetryWindow is postgrey's --retry-window default (2 days): a
	// first retry later than that starts the wait again.
	greyRetryWindow = 48 * time.Hour
	// maxGreyEntries bounds the store. Full, it forgets the triplet
	// least recently tried, which is greylisted once more on its next
	// try, as a triplet postgrey's max-age removed.
	maxGreyEntries = 10000
)

// greyNet is the part of the client address postgrey keys on: the /24 of
// an IPv4 address, the /64 of an IPv6 one (--ipv4cidr, --ipv6cidr
// defaults), so a sender's pool of outbound servers counts as one client.
func greyNet(a netip.Addr) netip.Prefix {
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// wait reports whether the triplet must still wait at now, recording its
// try; delay is the door's greylisting delay. As postgrey: a first retry
// after the retry window starts over; a clock that went back does too.
// delayed is how long the triplet waited when this try is the first to
// pass after a deferral (postgrey's X-Greylist header), else 0.
func (g *greylist) wait(lab, host string, client netip.Addr, from, to string, now time.Time, delay time.Duration) (wait bool, delayed time.Duration) {
	k := greyKey{lab, host, greyNet(client), strings.ToLower(from), strings.ToLower(to)}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[greyKey]*list.Element{}
	}
	el, ok := g.seen[k]
	if !ok {
		if len(g.seen) >= maxGreyEntries {
			g.evictOldest()
		}
		el = g.order.PushFront(&greyItem{key: k, greyEntry: greyEntry{first: now}})
		g.seen[k] = el
	}
	g.order.MoveToFront(el)
	it := el.Value.(*greyItem)
	e := it.greyEntry
	if e.first.After(now) || !e.passed && now.Sub(e.first) > greyRetryWindow {
		e = greyEntry{first: now}
	}
	was := e.passed
	e.passed = now.Sub(e.first) >= delay
	if e.passed && !was {
		delayed = now.Sub(e.first)
	}
	it.greyEntry = e
	return !e.passed, delayed
}

// evictOldest forgets the triplet least recently tried, saying so the
// first time and after each further maxGreyEntries: a store that keeps
// turning over is one a flood of new triplets fills.
func (g *greylist) evictOldest() {
	el := g.order.Back()
	if el == nil {
		return
	}
	g.order.Remove(el)
	delete(g.seen, el.Value.(*greyItem).key)
	if g.evicted++; g.log != nil && (g.evicted == 1 || g.evicted%maxGreyEntries == 0) {
		g.log.Warn("greylist full: forgetting the least recently tried triplets, which are greylisted again on their next try", "max", maxGreyEntries, "forgotten", g.evicted)
	}
}

// greylistHeader is the header postgrey has Postfix prepend to a message
// that got through after a deferral (its --x-greylist-header default,
// "X-Greylist: delayed %t seconds by postgrey-%v at %h; %d", with %d as
// strftime "%a, %d %b %Y %T %Z"): the trace of the wait in the mailbox.
func greylistHeader(host string, delayed time.Duration, now time.Time) string {
	return fmt.Sprintf("X-Greylist: delayed %d seconds by postgrey-1.37 at %s; %s\r\n",
		int(delayed/time.Second), host, now.UTC().Format("Mon, 02 Jan 2006 15:04:05 MST"))
}
