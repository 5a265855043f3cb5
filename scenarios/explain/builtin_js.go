//go:build js

package explain

// In the browser no catalog is built in, so the wasm does not grow with
// the texts or the languages: the page fetches its language's catalog
// from the server (/explain/LANG.json) and reads it with [Load]. These
// stand-ins only let server-side packages that a js build reaches (the
// web pages, the headless runner) compile; nothing in the browser calls
// them.

// Data is nil in the browser.
func Data(lang string) []byte { return nil }

// Languages is empty in the browser.
func Languages() []string { return nil }

// For panics in the browser: fetch the catalog and Load it.
func For(lang string) *Catalog {
	panic("explain: no built-in catalog in the browser; fetch /explain/" + lang + ".json and Load it")
}

// English panics in the browser, as For does.
func English() *Catalog { return For("en") }
