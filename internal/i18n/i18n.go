// Package i18n is portlab's one home for languages: the list of page
// languages, choosing one for a request (?lang=, the picker's cookie,
// Accept-Language, BCP 47 matching) and the message catalogs that the
// pages, the wasm terminal and player and the lesson engine print from.
//
// The wasm client imports this package too, so what it links stays
// small: golang.org/x/text (the BCP 47 matcher, CLDR plural tables and
// number formats, some 100 kB brotli) is linked only outside js builds.
// Negotiation is the server's alone; plural forms come from rules
// checked against x/text's CLDR data (plural_test.go); numbers are
// formatted by x/text/message on the server and by fmt in the browser.
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
