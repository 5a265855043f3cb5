package httpguard

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
)

// Config says which requests the sandbox serves.
type Config struct {
	// Hosts are the names (and addresses) a request's Host header may
	// carry; see [DefaultHosts].
	Hosts []string
	// AnyIP also admits any IP-address Host: right when the server binds
	// every address (whose addresses are not known in advance), and safe
	// because DNS rebinding needs a name.
	AnyIP bool
	// Origins are extra sites allowed to send state-changing requests and
	// open tunnels (host patterns as path.Match takes them, e.g.
	// "docs.example.com" or "*.example.com"; with "://", the whole
	// origin). The page's own origin always is.
	Origins []string
}

// DefaultHosts is the Host allow-list for a server bound to bind
// (host:port): the bound host plus the loopback names. An unspecified
// bind (":8080", "0.0.0.0:8080") admits any IP address.
func DefaultHosts(bind string) (hosts []string, anyIP bool) {
	hosts = []string{"localhost", "127.0.0.1", "::1"}
	h, _, err := net.SplitHostPort(bind)
	if err != nil {
		h = bind
	}
	if a, err := netip.ParseAddr(h); h == "" || err == nil && a.IsUnspecified() {
		return hosts, true
	}
	return append(hosts, h), false
}

// Handler serves h only for requests to an allowed host (else 421
// Misdirected Request, RFC 9110 §15.5.20: a page on another name reached
// this server, as a DNS-rebinding page does) and, for a state-changing
// request or a WebSocket upgrade, from an allowed origin (else 403).
//
// A request without Origin is admitted: browsers send Origin with every
// POST, PATCH, DELETE and WebSocket handshake (Fetch standard, "append a
// request Origin header"), so its absence means a non-browser client
// such as curl, swaks' helpers or the headless runner, which no other
// site's page can drive. "Origin: null" (sandboxed frames, file: pages)
// is refused.
func Handler(h http.Handler, cfg Config) http.Handler {
	hosts := map[string]bool{}
	for _, n := range cfg.Hosts {
		hosts[normalHost(n)] = true
	}
	var origins []string
	for _, o := range cfg.Origins {
		origins = append(origins, strings.ToLower(o))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := normalHost(r.Host)
		if !hosts[host] {
			if _, err := netip.ParseAddr(host); !cfg.AnyIP || err != nil {
				refuse(w, http.StatusMisdirectedRequest, "this server does not serve the host "+r.Host+"; use the address the sandbox printed (or start it with --allow-host)")
				return
			}
		}
		if changesState(r) && !originAllowed(r, origins) {
			refuse(w, http.StatusForbidden, "requests from the origin "+r.Header.Get("Origin")+" are not allowed (start the sandbox with --allow-origin to allow a site)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// normalHost is a Host header's name, lower case, without port, brackets
// or a final dot.
func normalHost(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// changesState: every method but the safe ones (RFC 9110 §9.2.1), and the
// WebSocket handshake, a GET that opens a tunnel.
func changesState(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	}
	return true
}

func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range patterns {
		target := strings.ToLower(u.Host)
		if strings.Contains(p, "://") {
			target = strings.ToLower(origin)
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}

func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
