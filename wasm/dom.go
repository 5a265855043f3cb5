//go:build js && wasm

package main

import (
	"syscall/js"
)

// The DOM glue: a few helpers over syscall/js so the rest reads as Go.

var (
	global   = js.Global()
	document = global.Get("document")
)

func byID(id string) js.Value { return document.Call("getElementById", id) }

func exists(v js.Value) bool { return !v.IsNull() && !v.IsUndefined() }

func setText(v js.Value, s string) {
	if exists(v) {
		v.Set("textContent", s)
	}
}

func setData(v js.Value, key, value string) {
	if exists(v) {
		v.Get("dataset").Set(key, value)
	}
}

func data(v js.Value, key string) string {
	if !exists(v) {
		return ""
	}
	d := v.Get("dataset").Get(key)
	if !exists(d) {
		return ""
	}
	return d.String()
}

func value(id string) string {
	v := byID(id)
	if !exists(v) {
		return ""
	}
	return v.Get("value").String()
}

func elem(tag, class, text string) js.Value {
	e := document.Call("createElement", tag)
	if class != "" {
		e.Set("className", class)
	}
	if text != "" {
		e.Set("textContent", text)
	}
	return e
}

// on adds an event listener whose Go handler runs on its own goroutine, so
// it may block (await a promise) without stalling the event loop. With
// prevent the event's default action is cancelled first.
func on(target js.Value, event string, prevent bool, f func(ev js.Value)) {
	if !exists(target) {
		return
	}
	target.Call("addEventListener", event, js.FuncOf(func(this js.Value, args []js.Value) any {
		ev := args[0]
		if prevent {
			ev.Call("preventDefault")
		}
		go f(ev)
		return nil
	}))
}

// onSync is on for handlers that must decide synchronously (keydown).
func onSync(target js.Value, event string, f func(ev js.Value)) {
	if !exists(target) {
		return
	}
	target.Call("addEventListener", event, js.FuncOf(func(this js.Value, args []js.Value) any {
		f(args[0])
		return nil
	}))
}

// portlabJS is window.portlab, the page script's helpers (lab, progress).
func portlabJS() js.Value { return global.Get("portlab") }

// emit dispatches a CustomEvent on document; app.js forwards portlab:progress
// events of embedded pages to the parent with postMessage.
func emit(name string, detail map[string]any) {
	ev := global.Get("CustomEvent").New(name, map[string]any{"detail": detail})
	document.Call("dispatchEvent", ev)
}
