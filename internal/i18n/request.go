package i18n

import "net/http"

// RequestLang is Negotiate for an HTTP request: its ?lang=, its picker
// cookie (CookieName) and its Accept-Language.
func RequestLang(r *http.Request) (string, Source) {
	var cookie string
	if c, err := r.Cookie(CookieName); err == nil {
		cookie = c.Value
	}
	return Negotiate(r.URL.Query().Get("lang"), cookie, r.Header.Get("Accept-Language"))
}
