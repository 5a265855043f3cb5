package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
	"golang.org/x/net/html"
)

// sitePages are every page of the site, full and embedded.
var sitePages = []string{
	"/", "/playground", "/mailbox", "/ports", "/clients", "/course",
	"/lab/policy", "/lessons/first-contact", "/lessons/tls-before-auth",
	"/embed/playground", "/embed/lessons/first-contact", "/no-such-page",
	"/teach", "/join", "/teach/project",
}

// TestEveryPageInEveryLanguage: every page, asked for in every language
// (by ?lang=, by the picker's cookie, by Accept-Language), says so in
// <html lang> and shows the picker's choice.
func TestEveryPageInEveryLanguage(t *testing.T) {
	h := testHandler(t, true)
	for _, lang := range i18n.Languages {
		for _, path := range sitePages {
			for _, how := range []string{"query", "cookie", "header"} {
				req := httptest.NewRequest("GET", path, nil)
				switch how {
				case "query":
					req.URL.RawQuery = "lang=" + url.QueryEscape(lang)
				case "cookie":
					req.AddCookie(&http.Cookie{Name: i18n.CookieName, Value: lang})
				case "header":
					req.Header.Set("Accept-Language", lang+";q=0.9, fr;q=0.8")
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				doc, err := html.Parse(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := attr(elements(doc, "html")[0], "lang"); got != lang {
					t.Errorf("%s by %s for %s: <html lang=%q>", path, how, lang, got)
				}
				if strings.HasPrefix(path, "/embed/") {
					continue
				}
				sel := byTestID(doc, "lang-select")
				if sel == nil {
					t.Errorf("%s: no language picker", path)
					continue
				}
				for _, o := range elements(sel, "option") {
					v, _ := attr(o, "value")
					if _, selected := attr(o, "selected"); selected != (v == lang) {
						t.Errorf("%s by %s for %s: option %s selected=%v", path, how, lang, v, selected)
					}
				}
			}
		}
	}
}

// TestPageTextFromCatalog: a page prints its strings from the page
// language's catalog, each falling back to English where the language
// lacks it.
func TestPageTextFromCatalog(t *testing.T) {
	h := testHandler(t, true)
	de := locales.Catalog("de")
	en := i18n.EnglishCatalog
	doc := parse(t, get(t, h, "/ports?lang=de"))
	title := textOf(elements(doc, "h1")[0])
	if title != de.T("ports.title") {
		t.Errorf("h1 %q, want the de catalog's %q", title, de.T("ports.title"))
	}
	if de.T("ports.title") == "" || en.T("ports.title") == "" {
		t.Error("empty title")
	}
	nav := byTestID(doc, "lang-picker")
	if nav == nil {
		t.Fatal("no picker")
	}
	// The projector's list page had its heading and lead in English.
	doc = parse(t, get(t, h, "/teach/project?lang=de"))
	if got := textOf(elements(doc, "h1")[0]); got != de.T("teach.projector-mode") {
		t.Errorf("/teach/project h1 %q, want %q", got, de.T("teach.projector-mode"))
	}
	// The picker comes back to this page, query and all.
	doc = parse(t, get(t, h, "/playground?profile=home-isp"))
	for _, in := range elements(byTestID(doc, "lang-picker"), "input") {
		if name, _ := attr(in, "name"); name == "next" {
			if v, _ := attr(in, "value"); v != "/playground?profile=home-isp" {
				t.Errorf("picker next = %q", v)
			}
		}
	}
}

// TestPickerSetsCookie: the picker's request keeps the choice in a cookie and
// goes back to the page it came from, never to another site, and drops a
// ?lang= that would override the choice.
func TestPickerSetsCookie(t *testing.T) {
	h := testHandler(t, true)
	for _, tt := range []struct{ next, want string }{
		{"/ports", "/ports"},
		{"/playground?profile=home-isp&lang=es", "/playground?profile=home-isp"},
		{"https://evil.example/", "/"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"", "/"},
	} {
		form := url.Values{"lang": {"de"}, "next": {tt.next}}
		req := httptest.NewRequest("GET", "/lang?"+form.Encode(), nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("GET /lang: %d", rec.Code)
		}
		if loc := rec.Header().Get("Location"); loc != tt.want {
			t.Errorf("next %q: Location %q, want %q", tt.next, loc, tt.want)
		}
		var c *http.Cookie
		for _, k := range rec.Result().Cookies() {
			if k.Name == i18n.CookieName {
				c = k
			}
		}
		if c == nil || c.Value != "de" || c.Path != "/" || c.MaxAge <= 0 {
			t.Errorf("cookie %+v", c)
		}
	}
	req := httptest.NewRequest("GET", "/lang?lang=klingon", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("unknown language: %d", rec.Code)
	}
}

// TestLinksKeepQueryLanguage: where the language came from ?lang= (no
// cookie: an embed, a shared link), the site's links carry it; with the
// cookie they need not.
func TestLinksKeepQueryLanguage(t *testing.T) {
	h := testHandler(t, true)
	hrefs := func(doc *html.Node) []string {
		var out []string
		for _, a := range elements(doc, "a") {
			if href, _ := attr(a, "href"); strings.HasPrefix(href, "/") && href != "/ca.pem" {
				out = append(out, href)
			}
		}
		return out
	}
	links := hrefs(parse(t, get(t, h, "/?lang=pt-BR")))
	if len(links) < 5 {
		t.Fatalf("only %d links", len(links))
	}
	for _, href := range links {
		if !strings.Contains(href, "lang=pt-BR") {
			t.Errorf("/?lang=pt-BR: link %q drops the language", href)
		}
	}
	for _, href := range hrefs(parse(t, get(t, h, "/", "Cookie", "lang=pt-BR"))) {
		if strings.Contains(href, "lang=") {
			t.Errorf("/ with the cookie: link %q carries ?lang=", href)
		}
	}
}

// TestExplainAndMessagesURL: the page names its language's explanations
// (English where none exist yet) and its UI catalog for the wasm client.
func TestExplainAndMessagesURL(t *testing.T) {
	h := testHandler(t, true)
	for _, lang := range i18n.Languages {
		doc := parse(t, get(t, h, "/playground?lang="+lang))
		body := elements(doc, "body")[0]
		ex, _ := attr(body, "data-explain-url")
		if !strings.HasPrefix(ex, "/explain/") || !strings.HasSuffix(ex, ".json") {
			t.Errorf("%s: data-explain-url %q", lang, ex)
		}
		msg, _ := attr(body, "data-messages-url")
		if !strings.HasPrefix(msg, "/messages/") || !strings.HasSuffix(msg, "/"+lang+".json") {
			t.Errorf("%s: data-messages-url %q", lang, msg)
		}
		resp := get(t, h, msg, "Accept-Encoding", "identity")
		if resp.StatusCode != 200 {
			t.Errorf("%s: %s: %d", lang, msg, resp.StatusCode)
		}
	}
}

// TestProfileDescriptionInLanguage: the playground describes the profile
// in the page language where the profiles file has describe.LANG, else
// in English.
func TestProfileDescriptionInLanguage(t *testing.T) {
	cfg := testCfg
	cfg.Profiles = []Profile{{Name: "home-isp", Title: "Home ISP", Description: "Port 25 is blocked.", Descriptions: map[string]string{"de": "Port 25 ist gesperrt."}}}
	cfg.DefaultProfile = "home-isp"
	h := newSite(cfg, testStatic(t, true)).routes()
	for lang, want := range map[string]string{"de": "Port 25 ist gesperrt.", "es": "Port 25 is blocked.", "en": "Port 25 is blocked."} {
		doc := parse(t, get(t, h, "/playground?lang="+lang))
		var got string
		walk(doc, func(n *html.Node) {
			if id, _ := attr(n, "id"); id == "profile-description" {
				got = textOf(n)
			}
		})
		if got != want {
			t.Errorf("%s: description %q, want %q", lang, got, want)
		}
	}
}

// TestUntranslatedStepNote: a lesson page in a language that lacks some
// steps shows them in English, each with the note (and lang="en" on its
// title), the translated ones without it; in English no step has it.
func TestUntranslatedStepNote(t *testing.T) {
	src := scenarios.Files()
	en, err := fs.ReadFile(src, "first-contact.md")
	if err != nil {
		t.Fatal(err)
	}
	lib, err := scenarios.Load(fstest.MapFS{
		"COURSE":           {Data: []byte("first-contact\n")},
		"first-contact.md": {Data: en},
	})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := lib.Lesson("first-contact", "en")
	// A German file with the first step only.
	de := "---\ntitle: Erster Kontakt\nsummary: Klopf an.\nsource: " + lesson.IntroHash(base) + "\n---\n\n" +
		"## Anklopfen {#" + base.Steps[0].ID + "}\n\nText.\n\n```step\nsource: " + lesson.StepHash(base.Steps[0]) + "\n```\n"
	lib, err = scenarios.Load(fstest.MapFS{
		"COURSE":              {Data: []byte("first-contact\n")},
		"first-contact.md":    {Data: en},
		"first-contact.de.md": {Data: []byte(de)},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(testCfg, testStatic(t, true))
	s.lessons = lessonsIn(lib)
	h := s.routes()
	notes := func(path string) (n int, englishTitles int) {
		walk(parse(t, get(t, h, path)), func(x *html.Node) {
			if id, _ := attr(x, "data-testid"); id == "untranslated" {
				n++
			}
			if c, _ := attr(x, "class"); c == "step-title" {
				if l, _ := attr(x, "lang"); l == "en" {
					englishTitles++
				}
			}
		})
		return n, englishTitles
	}
	want := len(base.Steps) - 1
	if n, titles := notes("/lessons/first-contact?lang=de"); n != want || titles != want {
		t.Errorf("de: %d notes, %d English titles; want %d", n, titles, want)
	}
	if n, _ := notes("/lessons/first-contact"); n != 0 {
		t.Errorf("en: %d notes", n)
	}
	// A language without the file shows every step with the note.
	if n, _ := notes("/lessons/first-contact?lang=it"); n != len(base.Steps) {
		t.Errorf("it: %d notes, want %d", n, len(base.Steps))
	}
}

// TestScriptStrings: every page hands app.js its strings in the page
// language (data-ui), plural forms as objects for the browser's rules.
func TestScriptStrings(t *testing.T) {
	h := testHandler(t, true)
	for _, lang := range i18n.Languages {
		body := elements(parse(t, get(t, h, "/mailbox?lang="+lang)), "body")[0]
		raw, _ := attr(body, "data-ui")
		var ui map[string]any
		if err := json.Unmarshal([]byte(raw), &ui); err != nil {
			t.Fatalf("%s: data-ui: %v", lang, err)
		}
		if s, _ := ui["app.loading"].(string); s == "" {
			t.Errorf("%s: no app.loading", lang)
		}
		if p, _ := ui["app.policy.errors"].(map[string]any); p["other"] == "" || p["other"] == nil {
			t.Errorf("%s: app.policy.errors has no plural forms: %v", lang, ui["app.policy.errors"])
		}
		for k := range ui {
			if !strings.HasPrefix(k, "app.") {
				t.Errorf("%s: data-ui carries %s", lang, k)
			}
		}
	}
}

// TestProfileTitleInLanguage: the network menu names each profile by its
// title in the page language where the profiles file has title.LANG, else
// in English.
func TestProfileTitleInLanguage(t *testing.T) {
	cfg := testCfg
	cfg.Profiles = []Profile{{Name: "home-isp", Title: "Home ISP", Titles: map[string]string{"de": "Privater Internetanschluss"}}}
	cfg.DefaultProfile = "home-isp"
	h := newSite(cfg, testStatic(t, true)).routes()
	for lang, want := range map[string]string{"de": "Privater Internetanschluss (home-isp)", "es": "Home ISP (home-isp)", "en": "Home ISP (home-isp)"} {
		doc := parse(t, get(t, h, "/playground?lang="+lang))
		var got string
		walk(doc, func(n *html.Node) {
			if v, _ := attr(n, "value"); v == "home-isp" && n.Data == "option" {
				got = textOf(n)
			}
		})
		if got != want {
			t.Errorf("%s: menu %q, want %q", lang, got, want)
		}
	}
}

// TestBoardRolesInLanguage: the port board names each door's role from
// the catalog in the page language, and every role has words (no cell
// shows a bare catalog key).
func TestBoardRolesInLanguage(t *testing.T) {
	h := newSite(testCfg, testStatic(t, true)).routes()
	for lang, want := range map[string]string{"de": "Einlieferung", "pt-BR": "envio", "en": "submission"} {
		doc := parse(t, get(t, h, "/playground?lang="+lang))
		roles := map[string]string{}
		walk(doc, func(n *html.Node) {
			if id, _ := attr(n, "id"); strings.HasPrefix(id, "port-") {
				walk(n, func(c *html.Node) {
					if cl, _ := attr(c, "class"); cl == "port-svc" {
						roles[id] = textOf(c)
					}
				})
			}
		})
		if roles["port-587"] != want {
			t.Errorf("%s: port 587 is %q, want %q", lang, roles["port-587"], want)
		}
		for id, r := range roles {
			if r == "" || strings.HasPrefix(r, "board.role.") {
				t.Errorf("%s: %s has role %q", lang, id, r)
			}
		}
		if len(roles) != len(boardPorts) {
			t.Errorf("%s: %d cells with a role, want %d", lang, len(roles), len(boardPorts))
		}
	}
}

// TestClientsRoleInLanguage: the "your own client" page names each
// listener's role in the page language.
func TestClientsRoleInLanguage(t *testing.T) {
	h := newSite(testCfg, testStatic(t, true)).routes()
	for lang, want := range map[string]string{"de": "Einlieferung", "es": "envío", "en": "submission"} {
		var spans []string
		walk(parse(t, get(t, h, "/clients?lang="+lang)), func(n *html.Node) {
			if cl, _ := attr(n, "class"); cl == "muted" && n.Data == "span" {
				spans = append(spans, textOf(n))
			}
		})
		if !slices.ContainsFunc(spans, func(s string) bool { return strings.Contains(s, ", "+want+")") }) {
			t.Errorf("%s: no listener shown as %q", lang, want)
		}
	}
}

func TestScriptsSayNoEnglish(t *testing.T) {
	call := regexp.MustCompile(`\bt\("([a-z0-9.-]+)"`)
	english := i18n.English()
	for file, gone := range map[string][]string{
		"static/common.js": nil,
		"static/app.js":    {`"none (plaintext)"`, `"(no subject)"`, `"plaintext"`, `"port "`, `|| "yes"`, `|| "none"`},
		"static/teach.js":  {`" · step "`, `"not in a lesson yet"`, `" s ago"`, `"Lock joining"`, `"(nothing yet)"`, `= "live"`, `"You are joining "`, `" · no TLS"`, `"stuck: "`},
	} {
		prefix := ""
		if file == "static/teach.js" {
			prefix = "teach.js." // its t() adds the prefix
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range call.FindAllStringSubmatch(src, -1) {
			if _, ok := english[prefix+m[1]]; !ok {
				t.Errorf("%s: t(%q) is not in the English catalog", file, m[1])
			}
		}
		for _, s := range gone {
			if strings.Contains(src, s) {
				t.Errorf("%s still writes %s in English", file, s)
			}
		}
	}
}

// When a lesson page cannot fetch its lesson, the student reads why and
// what to do: reload the page, in the words app.client.stopped uses for
// the same act, then whom to tell.
func TestNoLessonsSaysWhatToDo(t *testing.T) {
	reload := map[string]string{
		"en": "Reload the page", "pt-PT": "Recarrega a página", "pt-BR": "Recarregue a página",
		"es": "Recarga la página", "it": "Ricarica la pagina", "de": "Lade die Seite neu",
	}
	for _, lang := range i18n.Languages {
		cat := locales.Catalog(lang)
		got := cat.T("player.no-lessons", "GET /lessons-src/x.md: 503")
		if !strings.Contains(cat.T("app.client.stopped"), reload[lang]) {
			t.Errorf("%s: app.client.stopped %q does not say %q", lang, cat.T("app.client.stopped"), reload[lang])
		}
		if !strings.Contains(got, "(GET /lessons-src/x.md: 503)") || !strings.Contains(got, reload[lang]) || !strings.HasSuffix(got, ".") {
			t.Errorf("%s: player.no-lessons %q: want the reason in brackets, %q and a full stop", lang, got, reload[lang])
		}
	}
}

func TestMessageBodyInLanguage(t *testing.T) {
	h := testHandler(t, true)
	for _, lang := range i18n.Languages {
		body := byTestID(parse(t, get(t, h, "/playground?lang="+lang)), "msg-body")
		if body == nil {
			t.Fatal("no msg-body")
		}
		if got, want := textOf(body), locales.Catalog(lang).T("msg.body-default"); got != want {
			t.Errorf("%s: body %q, want %q", lang, got, want)
		}
	}
}

func TestTeachPagesInLanguage(t *testing.T) {
	h := testHandler(t, true)
	for _, lang := range locales.Complete {
		cat := locales.Catalog(lang)
		for _, path := range []string{"/teach", "/join"} {
			body := elements(parse(t, get(t, h, path+"?lang="+lang)), "body")[0]
			raw, _ := attr(body, "data-ui")
			var ui map[string]any
			if err := json.Unmarshal([]byte(raw), &ui); err != nil {
				t.Fatalf("%s %s: data-ui: %v", lang, path, err)
			}
			if got, want := ui["teach.js.not-in-lesson"], cat.T("teach.js.not-in-lesson"); got != want || want == i18n.EnglishCatalog.T("teach.js.not-in-lesson") {
				t.Errorf("%s %s: teach.js.not-in-lesson %q, want %q", lang, path, got, want)
			}
		}
		if got, en := filterOptions(t, h, lang), filterOptions(t, h, "en"); len(got) == 0 || len(got) != len(en) || got[0] == en[0] {
			t.Errorf("%s: lesson filter %q, English %q", lang, got, en)
		}
	}
}

func filterOptions(t *testing.T, h http.Handler, lang string) []string {
	var options []string
	for _, o := range elements(byTestID(parse(t, get(t, h, "/teach/classes/x?lang="+lang)), "filter"), "option") {
		if v, _ := attr(o, "value"); strings.HasPrefix(v, "lesson:") {
			options = append(options, textOf(o))
		}
	}
	return options
}
