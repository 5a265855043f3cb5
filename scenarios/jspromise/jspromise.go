//go:build js && wasm

// Package jspromise waits for a JavaScript promise from Go, for the
// browser builds of the scenario packages and the wasm client.
package jspromise

import (
	"errors"
	"syscall/js"
)

// Await waits for p and returns what it resolved to, or its rejection as
// an error. The callbacks run on the JS event loop while the calling
// goroutine blocks, so never call it on the event loop's own goroutine
// (inside a js.FuncOf callback): call it from another goroutine.
func Await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(this js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	catch := js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "promise rejected"
		if len(args) > 0 && args[0].Truthy() {
			msg = args[0].Call("toString").String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}
