//go:build !js

package i18n

import (
	"testing"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// TestPluralForms checks pluralForm against x/text's CLDR tables for
// every page language, for the counts a lesson can print.
func TestPluralForms(t *testing.T) {
	names := map[plural.Form]string{plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many", plural.Other: "other"}
	for _, lang := range Languages {
		tag := language.MustParse(lang)
		for n := 0; n <= 100000; n++ {
			want := names[plural.Cardinal.MatchPlural(tag, n, 0, 0, 0, 0)]
			if got := pluralForm(lang, n); got != want {
				t.Fatalf("%s: %d is %q, CLDR says %q", lang, n, got, want)
			}
		}
	}
}
