// Package reqlang chooses an HTTP request's language. It stands apart
// from i18n so the wasm client, which links i18n, does not link net/http.
package reqlang

import (
	"net/http"

	"github.com/portlab/portlab/internal/i18n"
)

// Of is i18n.Negotiate for a request: its ?lang=, its picker cookie
// (i18n.CookieName) and its Accept-Language.
func Of(r *http.Request) (string, i18n.Source) {
	var cookie string
	if c, err := r.Cookie(i18n.CookieName); err == nil {
		cookie = c.Value
	}
	return i18n.Negotiate(r.URL.Query().Get("lang"), cookie, r.Header.Get("Accept-Language"))
}
