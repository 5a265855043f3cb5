//go:build js

package i18n

// Negotiate in the browser build takes ?lang= and the cookie alone: the
// page has chosen its language already (<html lang>), and the BCP 47
// matcher would grow the wasm. The server's build matches
// Accept-Language too (negotiate.go).
func Negotiate(query, cookie, _ string) (string, Source) {
	if l := Supported(query); l != "" {
		return l, FromQuery
	}
	if l := Supported(cookie); l != "" {
		return l, FromCookie
	}
	return Default, FromDefault
}
