package i18n

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"strconv"
	"strings"
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
// language where x/text is linked (format_other.go: "1.234" in German).
type Catalog struct {
	Lang string
	msgs Messages
}

// NewCatalog builds lang's catalog from its file's messages (nil for
// English alone).
func NewCatalog(lang string, translated Messages) (*Catalog, error) {
	if Supported(lang) != lang {
		return nil, fmt.Errorf("i18n: no language %q (want one of %v)", lang, Languages)
	}
	msgs := make(Messages, len(english))
	for k, m := range english {
		msgs[k] = m
	}
	for k, m := range translated {
		if m.Empty() {
			continue
		}
		if _, ok := english[k]; !ok {
			continue // a key English no longer has (the locales test reports it)
		}
		if m.Plural != nil && m.Plural["other"] == "" {
			return nil, fmt.Errorf("%s: %s: plural forms need \"other\"", lang, k)
		}
		msgs[k] = m
	}
	return &Catalog{Lang: lang, msgs: msgs}, nil
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

// T formats the message key with args in the catalog's language; a
// plural message picks its form by its first argument, an int. A key
// not in the catalog prints as itself. A nil Catalog prints English.
func (c *Catalog) T(key string, args ...any) string {
	if c == nil {
		c = EnglishCatalog
	}
	m, ok := c.msgs[key]
	if !ok {
		return key
	}
	text := m.Text
	if m.Plural != nil {
		n, _ := firstInt(args)
		text = m.Plural["other"]
		if t, ok := m.Plural["="+strconv.Itoa(n)]; ok {
			text = t
		} else if t, ok := m.Plural[pluralForm(c.Lang, n)]; ok {
			text = t
		}
	}
	if len(args) == 0 {
		return text
	}
	return sprintf(c.Lang, text, args...)
}

func firstInt(args []any) (int, bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch n := args[0].(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	}
	return 0, false
}

// Messages returns the catalog's messages whose keys start with prefix,
// each a string or its plural forms, unformatted: the page script
// (web/static/app.js) formats them itself (%s in order, plural forms by
// the browser's Intl.PluralRules).
func (c *Catalog) Messages(prefix string) map[string]any {
	if c == nil {
		c = EnglishCatalog
	}
	out := map[string]any{}
	for k, m := range c.msgs {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if m.Plural != nil {
			out[k] = m.Plural
		} else {
			out[k] = m.Text
		}
	}
	return out
}
