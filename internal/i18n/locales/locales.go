// Package locales holds the message catalogs of every language
// (LANG.json) for the server, which renders pages in them and serves
// each to the wasm client as data. The wasm does not import it.
package locales

import (
	"embed"
	"sync"

	"github.com/portlab/portlab/internal/i18n"
)

//go:embed *.json
var files embed.FS

// Data is lang's catalog file as written, or nil when there is none.
func Data(lang string) []byte {
	b, err := files.ReadFile(lang + ".json")
	if err != nil {
		return nil
	}
	return b
}

// Complete lists the languages whose catalogs translate every English
// key; TestCompleteLanguages fails when one of them lacks a key. A
// language joins it once its translators are done.
var Complete = []string{"pt-PT", "pt-BR", "es", "it", "de"}

var (
	once     sync.Once
	catalogs map[string]*i18n.Catalog
	loadErr  error
)

// Catalog is lang's catalog with English under it, or English for a
// language not in i18n.Languages.
func Catalog(lang string) *i18n.Catalog {
	once.Do(load)
	if c := catalogs[lang]; c != nil {
		return c
	}
	return i18n.EnglishCatalog
}

// Err reports a catalog file that does not parse (the tests check it).
func Err() error {
	once.Do(load)
	return loadErr
}

func load() {
	catalogs = map[string]*i18n.Catalog{}
	for _, lang := range i18n.Languages {
		var msgs i18n.Messages
		if b := Data(lang); b != nil && lang != i18n.Default {
			m, err := i18n.Parse(b)
			if err != nil {
				loadErr = err
				continue
			}
			msgs = m
		}
		c, err := i18n.NewCatalog(lang, msgs)
		if err != nil {
			loadErr = err
			continue
		}
		catalogs[lang] = c
	}
}
