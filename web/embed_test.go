package web

import (
	"testing"

	"golang.org/x/net/html"
)

// TestEmbedThemeLangAndOpenLink: an /embed/ page takes ?theme= (light or
// dark, over prefers-color-scheme) and ?lang= (internal/i18n), and links to its full page, which keeps ?lang= and ?profile=
// but not what only an embedded page uses.
func TestEmbedThemeLangAndOpenLink(t *testing.T) {
	h := testHandler(t, true)
	colorScheme := func(doc *html.Node) string {
		for _, m := range elements(doc, "meta") {
			if name, _ := attr(m, "name"); name == "color-scheme" {
				v, _ := attr(m, "content")
				return v
			}
		}
		return ""
	}
	for _, tt := range []struct {
		path, theme, scheme, lang, open string
	}{
		{"/embed/lessons/first-contact?theme=dark&lang=en&autoplay=1", "dark", "dark", "en", "/lessons/first-contact?lang=en"},
		{"/embed/lessons/first-contact?theme=light", "light", "light", "en", "/lessons/first-contact"},
		{"/embed/lessons/first-contact?lang=pt-BR", "", "light dark", "pt-BR", "/lessons/first-contact?lang=pt-BR"},
		{"/embed/lessons/first-contact?theme=sepia&lang=xx", "", "light dark", "en", "/lessons/first-contact?lang=xx"},
		{"/embed/playground?profile=home-isp&theme=dark", "dark", "dark", "en", "/playground?profile=home-isp"},
		{"/lessons/first-contact?theme=dark", "", "light dark", "en", ""},
	} {
		doc := parse(t, get(t, h, tt.path))
		root := elements(doc, "html")[0]
		if got, _ := attr(root, "data-theme"); got != tt.theme {
			t.Errorf("%s: data-theme %q, want %q", tt.path, got, tt.theme)
		}
		if got := colorScheme(doc); got != tt.scheme {
			t.Errorf("%s: color-scheme %q, want %q", tt.path, got, tt.scheme)
		}
		if got, _ := attr(root, "lang"); got != tt.lang {
			t.Errorf("%s: lang %q, want %q", tt.path, got, tt.lang)
		}
		if body := elements(doc, "body")[0]; tt.open != "" {
			// The parent may switch the lab to these (wasm/embed.go).
			if got, _ := attr(body, "data-profiles"); got != "datacenter home-isp" {
				t.Errorf("%s: data-profiles %q", tt.path, got)
			}
		}
		link := byTestID(doc, "embed-open")
		switch {
		case tt.open == "" && link != nil:
			t.Errorf("%s: an open link on a full page", tt.path)
		case tt.open == "":
		case link == nil:
			t.Errorf("%s: no open link", tt.path)
		default:
			if href, _ := attr(link, "href"); href != tt.open {
				t.Errorf("%s: open link %q, want %q", tt.path, href, tt.open)
			}
			if target, _ := attr(link, "target"); target != "_blank" {
				t.Errorf("%s: open link target %q: it would open inside the frame", tt.path, target)
			}
		}
	}
}
