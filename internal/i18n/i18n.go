// Package i18n is portlab's one home for languages: the list of page
// languages, choosing one for a request (?lang=, the picker's cookie,
// Accept-Language, BCP 47 matching) and the message catalogs that the
// pages, the wasm terminal and player and the lesson engine print from.
//
// Catalogs are data: locales/LANG.json, one object of message keys. A
// value is a Printf format ("%d", "%s"), or, for a message that depends on
// a count, an object of CLDR plural forms ({"one": "...", "other":
// "..."}), chosen by the language's rules (golang.org/x/text/feature/plural).
// English (locales/en.json) is complete and embedded here; every other
// language falls back to it string by string. The other languages'
// files live in package locales, which only the server embeds: the wasm
// fetches the active language's file, so its size does not grow with
// languages.
package i18n

import (
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// Default is the source language of every text and the fallback.
const Default = "en"

// Languages are the page languages, in the order the picker lists them;
// English first. Adding a language starts here (see the README,
// "Languages").
var Languages = []string{"en", "pt-PT", "pt-BR", "es", "it", "de"}

// Translations are the languages other than English: the ones lesson
// and explanation files are translated into.
var Translations = Languages[1:]

// names are the languages as their speakers write them, for the picker.
var names = map[string]string{
	"en":    "English",
	"pt-PT": "Português (Portugal)",
	"pt-BR": "Português (Brasil)",
	"es":    "Español",
	"it":    "Italiano",
	"de":    "Deutsch",
}

// Name is a language's name in that language ("Deutsch").
func Name(lang string) string { return names[lang] }

var (
	tags = func() []language.Tag {
		out := make([]language.Tag, len(Languages))
		for i, l := range Languages {
			out[i] = language.MustParse(l)
		}
		return out
	}()
	matcher = language.NewMatcher(tags)
)

// Supported returns the language of Languages that s names exactly
// (case aside: "PT-br" is pt-BR), or "".
func Supported(s string) string {
	s = strings.TrimSpace(s)
	i := slices.IndexFunc(Languages, func(l string) bool { return strings.EqualFold(l, s) })
	if i < 0 {
		return ""
	}
	return Languages[i]
}

// Source says where a request's language came from.
type Source int

const (
	FromDefault Source = iota
	FromQuery          // ?lang=
	FromCookie         // the picker's cookie
	FromHeader         // Accept-Language
)

// CookieName is the cookie the header's picker sets.
const CookieName = "lang"

// Negotiate chooses a request's language: ?lang= when it names one of
// Languages, then the picker's cookie, then the Accept-Language header
// matched with BCP 47 rules (golang.org/x/text/language's Matcher: a bare
// "pt" is pt-BR, CLDR's default region, while pt-PT and the regions CLDR
// derives from it, such as pt-AO, get pt-PT; de-CH gets de), else
// English.
func Negotiate(query, cookie, acceptLanguage string) (string, Source) {
	if l := Supported(query); l != "" {
		return l, FromQuery
	}
	if l := Supported(cookie); l != "" {
		return l, FromCookie
	}
	if l := Match(acceptLanguage); l != "" {
		return l, FromHeader
	}
	return Default, FromDefault
}

// Match is the language of Languages that best serves an Accept-Language
// header, or "" when none does.
func Match(acceptLanguage string) string {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return ""
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return ""
	}
	return Languages[i]
}
