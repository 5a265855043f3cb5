package web

import (
	"net/url"
	"strings"
)

// postOrigins turns the --allow-origin values into the target origins an
// embedded page posts its events to, and the only ones whose commands it
// takes (wasm/embed.go compares event.origin with them exactly).
// postMessage needs a full origin
// (scheme://host[:port]); the documented form is a bare host
// ("docs.example.com", as for the WebSocket origin check and CSP
// frame-ancestors), which stands for both its http:// and https://
// origins. A full origin is kept as given. Patterns with a wildcard name
// no single origin and are left to frame-ancestors alone; the browser
// delivers a message only to the listed origin that is the parent's.
func postOrigins(allowed []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(o string) {
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	for _, a := range allowed {
		a = strings.TrimSuffix(strings.TrimSpace(a), "/")
		if a == "" || strings.Contains(a, "*") {
			continue
		}
		if strings.Contains(a, "://") {
			u, err := url.Parse(a)
			if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
				continue
			}
			add(strings.ToLower(u.Scheme + "://" + u.Host))
			continue
		}
		host := strings.ToLower(a)
		add("https://" + host)
		add("http://" + host)
	}
	return out
}
