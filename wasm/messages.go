//go:build js && wasm

package main

import (
	"context"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios/httpapi"
)

// ui is the page language's UI catalog: the English one linked into the
// client until loadMessages has fetched the page language's file
// (data-messages-url, /messages/HASH/LANG.json), so the wasm does not
// grow with languages. Set once in main before anything prints.
var ui = i18n.EnglishCatalog

// loadMessages fetches the page language's catalog; an English page, or
// a failed fetch, keeps English.
func loadMessages(server string) {
	lang := document.Get("documentElement").Get("lang").String()
	url := data(document.Get("body"), "messagesUrl")
	if i18n.Supported(lang) == "" || lang == i18n.Default || url == "" {
		return
	}
	cat, err := (&httpapi.Client{Server: server}).UICatalog(context.Background(), url, lang)
	if err != nil {
		global.Get("console").Call("warn", "portlab: "+err.Error()+": the interface stays in English")
		return
	}
	ui = cat
}

// tr is the text of a catalog key in the page language.
func tr(key string, args ...any) string { return ui.T(key, args...) }
