package locales

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/portlab/portlab/internal/i18n"
)

var update = flag.Bool("update", false, "add the English catalog's new keys to every LANG.json (empty, for translators) and drop the keys English no longer has")

func messages(t *testing.T, lang string) i18n.Messages {
	t.Helper()
	b := Data(lang)
	if b == nil {
		t.Fatalf("no %s.json", lang)
	}
	m, err := i18n.Parse(b)
	if err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	return m
}

// TestFiles: every language has a catalog file that parses, holds the
// English keys and no others (go test -update writes them), and whose
// translated messages keep the English verbs (%s, %d) so that Printf
// arguments still fit.
func TestFiles(t *testing.T) {
	if err := Err(); err != nil {
		t.Fatal(err)
	}
	en := i18n.English()
	for _, lang := range i18n.Translations {
		m := messages(t, lang)
		if *update {
			writeKeys(t, lang, m)
			m = messages(t, lang)
		}
		for _, k := range slices.Sorted(maps.Keys(en)) {
			tm, ok := m[k]
			if !ok {
				t.Errorf("%s.json lacks %q (go test ./internal/i18n/locales -update adds it)", lang, k)
				continue
			}
			if tm.Empty() {
				continue
			}
			if want, got := verbs(en[k]), verbs(tm); want != got {
				t.Errorf("%s.json %q: verbs %q, English has %q", lang, k, got, want)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				t.Errorf("%s.json has %q, which English no longer has (-update drops it)", lang, k)
			}
		}
	}
}

var verbRE = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`)

// verbs are a message's Printf verbs, sorted (a translation may reorder
// words, not arguments: it may use %[2]s only if English does).
func verbs(m i18n.Message) string {
	text := m.Text
	if m.Plural != nil {
		text = m.Plural["other"]
	}
	v := verbRE.FindAllString(text, -1)
	slices.Sort(v)
	return strings.Join(v, " ")
}

// TestUntranslated reports, per language, the UI strings still shown in
// English. It only reports: translators fill the files in their own
// time; TestCompleteLanguages holds a finished language to it.
func TestUntranslated(t *testing.T) {
	for _, lang := range i18n.Translations {
		missing := i18n.Missing(messages(t, lang))
		t.Logf("%s: %d of %d strings untranslated", lang, len(missing), len(i18n.English()))
		if testing.Verbose() && len(missing) > 0 {
			t.Logf("%s: %s", lang, strings.Join(missing, ", "))
		}
	}
}

// TestCompleteLanguages fails when a language declared complete
// (Complete) shows a string in English.
func TestCompleteLanguages(t *testing.T) {
	for _, lang := range Complete {
		if !slices.Contains(i18n.Translations, lang) {
			t.Errorf("Complete names %q, not a translation language", lang)
			continue
		}
		if missing := i18n.Missing(messages(t, lang)); len(missing) > 0 {
			t.Errorf("%s is declared complete but lacks %d strings: %s", lang, len(missing), strings.Join(missing, ", "))
		}
	}
}

// writeKeys rewrites LANG.json with every English key, keeping the
// translations there are and "" for the rest.
func writeKeys(t *testing.T, lang string, m i18n.Messages) {
	t.Helper()
	out := map[string]any{}
	for k, em := range i18n.English() {
		tm, ok := m[k]
		switch {
		case ok && !tm.Empty() && tm.Plural != nil:
			out[k] = tm.Plural
		case ok && !tm.Empty():
			out[k] = tm.Text
		case em.Plural != nil:
			empty := map[string]string{}
			for c := range em.Plural {
				empty[c] = ""
			}
			out[k] = empty
		default:
			out[k] = ""
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lang+".json", b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
