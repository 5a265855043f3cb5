package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"golang.org/x/net/html"
)

func TestSecurityHeaders(t *testing.T) {
	h := testHandler(t, true)
	for _, path := range []string{"/", "/playground", "/lessons/first-contact", "/ca.pem", "/static/app.js", "/nope"} {
		resp := get(t, h, path)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval';", "frame-ancestors 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("%s: CSP %q allows inline code or eval", path, csp)
		}
		if strings.Contains(csp, "docs.example.org") {
			t.Errorf("%s: a non-embed page may be framed by %q", path, csp)
		}
		for k, v := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "SAMEORIGIN",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s=%q, want %q", path, k, got, v)
			}
		}
	}
	resp := get(t, h, "/embed/playground")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self' https://docs.example.org") {
		t.Errorf("embed CSP %q", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("embed page sends X-Frame-Options %q, which would forbid the allowed origins", xfo)
	}
}

func TestPageCaching(t *testing.T) {
	resp := get(t, testHandler(t, true), "/playground")
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("HTML Cache-Control %q, want no-cache", cc)
	}
}

func TestCAPEM(t *testing.T) {
	resp := get(t, testHandler(t, true), "/ca.pem")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-pem-file" || !bytes.Equal(body, testCfg.CAPEM) {
		t.Errorf("/ca.pem: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	empty := newSite(Config{}, testStatic(t, false)).routes()
	if resp := get(t, empty, "/ca.pem"); resp.StatusCode != 404 {
		t.Errorf("/ca.pem without a CA: %d", resp.StatusCode)
	}
}

func TestWasmDelivery(t *testing.T) {
	s := newSite(testCfg, testStatic(t, true))
	h := s.routes()
	url := s.assets.url(wasmAsset)
	if url == "" {
		t.Fatal("no wasm asset")
	}
	tests := []struct {
		accept   string
		encoding string
	}{
		{"gzip, deflate, br, zstd", "br"},
		{"br", "br"},
		{"gzip", "gzip"},
		{"br;q=0, gzip;q=0.8", "gzip"},
		{"*", "br"},
		{"", ""},
		{"identity", ""},
		{"br;q=0, gzip;q=0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			resp := get(t, h, url, "Accept-Encoding", tt.accept)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			hd := resp.Header
			if got := hd.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if got := hd.Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type %q", got)
			}
			if got := hd.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary %q", got)
			}
			if got := hd.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", got)
			}
			if got := hd.Get("X-Uncompressed-Length"); got != itoa(len(fakeWasm)) {
				t.Errorf("X-Uncompressed-Length %q", got)
			}
			body, _ := io.ReadAll(resp.Body)
			if hd.Get("Content-Length") != "" && hd.Get("Content-Length") != itoa(len(body)) {
				t.Errorf("Content-Length %s, body %d", hd.Get("Content-Length"), len(body))
			}
			var r io.Reader = bytes.NewReader(body)
			switch tt.encoding {
			case "br":
				r = brotli.NewReader(r)
			case "gzip":
				zr, err := gzip.NewReader(r)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, fakeWasm) {
				t.Errorf("decoded body: %d bytes, err %v; want the wasm", len(got), err)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestStaticCaching(t *testing.T) {
	s := newSite(testCfg, testStatic(t, true))
	h := s.routes()
	url := s.assets.url("app.js")
	resp := get(t, h, url, "Accept-Encoding", "gzip")
	if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("app.js Content-Type %q", ct)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Errorf("app.js Content-Encoding %q", ce)
	}
	etag := resp.Header.Get("ETag")
	if resp := get(t, h, url, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	for _, stale := range []string{"/static/app.js", "/static/000000000000/app.js"} {
		resp := get(t, h, stale)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: %d, Cache-Control %q", stale, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	for path, ctype := range map[string]string{
		s.assets.url("style.css"):   "text/css; charset=utf-8",
		s.assets.url(wasmExecAsset): "text/javascript; charset=utf-8",
		s.assets.url("favicon.svg"): "image/svg+xml",
		"/favicon.ico":              "image/svg+xml",
	} {
		if got := get(t, h, path).Header.Get("Content-Type"); got != ctype {
			t.Errorf("%s: Content-Type %q, want %q", path, got, ctype)
		}
	}
	if resp := get(t, h, "/static/nope.js"); resp.StatusCode != 404 {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
}

// TestEmbeddedAssets serves the files go:embed really holds.
func TestEmbeddedAssets(t *testing.T) {
	h := New(testCfg)
	doc := parse(t, get(t, h, "/playground"))
	var hrefs []string
	walk(doc, func(n *html.Node) {
		for _, k := range []string{"href", "src"} {
			if v, ok := attr(n, k); ok && strings.HasPrefix(v, "/static/") {
				hrefs = append(hrefs, v)
			}
		}
	})
	if len(hrefs) < 2 {
		t.Fatalf("assets referenced: %v", hrefs)
	}
	for _, u := range hrefs {
		if resp := get(t, h, u, "Accept-Encoding", "br"); resp.StatusCode != 200 {
			t.Errorf("%s: %d", u, resp.StatusCode)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tt := range []struct {
		accept string
		br, gz bool
		want   string
	}{
		{"br, gzip", true, true, "br"},
		{"br, gzip", false, true, "gzip"},
		{"br", false, true, ""},
		{"GZIP", true, true, "gzip"},
		{"x-gzip", false, true, "gzip"},
		{"*;q=0", true, true, ""},
		{"gzip;q=0.5, *;q=0", true, true, "gzip"},
		{"br ; q=0.000", true, true, ""},
	} {
		if got := negotiate(tt.accept, tt.br, tt.gz); got != tt.want {
			t.Errorf("negotiate(%q, %v, %v) = %q, want %q", tt.accept, tt.br, tt.gz, got, tt.want)
		}
	}
}

// TestAssetCompressedWhenFirstServed: a text asset is compressed the first
// time it is served, not when the table is made (which cost every process
// start 2.5 s of brotli for files it mostly never sends), and what is sent
// decodes to the file.
func TestAssetCompressedWhenFirstServed(t *testing.T) {
	raw := []byte(strings.Repeat("EHLO student.example\r\n", 100))
	tb := newAssetTable(map[string][]byte{"lesson.md": raw})
	a := tb.byName["lesson.md"]
	if a.br != nil || a.gz != nil {
		t.Fatal("compressed when the table was made")
	}
	req := httptest.NewRequest("GET", "/static/lesson.md", nil)
	req.Header.Set("Accept-Encoding", "br")
	rec := httptest.NewRecorder()
	tb.serve(rec, req)
	if rec.Header().Get("Content-Encoding") != "br" || !bytes.Equal(unbrotli(rec.Body.Bytes()), raw) {
		t.Errorf("first request: encoding %q, %d bytes that do not decode to the file", rec.Header().Get("Content-Encoding"), rec.Body.Len())
	}
}
