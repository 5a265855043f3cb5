package relay

import (
	"fmt"
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
type greylist struct {
	mu   sync.Mutex
	seen map[greyKey]greyEntry
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
	// maxGreyEntries bounds the store. Full, it forgets everything: the
	// triplets it forgot are greylisted once more, as after postgrey
	// loses its database.
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
	e, ok := g.seen[k]
	if !ok || e.first.After(now) || !e.passed && now.Sub(e.first) > greyRetryWindow {
		if !ok && len(g.seen) >= maxGreyEntries {
			clear(g.seen)
		}
		e = greyEntry{first: now}
	}
	was := e.passed
	e.passed = now.Sub(e.first) >= delay
	if e.passed && !was {
		delayed = now.Sub(e.first)
	}
	if g.seen == nil {
		g.seen = map[greyKey]greyEntry{}
	}
	g.seen[k] = e
	return !e.passed, delayed
}

// greylistHeader is the header postgrey has Postfix prepend to a message
// that got through after a deferral (its --x-greylist-header default,
// "X-Greylist: delayed %t seconds by postgrey-%v at %h; %d", with %d as
// strftime "%a, %d %b %Y %T %Z"): the trace of the wait in the mailbox.
func greylistHeader(host string, delayed time.Duration, now time.Time) string {
	return fmt.Sprintf("X-Greylist: delayed %d seconds by postgrey-1.37 at %s; %s\r\n",
		int(delayed/time.Second), host, now.UTC().Format("Mon, 02 Jan 2006 15:04:05 MST"))
}
