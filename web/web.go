// Package web serves portlab's pages: the templ-rendered HTML, the embedded
// static files and the WebAssembly SMTP client that runs in the student's tab.
//
// Start with [New]. The handler answers every path except /api/ and /ws/,
// which belong to the server's JSON API and WebSocket gateway. Everything it
// sends is embedded in the binary, so a classroom works offline.
//
// The wasm client and wasm_exec.js are built by `go run ./web/internal/assets`
// (called by `make build`) into static/wasm/ and embedded at go build time.
// A plain `go build` without them still serves every page; pages that need
// the client say how to build it.
package web

import (
	"io/fs"
	"net/http"
	"sort"
	"sync"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/explain"
)

// Config is what the pages need to know about the running server. The zero
// value serves the pages with empty pickers.
type Config struct {
	// CAPEM is the sandbox CA certificate, served at /ca.pem and trusted by
	// the wasm client when it verifies the relay's TLS certificate.
	CAPEM []byte
	// Profiles are the network profiles a student can pick.
	Profiles []Profile
	// DefaultProfile is the one a page starts with (the profiles file's
	// default).
	DefaultProfile string
	// Hosts are the simulated hosts and their doors (ports).
	Hosts []Host
	// Listeners are the real TCP listeners for the "use your own client" page.
	Listeners []Listener
	// AllowOrigins lists the sites allowed to embed /embed/ pages in an
	// iframe (CSP frame-ancestors) and to receive their postMessage events.
	// Empty means same origin only.
	AllowOrigins []string
	// Version is shown in the page footer.
	Version string
}

// Profile is a network profile: what the student's simulated network does
// to each port.
type Profile struct {
	Name, Title, Description string
	// Titles and Descriptions are Title and Description in other
	// languages, by language (internal/i18n); a language without one
	// shows the English.
	Titles, Descriptions map[string]string
}

// Host is a simulated host of the sandbox world.
type Host struct {
	Name, Title string
	// Titles are Title in other languages, by language.
	Titles map[string]string
	Doors  []Door
}

// Door is a port a simulated host listens on and the service behind it.
type Door struct {
	Port    int
	Service string
}

// Listener is a real TCP listener that plays one simulated host and port,
// for students who use their own client (swaks, openssl, Thunderbird).
type Listener struct {
	// LessonPort is the port the lessons talk about (25, 465, 587, 2525).
	LessonPort int
	// Addr is the real address to connect to, such as "127.0.0.1:10587".
	Addr string
	// Host is the simulated host this listener plays.
	Host string
	// Role is "relay" or "submission".
	Role string
	// TLS is "none", "starttls", "starttls-required" or "implicit".
	TLS string
	// Auth is "none", "offered" or "required".
	Auth string
}

// New returns the handler for the pages, the static files, /ca.pem and the
// embedded wasm client.
func New(cfg Config) http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return newSite(cfg, sub).routes()
}

// site holds the parsed configuration and the asset table; it is immutable
// after newSite, so one site serves requests in parallel.
type site struct {
	cfg    Config
	assets *assetTable
	// catalogs are the reply explanations (scenarios/explain), served
	// as assets under /explain/.
	catalogs *assetTable
	// messages are the UI catalogs (internal/i18n/locales), served as
	// assets under /messages/ for the wasm client.
	messages *assetTable
	// lessonSrc are the lesson files and their translations, served
	// under /lessons-src/ for the wasm client to play.
	lessonSrc *assetTable
	// lessons are the built-in lessons in each page language.
	lessons map[string][]lessonInfo
}

func newSite(cfg Config, static fs.FS) *site {
	cfg.Listeners = append([]Listener(nil), cfg.Listeners...)
	sort.SliceStable(cfg.Listeners, func(i, j int) bool {
		return cfg.Listeners[i].LessonPort < cfg.Listeners[j].LessonPort
	})
	return &site{
		cfg:       cfg,
		assets:    loadAssets(static),
		catalogs:  explainCatalogs(),
		messages:  messageCatalogs(),
		lessonSrc: lessonSources(),
		lessons:   lessonCatalog(),
	}
}

// explainCatalogs are the built-in explanation catalogs, one asset per
// language ("en.json"), compressed once per process like the static
// files: every site a test makes shares them.
var explainCatalogs = sync.OnceValue(func() *assetTable {
	files := map[string][]byte{}
	for _, lang := range explain.Languages() {
		files[lang+".json"] = explain.Data(lang)
	}
	return newAssetTable(files)
})

// messageCatalogs are the UI catalogs, one asset per language that has a
// file ("de.json"), as written: the wasm falls back to the English it
// carries for each key a file lacks.
var messageCatalogs = sync.OnceValue(func() *assetTable {
	files := map[string][]byte{}
	for _, lang := range i18n.Languages {
		if b := locales.Data(lang); b != nil {
			files[lang+".json"] = b
		}
	}
	return newAssetTable(files)
})

// lessonSources are the built-in lesson files (NAME.md) and translations
// (NAME.LANG.md), one asset each: a lesson page names the two it needs.
var lessonSources = sync.OnceValue(func() *assetTable {
	files := map[string][]byte{}
	fsys := scenarios.Files()
	names, _ := fs.Glob(fsys, "*.md")
	for _, n := range names {
		if b, err := fs.ReadFile(fsys, n); err == nil {
			files[n] = b
		}
	}
	return newAssetTable(files)
})
