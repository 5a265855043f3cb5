package httpguard

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the networks of the reverse proxies (an Ingress, a load
// balancer) whose X-Forwarded-For the sandbox believes. The zero value
// trusts none.
type Proxies []netip.Prefix

// ParseProxies reads a --trusted-proxies value: CIDR prefixes such as
// 10.0.0.0/8 or 2001:db8::/32, comma-separated; a bare address is the
// one-host prefix.
func ParseProxies(list string) (Proxies, error) {
	var ps Proxies
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a network in CIDR notation (such as 10.0.0.0/8 or fd00::/8) nor an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			// Peers are compared unmapped: such a network would match none.
			return nil, fmt.Errorf("%q is an IPv4-mapped IPv6 network; write the IPv4 network", f)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// Contains reports whether a is a trusted proxy's address.
func (ps Proxies) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String is the list as ParseProxies reads it.
func (ps Proxies) String() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Client is the address of the client a request comes from. From a peer
// that is not a trusted proxy it is the peer itself and X-Forwarded-For is
// ignored: anyone can write that header. From a trusted proxy it is the
// right-most address of X-Forwarded-For that is not itself a trusted
// proxy: each proxy appends the peer it saw, so the entries right of that
// one were written by trusted proxies and it by the first of them; the
// entries to its left are whatever the client sent, never believed. An
// entry that is not an address stops the walk at the last trusted hop.
func (ps Proxies) Client(peer netip.Addr, forwardedFor []string) netip.Addr {
	client := peer.Unmap()
	if len(ps) == 0 || !ps.Contains(client) {
		return client
	}
	// Several header lines are one list, in order (RFC 9110 §5.3).
	hops := strings.Split(strings.Join(forwardedFor, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		a, ok := hopAddr(h)
		if !ok {
			break
		}
		client = a
		if !ps.Contains(a) {
			break
		}
	}
	return client
}

// hopAddr reads one X-Forwarded-For entry: an address, or an address and
// port as some proxies write it ("192.0.2.1:4711", "[2001:db8::1]:4711").
func hopAddr(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// Forwarded sets each request's RemoteAddr to its client's address (see
// [Proxies.Client]) before h sees it, so that every limit keyed on
// [ClientAddr] of RemoteAddr (labs, tunnels, the teacher's login) counts
// the real client behind a trusted proxy, not the proxy. Without proxies
// it is h itself.
func Forwarded(h http.Handler, ps Proxies) http.Handler {
	if len(ps) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil && ps.Contains(ap.Addr()) {
			// The port is the proxy's, not the client's: 0 says unknown.
			client := ps.Client(ap.Addr(), r.Header.Values("X-Forwarded-For"))
			r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		h.ServeHTTP(w, r)
	})
}
