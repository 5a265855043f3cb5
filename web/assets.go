package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// staticFS holds the files under static/, including the wasm client when
// `go run ./web/internal/assets` has built it before go build.
//
//go:embed static
var staticFS embed.FS

// Asset names the pages refer to.
const (
	wasmAsset     = "wasm/portlab.wasm"
	wasmExecAsset = "wasm/wasm_exec.js"
)

// asset is one static file, ready to be sent in any encoding the client
// accepts.
type asset struct {
	name  string // path under static/, such as "app.js"
	hash  string // first 12 hex digits of the SHA-256 of its content
	ctype string
	raw   []byte // nil for the wasm, which is embedded only compressed
	br    []byte
	gz    []byte
	// size is the length of the uncompressed content.
	size int64
	// lazy: br and gz are made from raw the first time the asset is
	// served. Brotli at its best level took 2.5 s for every lesson,
	// translation and catalog at each process start (every portlab
	// serve, every test process), for files most starts never send.
	lazy sync.Once
	pack bool
}

// encoded makes the compressed forms of a text asset, once, the first time
// it is served.
func (a *asset) encoded() {
	if a.pack {
		a.lazy.Do(func() { a.br, a.gz = compress(a.raw) })
	}
}

// assetTable maps a name under static/ to its asset.
type assetTable struct {
	byName map[string]*asset
}

// loadAssets reads every file of static and prepares its compressed forms:
// a file "x.br" or "x.gz" beside "x" is taken as x's precompressed form (the
// wasm client ships only those); other text files are compressed once, when
// first served.
func loadAssets(static fs.FS) *assetTable {
	files := map[string][]byte{}
	_ = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(static, p)
		if err == nil {
			files[p] = b
		}
		return nil
	})
	return newAssetTable(files)
}

// newAssetTable makes assets of files, by name (see loadAssets).
func newAssetTable(files map[string][]byte) *assetTable {
	t := &assetTable{byName: map[string]*asset{}}
	for p := range files {
		base := p
		switch {
		case strings.HasSuffix(p, ".br"), strings.HasSuffix(p, ".gz"):
			base = p[:len(p)-3]
		}
		if base == p || files[base] == nil {
			t.add(base, files)
		}
	}
	return t
}

func (t *assetTable) add(name string, files map[string][]byte) {
	if t.byName[name] != nil {
		return
	}
	a := &asset{name: name, raw: files[name], br: files[name+".br"], gz: files[name+".gz"]}
	a.ctype = contentType(name)
	switch {
	case a.raw != nil:
		a.size = int64(len(a.raw))
		a.pack = a.br == nil && a.gz == nil && compressible(a.ctype) && len(a.raw) > 512
	case len(a.gz) >= 4:
		// RFC 1952 §2.3.1: ISIZE, the input size modulo 2^32, ends the member.
		a.size = int64(binary.LittleEndian.Uint32(a.gz[len(a.gz)-4:]))
	case a.br != nil:
		a.raw = unbrotli(a.br)
		a.size = int64(len(a.raw))
	default:
		return
	}
	h := sha256.New()
	for _, b := range [][]byte{a.raw, a.gz, a.br} {
		if b != nil {
			h.Write(b)
			break
		}
	}
	a.hash = hex.EncodeToString(h.Sum(nil))[:12]
	t.byName[name] = a
}

// has reports whether the named asset is embedded.
func (t *assetTable) has(name string) bool { return t.byName[name] != nil }

// url is the cache-busting address of the named asset, or "" when missing.
func (t *assetTable) url(name string) string {
	a := t.byName[name]
	if a == nil {
		return ""
	}
	return "/static/" + a.hash + "/" + name
}

// size is the uncompressed length of the named asset, 0 when missing.
func (t *assetTable) size(name string) int64 {
	if a := t.byName[name]; a != nil {
		return a.size
	}
	return 0
}

// serve answers GET /static/{rest...}: /static/HASH/NAME is cached for a
// year (the address changes with the content); /static/NAME and a stale
// hash revalidate every time.
func (t *assetTable) serve(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/static/")
	immutable := false
	a := t.byName[rest]
	if a == nil {
		if i := strings.IndexByte(rest, '/'); i > 0 {
			a = t.byName[rest[i+1:]]
			immutable = a != nil && a.hash == rest[:i]
		}
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	a.encoded()
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if a.br != nil || a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
	}
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	etag := `"` + a.hash + `"`
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	// The page reads the uncompressed size to show download progress: with
	// Content-Encoding the browser counts decoded bytes.
	h.Set("X-Uncompressed-Length", strconv.FormatInt(a.size, 10))

	var body io.Reader
	switch enc := negotiate(r.Header.Get("Accept-Encoding"), a.br != nil, a.gz != nil); enc {
	case "br":
		h.Set("Content-Encoding", "br")
		body = bytes.NewReader(a.br)
		h.Set("Content-Length", strconv.Itoa(len(a.br)))
	case "gzip":
		h.Set("Content-Encoding", "gzip")
		body = bytes.NewReader(a.gz)
		h.Set("Content-Length", strconv.Itoa(len(a.gz)))
	default:
		if a.raw != nil {
			body = bytes.NewReader(a.raw)
		} else {
			zr, err := gzip.NewReader(bytes.NewReader(a.gz))
			if err != nil {
				http.Error(w, "corrupt asset", http.StatusInternalServerError)
				return
			}
			body = zr
		}
		h.Set("Content-Length", strconv.FormatInt(a.size, 10))
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.Copy(w, body)
}

// negotiate picks the content coding for an Accept-Encoding header (RFC 9110
// §12.5.3): brotli when acceptable and available, then gzip, else identity.
func negotiate(accept string, haveBr, haveGz bool) string {
	q := map[string]float64{}
	star := -1.0
	for _, part := range strings.Split(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		v := 1.0
		for _, p := range strings.Split(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					v = f
				}
			}
		}
		if name == "*" {
			star = v
			continue
		}
		q[name] = v
	}
	acceptable := func(name string) bool {
		if v, ok := q[name]; ok {
			return v > 0
		}
		return star > 0
	}
	switch {
	case haveBr && acceptable("br"):
		return "br"
	case haveGz && (acceptable("gzip") || acceptable("x-gzip")):
		return "gzip"
	}
	return ""
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "svg") ||
		strings.Contains(ctype, "json") || ctype == "application/wasm"
}

func compress(b []byte) (br, gz []byte) {
	var bb, gb bytes.Buffer
	bw := brotli.NewWriterLevel(&bb, brotli.BestCompression)
	_, _ = bw.Write(b)
	_ = bw.Close()
	gw, _ := gzip.NewWriterLevel(&gb, gzip.BestCompression)
	_, _ = gw.Write(b)
	_ = gw.Close()
	return bb.Bytes(), gb.Bytes()
}

func unbrotli(b []byte) []byte {
	out, err := io.ReadAll(brotli.NewReader(bytes.NewReader(b)))
	if err != nil {
		return nil
	}
	return out
}
