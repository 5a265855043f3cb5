package web

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portlab/portlab/scenarios/explain"
	"golang.org/x/net/html"
)

// The reply explanations are data the wasm client fetches: served per
// language, compressed, revalidated at /explain/LANG.json and cached for a
// year at the hashed address the page gives the client.
func TestExplainCatalog(t *testing.T) {
	h := testHandler(t, true)
	resp := get(t, h, "/explain/en.json")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /explain/en.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := explain.Load(body); err != nil {
		t.Fatalf("the served catalog does not load: %v", err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
	etag := resp.Header.Get("ETag")
	if r := get(t, h, "/explain/en.json", "If-None-Match", etag); etag == "" || r.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: %d", etag, r.StatusCode)
	}
	if r := get(t, h, "/explain/en.json", "Accept-Encoding", "br, gzip"); r.Header.Get("Content-Encoding") != "br" {
		t.Errorf("Content-Encoding %q, want br", r.Header.Get("Content-Encoding"))
	}
	if r := get(t, h, "/explain/xx.json"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown language: %d", r.StatusCode)
	}

	page := parse(t, get(t, h, "/playground"))
	var url string
	walk(page, func(n *html.Node) {
		if n.Data == "body" {
			url, _ = attr(n, "data-explain-url")
		}
	})
	if !strings.HasPrefix(url, "/explain/") || !strings.HasSuffix(url, "/en.json") || url == "/explain/en.json" {
		t.Fatalf("the page gives the client %q, want /explain/HASH/en.json", url)
	}
	r := get(t, h, url)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s: %d, Cache-Control %q", url, r.StatusCode, r.Header.Get("Cache-Control"))
	}
}
