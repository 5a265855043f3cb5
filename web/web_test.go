package web

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portlab/portlab/scenarios"
	"golang.org/x/net/html"
)

var testCfg = Config{
	CAPEM: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
	Profiles: []Profile{
		{Name: "datacenter", Title: "Data center", Description: "nothing blocked"},
		{Name: "home-isp", Title: "Home ISP", Description: "outbound 25 refused"},
	},
	Hosts: []Host{
		{Name: "mx.sandbox.test", Title: "the class MX", Doors: []Door{{25, "SMTP"}}},
		{Name: "smtp.relay.test", Title: "a delivery service", Doors: []Door{{587, "submission"}, {2525, "submission"}}},
	},
	Listeners: []Listener{
		{LessonPort: 587, Addr: "0.0.0.0:10587", Host: "smtp.relay.test", Role: "submission", TLS: "starttls-required", Auth: "required"},
		{LessonPort: 465, Addr: "127.0.0.1:10465", Host: "legacy.mail.test", Role: "submission", TLS: "implicit", Auth: "required"},
		{LessonPort: 25, Addr: ":10025", Host: "mx.sandbox.test", Role: "relay", TLS: "starttls", Auth: "none"},
	},
	AllowOrigins: []string{"https://docs.example.org"},
	Version:      "test-1",
}

// fakeWasm is the content the tests embed as the wasm client.
var fakeWasm = bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00 portlab test wasm "), 400)

// testStatic is the real static directory, plus a fake built client when
// withClient.
func testStatic(t *testing.T, withClient bool) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	for _, name := range []string{"style.css", "common.js", "app.js", "teach.js", "projector.css", "favicon.svg"} {
		b, err := os.ReadFile("static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = &fstest.MapFile{Data: b}
	}
	if withClient {
		br, gz := compress(fakeWasm)
		m["wasm/portlab.wasm.br"] = &fstest.MapFile{Data: br}
		m["wasm/portlab.wasm.gz"] = &fstest.MapFile{Data: gz}
		m["wasm/wasm_exec.js"] = &fstest.MapFile{Data: []byte("globalThis.Go = class {};")}
	}
	return m
}

func testHandler(t *testing.T, withClient bool) http.Handler {
	t.Helper()
	return newSite(testCfg, testStatic(t, withClient)).routes()
}

func get(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Host = "class.example:8080"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func parse(t *testing.T, resp *http.Response) *html.Node {
	t.Helper()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func byTestID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if v, ok := attr(n, "data-testid"); ok && v == id && found == nil {
			found = n
		}
	})
	return found
}

func elements(doc *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Data == tag {
			out = append(out, n)
		}
	})
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// expect is one declared expectation of a component test: the element with
// data-testid ID exists and, when Attr is set, has that attribute value;
// when Text is set, its text contains it. Absent inverts the test.
type expect struct {
	ID     string
	Attr   string
	Value  string
	Text   string
	Absent bool
}

func TestPages(t *testing.T) {
	tests := []struct {
		path   string
		client bool
		status int
		expect []expect
	}{
		{"/", true, 200, []expect{
			{ID: "lesson-list"},
			{ID: "lesson-first-contact", Text: "First contact"},
			{ID: "progress-first-contact", Attr: "data-state", Value: "new"},
			{ID: "terminal", Absent: true},
		}},
		{"/playground", true, 200, []expect{
			{ID: "port-board"},
			{ID: "port-25", Attr: "data-state", Value: "untried"},
			{ID: "port-465", Attr: "data-state", Value: "untried"},
			{ID: "port-587", Attr: "data-state", Value: "untried"},
			{ID: "port-587", Attr: "data-listed", Value: "true"},
			{ID: "port-25", Attr: "data-listed", Value: "false"},
			{ID: "port-2525", Attr: "data-state", Value: "untried"},
			{ID: "port-143", Attr: "data-state", Value: "untried"},
			{ID: "port-993", Text: "IMAPS"},
			{ID: "port-110", Text: "POP3"},
			{ID: "port-995", Attr: "data-state", Value: "untried"},
			{ID: "terminal-state", Attr: "data-state", Value: "idle"},
			// The transcript is no live region (a lesson played at once
			// would be read line by line): a polite one says the states.
			{ID: "transcript", Attr: "role", Value: ""},
			{ID: "transcript", Attr: "aria-live", Value: ""},
			{ID: "term-announce", Attr: "aria-live", Value: "polite"},
			{ID: "terminal-input", Attr: "placeholder", Value: "telnet mx.sandbox.test 25"},
			{ID: "transcript-copy"},
			{ID: "transcript-download"},
			{ID: "transcript-clear"},
			{ID: "terminal-input"},
			{ID: "client-loader", Attr: "data-state", Value: "loading"},
			{ID: "client-missing", Absent: true},
			{ID: "mailbox"},
			{ID: "lab"},
			{ID: "auth-user", Attr: "value", Value: "foo"},
			{ID: "auth-pass", Attr: "value", Value: "barbaz"},
		}},
		{"/playground?profile=datacenter&host=mx.sandbox.test", true, 200, []expect{
			{ID: "port-25", Attr: "data-listed", Value: "true"},
			{ID: "connect-host", Attr: "value", Value: "mx.sandbox.test"},
		}},
		{"/playground", false, 200, []expect{
			{ID: "client-missing", Text: "the browser client was not built: run make build"},
			{ID: "client-loader", Absent: true},
			{ID: "terminal-state", Attr: "data-state", Value: "idle"},
		}},
		{"/mailbox", true, 200, []expect{
			{ID: "mailbox", Attr: "data-state", Value: "loading"},
			{ID: "message-raw"},
			{ID: "message-headers"},
			{ID: "terminal", Absent: true},
		}},
		{"/ports", true, 200, []expect{
			{ID: "ports-table"},
			{ID: "port-row-25", Text: "relay"},
			{ID: "port-row-465", Text: "RFC 8314"},
			{ID: "port-row-587", Text: "with the client requiring STARTTLS"},
			{ID: "port-row-2525", Text: "fallback"},
			{ID: "port-row-2525", Text: "not an SMTP port"},
			{ID: "rfc8314", Text: "recommends implicit TLS"},
			// The history of 465 with its sources (issue 11's corrections).
			{ID: "rfc8314", Text: "RFC 2487 in 1999"},
			{ID: "rfc8314", Text: "RFC 8314 §7.3"},
			// One verdict, the same as the lessons' and the README's.
			{ID: "verdict", Text: "465 or 587, either way with the client set to require TLS"},
			{ID: "verdict", Text: "2525 when both are blocked"},
			{ID: "verdict", Text: "25 never to submit mail"},
		}},
		{"/clients", true, 200, []expect{
			{ID: "ca-link", Attr: "href", Value: "/ca.pem"},
			{ID: "listener-587", Text: "swaks --server class.example:10587"},
			{ID: "listener-587", Text: "-starttls smtp -servername smtp.relay.test"},
			{ID: "listener-465", Text: "--tlsc"},
			{ID: "listener-465", Text: "smtps://legacy.mail.test:465"},
			{ID: "listener-25", Text: "telnet class.example 10025"},
			{ID: "no-listeners", Absent: true},
		}},
		{"/lessons/first-contact", true, 200, []expect{
			{ID: "scenario-status", Attr: "data-state", Value: "idle"},
			{ID: "lesson", Attr: "data-lesson", Value: "first-contact"},
			{ID: "step-0", Attr: "data-typed", Value: "true"},
			{ID: "step-0", Text: "telnet"},
			{ID: "terminal-state", Attr: "data-state", Value: "idle"},
			{ID: "lesson-play-step", Text: "Play this step for me"},
			{ID: "steps"},
		}},
		{"/embed/playground", true, 200, []expect{
			{ID: "port-board"},
			{ID: "terminal-state", Attr: "data-state", Value: "idle"},
			{ID: "lab", Absent: true},
		}},
		{"/embed/lessons/first-contact", true, 200, []expect{
			{ID: "scenario-status", Attr: "data-state", Value: "idle"},
		}},
		{"/lessons/no-such-lesson", true, 404, nil},
		{"/nowhere", true, 404, nil},
	}
	for _, tt := range tests {
		name := tt.path
		if !tt.client {
			name += " without client"
		}
		t.Run(name, func(t *testing.T) {
			resp := get(t, testHandler(t, tt.client), tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			doc := parse(t, resp)
			for _, e := range tt.expect {
				n := byTestID(doc, e.ID)
				if e.Absent {
					if n != nil {
						t.Errorf("%s: present, want absent", e.ID)
					}
					continue
				}
				if n == nil {
					t.Errorf("%s: missing", e.ID)
					continue
				}
				if e.Attr != "" {
					if v, _ := attr(n, e.Attr); v != e.Value {
						t.Errorf("%s: %s=%q, want %q", e.ID, e.Attr, v, e.Value)
					}
				}
				if e.Text != "" && !strings.Contains(strings.ToLower(textOf(n)), strings.ToLower(e.Text)) {
					t.Errorf("%s: text %q does not contain %q", e.ID, textOf(n), e.Text)
				}
			}
		})
	}
}

func TestBodyCarriesClientFacts(t *testing.T) {
	resp := get(t, testHandler(t, true), "/embed/lessons/first-contact?autoplay=1")
	doc := parse(t, resp)
	body := elements(doc, "body")[0]
	want := map[string]string{
		"data-page":     "lesson",
		"data-lesson":   "first-contact",
		"data-autoplay": "1",
		"data-embed":    "1",
		"data-origins":  "https://docs.example.org",
	}
	for k, v := range want {
		if got, _ := attr(body, k); got != v {
			t.Errorf("body %s=%q, want %q", k, got, v)
		}
	}
	url, _ := attr(body, "data-wasm-url")
	if !strings.HasPrefix(url, "/static/") || !strings.HasSuffix(url, "/wasm/portlab.wasm") {
		t.Errorf("data-wasm-url %q", url)
	}
	if size, _ := attr(body, "data-wasm-size"); size != strconv.Itoa(len(fakeWasm)) {
		t.Errorf("data-wasm-size %q, want the uncompressed size", size)
	}
	// The playground page of a binary without the client names no wasm.
	doc = parse(t, get(t, testHandler(t, false), "/playground"))
	if v, ok := attr(elements(doc, "body")[0], "data-wasm-url"); ok {
		t.Errorf("data-wasm-url %q without a client", v)
	}
}

// The helpers app.js and teach.js share (common.js: the JSON API, the
// page language's words) load first on every page, from their hashed
// address that is cached for a year like the other scripts.
func TestCommonScriptFirst(t *testing.T) {
	h := testHandler(t, true)
	for _, path := range []string{"/", "/lessons/first-contact", "/embed/lessons/first-contact", "/teach", "/teach/classes/x", "/join", "/teach/project?lesson=first-contact"} {
		var names []string
		var common string
		for _, s := range elements(parse(t, get(t, h, path)), "script") {
			src, _ := attr(s, "src")
			names = append(names, src[strings.LastIndexByte(src, '/')+1:])
			if strings.HasSuffix(src, "/common.js") {
				common = src
			}
		}
		if len(names) < 2 || names[0] != "common.js" {
			t.Errorf("%s: scripts %q, want common.js first", path, names)
			continue
		}
		resp := get(t, h, common)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: %s: %d %q %q", path, common, resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
		}
	}
}

// TestNoInlineCode checks what the CSP would block: inline scripts, event
// handler attributes and style attributes.
func TestNoInlineCode(t *testing.T) {
	h := testHandler(t, true)
	for _, path := range []string{"/", "/playground", "/mailbox", "/ports", "/clients", "/lessons/first-contact", "/embed/playground", "/embed/lessons/first-contact", "/nope", "/teach", "/teach/classes/x", "/join", "/join/abc123"} {
		doc := parse(t, get(t, h, path))
		walk(doc, func(n *html.Node) {
			if n.Data == "script" {
				if src, ok := attr(n, "src"); !ok || src == "" || n.FirstChild != nil {
					t.Errorf("%s: inline script", path)
				}
			}
			if n.Data == "style" {
				t.Errorf("%s: <style> element", path)
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
					t.Errorf("%s: <%s %s=%q>", path, n.Data, a.Key, a.Val)
				}
			}
		})
	}
}

// TestAccessibleBasics checks what keyboard and screen reader users need
// on every page: a language, a skip link to main, one h1, labelled
// controls.
func TestAccessibleBasics(t *testing.T) {
	h := testHandler(t, true)
	for _, path := range []string{"/", "/playground", "/mailbox", "/ports", "/clients", "/lessons/first-contact", "/lab/policy", "/teach", "/teach/classes/x", "/join", "/join/abc123"} {
		doc := parse(t, get(t, h, path))
		if lang, _ := attr(elements(doc, "html")[0], "lang"); lang != "en" {
			t.Errorf("%s: html lang=%q", path, lang)
		}
		if n := len(elements(doc, "h1")); n != 1 {
			t.Errorf("%s: %d h1 elements", path, n)
		}
		if len(elements(doc, "main")) != 1 {
			t.Errorf("%s: no main", path)
		}
		labels := map[string]bool{}
		for _, l := range elements(doc, "label") {
			if f, ok := attr(l, "for"); ok {
				labels[f] = true
			}
		}
		for _, tag := range []string{"input", "select", "textarea"} {
			for _, n := range elements(doc, tag) {
				id, _ := attr(n, "id")
				_, aria := attr(n, "aria-label")
				typ, _ := attr(n, "type")
				if typ == "checkbox" && n.Parent != nil && n.Parent.Data == "label" || typ == "hidden" {
					continue
				}
				if !labels[id] && !aria {
					t.Errorf("%s: <%s id=%q> has no label", path, tag, id)
				}
			}
		}
		for _, b := range elements(doc, "button") {
			_, aria := attr(b, "aria-label")
			if textOf(b) == "" && !aria {
				t.Errorf("%s: button without a name", path)
			}
		}
	}
}

// TestJoinPage: the join page says what the teacher sees before the
// student types a name, carries the link's code, and asks for a code
// only when the link had none.
func TestJoinPage(t *testing.T) {
	h := testHandler(t, true)
	doc := parse(t, get(t, h, "/join/abc123"))
	if n := byTestID(doc, "join-notice"); n == nil || !strings.Contains(textOf(n), "progress") || !strings.Contains(textOf(n), "transcripts") {
		t.Error("/join/CODE: no notice that the teacher sees progress and transcripts")
	}
	var form *html.Node
	walk(doc, func(n *html.Node) {
		if id, _ := attr(n, "id"); id == "join-form" {
			form = n
		}
	})
	if code, _ := attr(form, "data-code"); code != "ABC123" {
		t.Errorf("/join/abc123: form code %q, want ABC123", code)
	}
	if byTestID(doc, "join-code") != nil {
		t.Error("/join/CODE asks for the code again")
	}
	if byTestID(parse(t, get(t, h, "/join")), "join-code") == nil {
		t.Error("/join does not ask for the code")
	}
}

// A lesson's connect form starts empty: tls-before-auth's first step is
// to connect to smtp.relay.test on 587, which a filled form would give
// away. The playground keeps its ready-to-use form.
func TestLessonConnectFormEmpty(t *testing.T) {
	h := testHandler(t, true)
	form := func(path string) (host, port string) {
		doc := parse(t, get(t, h, path))
		for _, in := range elements(doc, "input") {
			id, _ := attr(in, "id")
			v, _ := attr(in, "value")
			switch id {
			case "connect-host":
				host = v
			case "connect-port":
				port = v
			}
		}
		return host, port
	}
	if host, port := form("/lessons/tls-before-auth"); host != "" || port != "" {
		t.Errorf("lesson connect form holds %q %q", host, port)
	}
	if host, port := form("/playground"); host != "smtp.relay.test" || port != "587" {
		t.Errorf("playground connect form holds %q %q", host, port)
	}
}

// ?pace=MS reaches the player as data-pace, within 0..5000 ms; the full
// page an embed links to drops it with autoplay.
func TestLessonPace(t *testing.T) {
	h := testHandler(t, true)
	for q, want := range map[string]string{"?pace=0": "0", "?pace=250": "250", "?pace=9000": "", "?pace=x": "", "": ""} {
		body := elements(parse(t, get(t, h, "/embed/lessons/first-contact"+q)), "body")[0]
		if got, _ := attr(body, "data-pace"); got != want {
			t.Errorf("%q: data-pace %q, want %q", q, got, want)
		}
	}
	doc := parse(t, get(t, h, "/embed/lessons/first-contact?autoplay=1&pace=0&lang=en"))
	for _, a := range elements(doc, "a") {
		if href, _ := attr(a, "href"); strings.Contains(href, "pace=") {
			t.Errorf("link %q keeps pace", href)
		}
	}
}

// The projector shows a lesson as the lesson page does: ?pace= and
// ?autoplay= reach the player there too, so a teacher's link can set the
// pace the class watches at.
func TestProjectorLessonPace(t *testing.T) {
	h := testHandler(t, true)
	body := elements(parse(t, get(t, h, "/teach/project?lesson=first-contact&pace=0&autoplay=1")), "body")[0]
	for k, want := range map[string]string{"data-pace": "0", "data-autoplay": "1", "data-lesson": "first-contact", "data-page": "lesson", "data-projector": "1"} {
		if got, _ := attr(body, k); got != want {
			t.Errorf("projector %s=%q, want %q", k, got, want)
		}
	}
	if resp := get(t, h, "/teach/project?lesson=nope&pace=0"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("projector of an unknown lesson: %d, want 404", resp.StatusCode)
	}
}

// A lesson page names the lesson file it plays and, in another language,
// its translation: the wasm client carries no lessons and fetches them.
func TestLessonSourcesServed(t *testing.T) {
	h := testHandler(t, true)
	body := elements(parse(t, get(t, h, "/lessons/first-contact?lang=pt-BR")), "body")[0]
	src, _ := attr(body, "data-lesson-url")
	text, _ := attr(body, "data-lesson-text-url")
	if !strings.HasPrefix(src, "/lessons-src/") || !strings.HasSuffix(src, "/first-contact.md") || !strings.HasSuffix(text, "/first-contact.pt-BR.md") {
		t.Fatalf("data-lesson-url %q, data-lesson-text-url %q", src, text)
	}
	for _, u := range []string{src, text} {
		resp := get(t, h, u)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("---\n")) || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %q, %d bytes", u, resp.StatusCode, resp.Header.Get("Cache-Control"), len(b))
		}
	}
	body = elements(parse(t, get(t, h, "/lessons/first-contact")), "body")[0]
	if v, ok := attr(body, "data-lesson-text-url"); ok {
		t.Errorf("an English page names a translation: %q", v)
	}
}

// The course map lists every lesson of scenarios/lessons/COURSE, in its
// order: at least the 17 of the course the issue set out.
func TestCourseMapOrder(t *testing.T) {
	doc := parse(t, get(t, testHandler(t, true), "/course"))
	var got []string
	for _, li := range elements(doc, "li") {
		if name, ok := attr(li, "data-lesson"); ok {
			got = append(got, name)
		}
	}
	var want []string
	for _, l := range scenarios.List() {
		want = append(want, l.Name)
	}
	if len(got) < 17 || !slices.Equal(got, want) {
		t.Errorf("course map %v, want the %d lessons of COURSE in order %v", got, len(want), want)
	}
	// The ten first lessons keep the order the course issue set.
	prev := -1
	for _, name := range []string{"first-contact", "port-25-relay", "tls-before-auth", "fallback-2525", "port-465-implicit-tls", "starttls-stripping", "open-relay", "hop-by-hop", "bounces", "outbound-tls"} {
		j := slices.Index(got, name)
		if j <= prev {
			t.Errorf("%s is missing or out of the course's order: %v", name, got)
		}
		prev = j
	}
}
