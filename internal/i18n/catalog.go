package i18n

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// Message is one catalog entry: a Printf format, or plural forms keyed
// by CLDR category ("zero", "one", "two", "few", "many", "other") or an
// exact count ("=0"), chosen by the message's first argument.
type Message struct {
	Text   string
	Plural map[string]string
}

// UnmarshalJSON reads a string or an object of plural forms.
func (m *Message) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &m.Text); err == nil {
		return nil
	}
	m.Text = ""
	if err := json.Unmarshal(b, &m.Plural); err != nil {
		return fmt.Errorf("a message is a string or an object of plural forms: %w", err)
	}
	if !m.Empty() && m.Plural["other"] == "" {
		return fmt.Errorf("plural forms need \"other\"")
	}
	return nil
}

// Empty reports a message not translated yet: a translator's file holds
// every key, with "" (or empty plural forms) where the text is to come.
func (m Message) Empty() bool {
	for _, v := range m.Plural {
		if v != "" {
			return false
		}
	}
	return m.Text == ""
}

// Messages are one language's catalog file: message key to message.
type Messages map[string]Message

// Parse reads a catalog file (locales/LANG.json).
func Parse(data []byte) (Messages, error) {
	var m Messages
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

//go:embed locales/en.json
var englishJSON []byte

var english = func() Messages {
	m, err := Parse(englishJSON)
	if err != nil {
		panic("i18n: locales/en.json: " + err.Error()) // TestEnglish rules this out
	}
	return m
}()

// English is the source catalog: every key there is.
func English() Messages { return english }

// Missing lists the keys of the English catalog that translated lacks,
// sorted: the strings that language shows in English.
func Missing(translated Messages) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(english)) {
		if m, ok := translated[k]; !ok || m.Empty() {
			out = append(out, k)
		}
	}
	return out
}

// Catalog prints one language's messages, falling back to English for
// each key the language's file lacks. Numbers are formatted for the
// language (x/text/message: "1.234" in German).
type Catalog struct {
	Lang string
	p    *message.Printer
}

// pluralOrder is the order x/text/feature/plural tries cases in: exact
// counts first, then CLDR categories, "other" last.
var pluralOrder = []string{"zero", "one", "two", "few", "many", "other"}

// NewCatalog builds lang's catalog from its file's messages (nil for
// English alone).
func NewCatalog(lang string, translated Messages) (*Catalog, error) {
	tag, err := language.Parse(lang)
	if err != nil {
		return nil, err
	}
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	set := func(key string, m Message) error {
		if m.Plural == nil {
			return b.SetString(tag, key, m.Text)
		}
		var cases []any
		for _, k := range slices.Sorted(maps.Keys(m.Plural)) {
			if len(k) > 1 && k[0] == '=' {
				cases = append(cases, k, m.Plural[k])
			}
		}
		for _, k := range pluralOrder {
			if v, ok := m.Plural[k]; ok {
				cases = append(cases, k, v)
			}
		}
		return b.Set(tag, key, plural.Selectf(1, "%d", cases...))
	}
	for k, m := range english {
		if t, ok := translated[k]; !ok || t.Empty() {
			if err := set(k, m); err != nil {
				return nil, fmt.Errorf("en: %s: %w", k, err)
			}
		}
	}
	for k, m := range translated {
		if m.Empty() {
			continue
		}
		if err := set(k, m); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", lang, k, err)
		}
	}
	return &Catalog{Lang: lang, p: message.NewPrinter(tag, message.Catalog(b))}, nil
}

// EnglishCatalog prints the source catalog; the engine and the wasm use
// it until they are given the page language's.
var EnglishCatalog = func() *Catalog {
	c, err := NewCatalog(Default, nil)
	if err != nil {
		panic("i18n: " + err.Error())
	}
	return c
}()

// T formats the message key with args in the catalog's language. A nil
// Catalog prints English.
func (c *Catalog) T(key string, args ...any) string {
	if c == nil {
		c = EnglishCatalog
	}
	return c.p.Sprintf(key, args...)
}
