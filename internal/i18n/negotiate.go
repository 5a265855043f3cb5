//go:build !js

package i18n

import "golang.org/x/text/language"

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
