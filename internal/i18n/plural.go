package i18n

// pluralForm is the CLDR cardinal plural category of a whole number n in
// lang (CLDR's plurals.xml; integers only, the counts portlab prints).
// For the page languages there are two rules: "one" for 1 alone (en, de,
// es, it, pt-PT: "i = 1 and v = 0"; es "n = 1"), and "one" for 0 and 1
// (pt, which pt-BR follows: "i = 0..1"). Spanish, Italian and
// Portuguese also have "many" for exact millions (CLDR 42+: "e = 0 and
// i != 0 and i % 1000000 = 0"); the engine's counts never reach it, and
// a catalog without "many" falls back to "other". TestPluralForms checks
// this against golang.org/x/text/feature/plural, which the wasm does not
// link.
func pluralForm(lang string, n int) string {
	if n < 0 {
		n = -n
	}
	switch lang {
	case "pt-BR":
		if n <= 1 {
			return "one"
		}
	default:
		if n == 1 {
			return "one"
		}
	}
	return "other"
}
