package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/a-h/templ"
)

// routes is the site's one route table (Go 1.22 patterns). /api/ and /ws/
// are the server's; a request for them that reaches this handler is a 404.
func (s *site) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page(s.home))
	mux.HandleFunc("GET /playground", s.page(s.playground(false)))
	mux.HandleFunc("GET /mailbox", s.page(s.mailbox))
	mux.HandleFunc("GET /ports", s.page(s.ports))
	mux.HandleFunc("GET /clients", s.page(s.clients))
	mux.HandleFunc("GET /course", s.page(s.course))
	mux.HandleFunc("GET /lab/policy", s.page(s.labPolicy))
	mux.HandleFunc("GET /lessons/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/#lessons", http.StatusFound)
	})
	mux.HandleFunc("GET /lessons/{name}", s.page(s.lesson(false)))
	mux.HandleFunc("GET /embed/playground", s.page(s.playground(true)))
	mux.HandleFunc("GET /embed/lessons/{name}", s.page(s.lesson(true)))
	// The classroom: the teacher's pages and the students' join page
	// (their data comes from /api/classroom/, the server's).
	mux.HandleFunc("GET /teach", s.page(s.teach))
	mux.HandleFunc("GET /teach/classes/{id}", s.page(s.teachClass))
	mux.HandleFunc("GET /teach/project", s.page(s.project))
	mux.HandleFunc("GET /join", s.page(s.join))
	mux.HandleFunc("GET /join/{code}", s.page(s.join))
	mux.HandleFunc("GET /ca.pem", s.caPEM)
	// The reply explanations, one JSON catalog per language, fetched by
	// the wasm client: /explain/en.json revalidates, /explain/HASH/en.json
	// (the address the pages give) is cached for a year.
	mux.HandleFunc("GET /explain/{file...}", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/static/" + r.PathValue("file")
		s.catalogs.serve(w, r)
	})
	mux.HandleFunc("GET /static/", s.assets.serve)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/static/favicon.svg"
		s.assets.serve(w, r)
	})
	mux.HandleFunc("/", s.page(s.notFound))
	return s.securityHeaders(mux)
}

// pageFunc builds the component for one request, or returns a status other
// than 200 with the component to show.
type pageFunc func(r *http.Request) (int, templ.Component)

// page renders a pageFunc as HTML that browsers revalidate on every visit
// (the assets it names carry their content hash, so they may be cached).
func (s *site) page(f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, c := f(r)
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(status)
		if r.Method == http.MethodHead {
			return
		}
		_ = c.Render(r.Context(), w)
	}
}

func (s *site) caPEM(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.CAPEM) == 0 {
		http.Error(w, "no sandbox CA configured", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Content-Disposition", `inline; filename="portlab-ca.pem"`)
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.cfg.CAPEM)
}

// meta is what the layout needs for every page.
func (s *site) meta(r *http.Request, title, page string, embed bool) pageMeta {
	m := pageMeta{
		Title:   title,
		Page:    page,
		Path:    r.URL.Path,
		Embed:   embed,
		Version: s.cfg.Version,
		CSSURL:  s.assets.url("style.css"),
		AppURL:  s.assets.url("app.js"),
		Origins: strings.Join(postOrigins(s.cfg.AllowOrigins), " "),
		Lang:    pageLang(r.URL.Query().Get("lang")),
	}
	if embed {
		m.Theme = pageTheme(r.URL.Query().Get("theme"))
		m.FullURL = fullURL(r.URL)
		names := make([]string, len(s.cfg.Profiles))
		for i, p := range s.cfg.Profiles {
			names[i] = p.Name
		}
		m.Profiles = strings.Join(names, " ")
	}
	if u := s.catalogs.url(m.Lang + ".json"); u != "" {
		m.ExplainURL = "/explain/" + strings.TrimPrefix(u, "/static/")
	}
	if s.assets.has(wasmAsset) && s.assets.has(wasmExecAsset) {
		m.Client = clientInfo{
			Built:    true,
			WasmURL:  s.assets.url(wasmAsset),
			ExecURL:  s.assets.url(wasmExecAsset),
			WasmSize: s.assets.size(wasmAsset),
		}
	}
	return m
}

// languages are the page languages there are; English is the source and,
// until the catalogs of the languages issue arrive, the only one.
var languages = []string{"en"}

// pageLang is a page's language: ?lang= when there is one in it, else
// English.
func pageLang(q string) string {
	q = strings.ToLower(strings.TrimSpace(q))
	if slices.Contains(languages, q) {
		return q
	}
	return languages[0]
}

// pageTheme is ?theme= when it names a scheme of the stylesheet, else "".
func pageTheme(q string) string {
	if q == "light" || q == "dark" {
		return q
	}
	return ""
}

// fullURL is the full page of an /embed/ one, with its query but for what
// only an embedded page uses (autoplay, theme): ?lang=, ?profile= and
// ?host= carry over.
func fullURL(u *url.URL) string {
	q := u.Query()
	q.Del("autoplay")
	q.Del("theme")
	full := strings.TrimPrefix(u.Path, "/embed")
	if enc := q.Encode(); enc != "" {
		full += "?" + enc
	}
	return full
}

func (s *site) home(r *http.Request) (int, templ.Component) {
	return http.StatusOK, homePage(s.meta(r, "portlab: which SMTP port, and why", "home", false), s.lessons)
}

func (s *site) playground(embed bool) pageFunc {
	return func(r *http.Request) (int, templ.Component) {
		m := s.meta(r, "Playground", "playground", embed)
		m.NeedsClient = true
		return http.StatusOK, playgroundPage(m, s.playgroundData(r))
	}
}

func (s *site) mailbox(r *http.Request) (int, templ.Component) {
	return http.StatusOK, mailboxPage(s.meta(r, "Mailbox", "mailbox", false))
}

func (s *site) ports(r *http.Request) (int, templ.Component) {
	return http.StatusOK, portsPage(s.meta(r, "The four SMTP ports", "ports", false), portFacts)
}

func (s *site) course(r *http.Request) (int, templ.Component) {
	return http.StatusOK, coursePage(s.meta(r, "Course map", "course", false), s.lessons)
}

func (s *site) clients(r *http.Request) (int, templ.Component) {
	return http.StatusOK, clientsPage(s.meta(r, "Use your own client", "clients", false), s.clientRecipes(r))
}

func (s *site) labPolicy(r *http.Request) (int, templ.Component) {
	return http.StatusOK, policyPage(s.meta(r, "Your own server's rules", "policy", false))
}

func (s *site) lesson(embed bool) pageFunc {
	return func(r *http.Request) (int, templ.Component) {
		name := r.PathValue("name")
		for _, l := range s.lessons {
			if l.Name == name {
				m := s.meta(r, l.Title, "lesson", embed)
				m.NeedsClient = true
				m.Lesson = l.Name
				m.Autoplay = r.URL.Query().Get("autoplay") == "1"
				return http.StatusOK, lessonPage(m, l, s.playgroundData(r))
			}
		}
		return s.notFound(r)
	}
}

func (s *site) notFound(r *http.Request) (int, templ.Component) {
	return http.StatusNotFound, notFoundPage(s.meta(r, "Not found", "notfound", false))
}

func (s *site) teach(r *http.Request) (int, templ.Component) {
	return http.StatusOK, teachPage(s.meta(r, "Teach a class", "teach", false), s.assets.url("teach.js"))
}

func (s *site) teachClass(r *http.Request) (int, templ.Component) {
	return http.StatusOK, teachClassPage(s.meta(r, "Class dashboard", "teach-class", false), r.PathValue("id"), s.assets.url("teach.js"), s.lessons, s.cfg.Profiles)
}

// project is projector mode: a lesson page in large type, two columns
// even at 150 % zoom, for a teacher who plays it paced (Play the whole
// lesson, Pause, Next); without ?lesson= it lists the lessons. It shows
// nothing of a class, so it needs no sign-in.
func (s *site) project(r *http.Request) (int, templ.Component) {
	name := r.URL.Query().Get("lesson")
	for _, l := range s.lessons {
		if l.Name == name {
			m := s.meta(r, l.Title, "lesson", false)
			m.NeedsClient = true
			m.Lesson = l.Name
			m.ProjectorCSS = s.assets.url("projector.css")
			return http.StatusOK, lessonPage(m, l, s.playgroundData(r))
		}
	}
	m := s.meta(r, "Projector", "project", false)
	m.ProjectorCSS = s.assets.url("projector.css")
	status := http.StatusOK
	if name != "" {
		status = http.StatusNotFound
	}
	return status, projectPage(m, s.lessons)
}

func (s *site) join(r *http.Request) (int, templ.Component) {
	return http.StatusOK, joinPage(s.meta(r, "Join a class", "join", false), strings.ToUpper(r.PathValue("code")), s.assets.url("teach.js"))
}
