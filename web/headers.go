package web

import (
	"net/http"
	"strings"
)

// securityHeaders sets the headers every response of the site carries.
//
// The Content-Security-Policy allows scripts only from this origin and no
// inline script; 'wasm-unsafe-eval' is what WebAssembly.instantiate needs
// and grants no JavaScript eval. connect-src 'self' covers fetch, the
// EventSource and the gateway WebSocket on the same host. frame-ancestors
// is 'self' for ordinary pages and adds cfg.AllowOrigins under /embed/.
func (s *site) securityHeaders(next http.Handler) http.Handler {
	base := "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
		"style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
	pageCSP := base + "frame-ancestors 'self'"
	embedCSP := base + "frame-ancestors " + strings.Join(append([]string{"'self'"}, s.cfg.AllowOrigins...), " ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if strings.HasPrefix(r.URL.Path, "/embed/") {
			h.Set("Content-Security-Policy", embedCSP)
		} else {
			h.Set("Content-Security-Policy", pageCSP)
			h.Set("X-Frame-Options", "SAMEORIGIN")
		}
		next.ServeHTTP(w, r)
	})
}
