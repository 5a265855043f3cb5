package i18n

import (
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	for _, tt := range []struct {
		name, query, cookie, accept string
		want                        string
		src                         Source
	}{
		{"query wins", "de", "es", "it", "de", FromQuery},
		{"query case-insensitive", "PT-br", "", "", "pt-BR", FromQuery},
		{"unknown query, then cookie", "fr", "es", "it", "es", FromCookie},
		{"unknown cookie, then header", "", "xx", "it-IT,it;q=0.9", "it", FromHeader},
		{"bare pt is Brazil", "", "", "pt", "pt-BR", FromHeader},
		{"pt-PT preferred", "", "", "pt-PT,pt;q=0.9,en;q=0.5", "pt-PT", FromHeader},
		{"Portugal's family: Angola", "", "", "pt-AO", "pt-PT", FromHeader},
		{"pt-BR", "", "", "pt-BR,pt;q=0.9", "pt-BR", FromHeader},
		{"regional German", "", "", "de-CH", "de", FromHeader},
		{"second choice", "", "", "fr-FR,fr;q=0.9,es;q=0.5", "es", FromHeader},
		{"unknown language", "", "", "fr-FR,fr;q=0.9", "en", FromDefault},
		{"wildcard", "", "", "*", "en", FromDefault},
		{"garbage header", "", "", ";;;q=x", "en", FromDefault},
		{"nothing", "", "", "", "en", FromDefault},
	} {
		got, src := Negotiate(tt.query, tt.cookie, tt.accept)
		if got != tt.want || src != tt.src {
			t.Errorf("%s: Negotiate(%q, %q, %q) = %q, %v; want %q, %v", tt.name, tt.query, tt.cookie, tt.accept, got, src, tt.want, tt.src)
		}
	}
}

func TestLanguagesHaveNames(t *testing.T) {
	if Languages[0] != Default {
		t.Errorf("Languages start with %q, want the source %q", Languages[0], Default)
	}
	for _, l := range Languages {
		if Name(l) == "" {
			t.Errorf("%s has no name for the picker", l)
		}
	}
}

func TestEnglishCatalog(t *testing.T) {
	if len(English()) == 0 {
		t.Fatal("empty English catalog")
	}
	for k, m := range English() {
		if m.Empty() {
			t.Errorf("en: %s is empty", k)
		}
	}
}

func TestFallbackAndPlurals(t *testing.T) {
	de, err := NewCatalog("de", Messages{
		"engine.new-messages": {Plural: map[string]string{"one": "%d neue Nachricht", "other": "%d neue Nachrichten"}},
		"nav.playground":      {Text: ""}, // not translated yet
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		c    *Catalog
		n    int
		want string
	}{
		{EnglishCatalog, 0, "0 new messages"},
		{EnglishCatalog, 1, "1 new message"},
		{EnglishCatalog, 2, "2 new messages"},
		{de, 1, "1 neue Nachricht"},
		{de, 1234, "1.234 neue Nachrichten"}, // German digit grouping
	} {
		if got := tt.c.T("engine.new-messages", tt.n); got != tt.want {
			t.Errorf("%s: %d = %q, want %q", tt.c.Lang, tt.n, got, tt.want)
		}
	}
	if got, want := de.T("nav.playground"), EnglishCatalog.T("nav.playground"); got != want || got == "" {
		t.Errorf("untranslated key: %q, want English %q", got, want)
	}
	if m := Missing(Messages{"nav.playground": {Text: ""}}); len(m) != len(English()) || !strings.HasPrefix(strings.Join(m, " "), "") {
		t.Errorf("Missing lists %d keys, want all %d", len(m), len(English()))
	}
	var nilCat *Catalog
	if nilCat.T("nav.playground") != EnglishCatalog.T("nav.playground") {
		t.Error("a nil catalog does not print English")
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{`[]`, `{"a": 1}`, `{"a": {"one": "x"}}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}
