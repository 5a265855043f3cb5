package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/internal/i18n/reqlang"
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
	// GET, not POST: the pages send no referrer, so a browser's form POST
	// carries "Origin: null", which the server's origin check refuses;
	// and choosing a language is idempotent, harmless to replay.
	mux.HandleFunc("GET /lang", s.setLang)
	// The UI catalogs, one JSON file per language, fetched by the wasm
	// client like the explanations: /messages/HASH/LANG.json.
	mux.HandleFunc("GET /messages/{file...}", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/static/" + r.PathValue("file")
		s.messages.serve(w, r)
	})
	// The lesson files, fetched by the wasm client on a lesson page:
	// /lessons-src/HASH/NAME.md and /lessons-src/HASH/NAME.LANG.md.
	mux.HandleFunc("GET /lessons-src/{file...}", func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = "/static/" + r.PathValue("file")
		s.lessonSrc.serve(w, r)
	})
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
		lang, _ := reqlang.Of(r)
		_ = c.Render(withCatalog(r.Context(), locales.Catalog(lang)), w)
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

// meta is what the layout needs for every page; titleKey is the page
// title's catalog key.
func (s *site) meta(r *http.Request, titleKey, page string, embed bool) pageMeta {
	lang, src := reqlang.Of(r)
	cat := locales.Catalog(lang)
	m := pageMeta{
		Title:      cat.T(titleKey),
		Page:       page,
		Path:       r.URL.Path,
		Next:       r.URL.RequestURI(),
		Embed:      embed,
		Version:    s.cfg.Version,
		CSSURL:     s.assets.url("style.css"),
		CommonURL:  s.assets.url("common.js"),
		AppURL:     s.assets.url("app.js"),
		Origins:    strings.Join(postOrigins(s.cfg.AllowOrigins), " "),
		Lang:       lang,
		LangSource: src,
		cat:        cat,
	}
	ui := cat.Messages("app.")
	if page == "teach" || page == "teach-class" || page == "join" {
		// teach.js's words, only on the pages that load it.
		maps.Copy(ui, cat.Messages("teach.js."))
	}
	if b, err := json.Marshal(ui); err == nil {
		m.UI = string(b)
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
	// A language without explanations yet gets the English ones.
	u := s.catalogs.url(m.Lang + ".json")
	if u == "" {
		u = s.catalogs.url(i18n.Default + ".json")
	}
	if u != "" {
		m.ExplainURL = "/explain/" + strings.TrimPrefix(u, "/static/")
	}
	if u := s.messages.url(m.Lang + ".json"); u != "" {
		m.MessagesURL = "/messages/" + strings.TrimPrefix(u, "/static/")
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

// setLang is the header's language picker: it keeps the choice in a
// cookie for a year and goes back to the page it was made on (a local
// path only, so the form cannot send a reader elsewhere). It is a plain
// form: it works without JavaScript.
func (s *site) setLang(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Supported(r.FormValue("lang"))
	if lang == "" {
		http.Error(w, "unknown language", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: i18n.CookieName, Value: lang, Path: "/",
		MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, localNext(r.FormValue("next")), http.StatusSeeOther)
}

// localNext is next when it is a path of this site, without a ?lang=
// that would override the new choice; else the home page.
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	q := u.Query()
	q.Del("lang")
	u.RawQuery = q.Encode()
	return u.String()
}

// pageTheme is ?theme= when it names a scheme of the stylesheet, else "".
func pageTheme(q string) string {
	if q == "light" || q == "dark" {
		return q
	}
	return ""
}

// fullURL is the full page of an /embed/ one, with its query but for what
// only an embedded page uses (autoplay, pace, theme): ?lang=, ?profile= and
// ?host= carry over.
func fullURL(u *url.URL) string {
	q := u.Query()
	q.Del("autoplay")
	q.Del("pace")
	q.Del("theme")
	full := strings.TrimPrefix(u.Path, "/embed")
	if enc := q.Encode(); enc != "" {
		full += "?" + enc
	}
	return full
}

func (s *site) home(r *http.Request) (int, templ.Component) {
	m := s.meta(r, "title.home", "home", false)
	return http.StatusOK, homePage(m, s.lessons[m.Lang])
}

func (s *site) playground(embed bool) pageFunc {
	return func(r *http.Request) (int, templ.Component) {
		m := s.meta(r, "title.playground", "playground", embed)
		m.NeedsClient = true
		return http.StatusOK, playgroundPage(m, s.playgroundData(r))
	}
}

func (s *site) mailbox(r *http.Request) (int, templ.Component) {
	return http.StatusOK, mailboxPage(s.meta(r, "title.mailbox", "mailbox", false))
}

func (s *site) ports(r *http.Request) (int, templ.Component) {
	return http.StatusOK, portsPage(s.meta(r, "title.ports", "ports", false), portFacts)
}

func (s *site) course(r *http.Request) (int, templ.Component) {
	m := s.meta(r, "title.course", "course", false)
	return http.StatusOK, coursePage(m, s.lessons[m.Lang])
}

func (s *site) clients(r *http.Request) (int, templ.Component) {
	return http.StatusOK, clientsPage(s.meta(r, "title.clients", "clients", false), s.clientRecipes(r))
}

func (s *site) labPolicy(r *http.Request) (int, templ.Component) {
	return http.StatusOK, policyPage(s.meta(r, "title.policy", "policy", false))
}

func (s *site) lesson(embed bool) pageFunc {
	return func(r *http.Request) (int, templ.Component) {
		m, l, ok := s.lessonMeta(r, r.PathValue("name"), embed)
		if !ok {
			return s.notFound(r)
		}
		return http.StatusOK, lessonPage(m, l, s.playgroundData(r))
	}
}

// lessonMeta is the page set-up of the lesson name in the request's
// language, which the lesson page, its embed and the projector share:
// the lesson files the player fetches and the ?autoplay= and ?pace= it
// plays by. ok is false when there is no such lesson.
func (s *site) lessonMeta(r *http.Request, name string, embed bool) (m pageMeta, l lessonInfo, ok bool) {
	lang, _ := reqlang.Of(r)
	i := slices.IndexFunc(s.lessons[lang], func(l lessonInfo) bool { return l.Name == name })
	if i < 0 {
		return pageMeta{}, lessonInfo{}, false
	}
	l = s.lessons[lang][i]
	m = s.meta(r, "title.lesson", "lesson", embed)
	m.Title = l.Title
	m.NeedsClient = true
	m.Lesson = l.Name
	m.LessonURL = s.lessonSrcURL(l.Name + ".md")
	if m.Lang != i18n.Default {
		m.LessonTextURL = s.lessonSrcURL(l.Name + "." + m.Lang + ".md")
	}
	m.Autoplay = r.URL.Query().Get("autoplay") == "1"
	m.Pace = lessonPace(r.URL.Query().Get("pace"))
	return m, l, true
}

func (s *site) notFound(r *http.Request) (int, templ.Component) {
	return http.StatusNotFound, notFoundPage(s.meta(r, "title.notfound", "notfound", false))
}

func (s *site) teach(r *http.Request) (int, templ.Component) {
	return http.StatusOK, teachPage(s.meta(r, "title.teach", "teach", false), s.assets.url("teach.js"))
}

func (s *site) teachClass(r *http.Request) (int, templ.Component) {
	m := s.meta(r, "title.teach-class", "teach-class", false)
	return http.StatusOK, teachClassPage(m, r.PathValue("id"), s.assets.url("teach.js"), s.lessons[m.Lang], s.cfg.Profiles)
}

// project is projector mode: a lesson page in large type, two columns
// even at 150 % zoom, for a teacher who plays it paced (Play the whole
// lesson, Pause, Next); without ?lesson= it lists the lessons. It shows
// nothing of a class, so it needs no sign-in.
func (s *site) project(r *http.Request) (int, templ.Component) {
	name := r.URL.Query().Get("lesson")
	if m, l, ok := s.lessonMeta(r, name, false); ok {
		m.ProjectorCSS = s.assets.url("projector.css")
		return http.StatusOK, lessonPage(m, l, s.playgroundData(r))
	}
	m := s.meta(r, "title.projector", "project", false)
	m.ProjectorCSS = s.assets.url("projector.css")
	status := http.StatusOK
	if name != "" {
		status = http.StatusNotFound
	}
	return status, projectPage(m, s.lessons[m.Lang])
}

func (s *site) join(r *http.Request) (int, templ.Component) {
	return http.StatusOK, joinPage(s.meta(r, "title.join", "join", false), strings.ToUpper(r.PathValue("code")), s.assets.url("teach.js"))
}

// lessonPace reads ?pace=MS: the milliseconds between played steps, for a
// docs page that wants a quicker demonstration (or tests); out of range
// or not a number keeps the player's own pace.
func lessonPace(v string) string {
	ms, err := strconv.Atoi(v)
	if err != nil || ms < 0 || ms > 5000 {
		return ""
	}
	return strconv.Itoa(ms)
}

// lessonSrcURL is the address of a lesson file under /lessons-src/, or ""
// when there is no such file.
func (s *site) lessonSrcURL(name string) string {
	if u := s.lessonSrc.url(name); u != "" {
		return "/lessons-src/" + strings.TrimPrefix(u, "/static/")
	}
	return ""
}
