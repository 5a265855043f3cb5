package i18n

import (
	"slices"
	"testing"
)

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
	// An empty text is as good as missing: every English key is listed,
	// nav.playground among them.
	if m := Missing(Messages{"nav.playground": {Text: ""}}); len(m) != len(English()) || !slices.Contains(m, "nav.playground") {
		t.Errorf("Missing lists %d keys, want all %d, nav.playground among them", len(m), len(English()))
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
