//go:build !js

package explain

import (
	"embed"
	"strings"
)

//go:embed data/*.json
var data embed.FS

// Data is a built-in catalog's JSON, for the web server to hand to the
// browser; English when lang has none.
func Data(lang string) []byte {
	b, err := data.ReadFile("data/" + lang + ".json")
	if err != nil {
		b, err = data.ReadFile("data/en.json")
	}
	if err != nil {
		panic(err) // the build embeds en.json
	}
	return b
}

// Languages lists the catalogs built in, by tag.
func Languages() []string {
	ents, _ := data.ReadDir("data")
	var tags []string
	for _, e := range ents {
		tags = append(tags, strings.TrimSuffix(e.Name(), ".json"))
	}
	return tags
}

// For returns the built-in catalog for a language tag, English when there
// is none.
func For(lang string) *Catalog {
	c, err := Load(Data(lang))
	if err != nil {
		panic(err) // TestCatalogs loads every built-in catalog
	}
	return c
}

// English is the source catalog.
func English() *Catalog { return For("en") }
