// Package scenarios plays portlab's lessons: the lesson files in
// lessons/ (format: package lesson and README.md), and the [Engine] that
// plays one step by step, dialling through a [Dialer] and reading the
// lab's mail through a [Mailbox].
//
// The package is plain Go with no server imports and no syscall/js, so the
// same engine runs in the browser's wasm player and in the headless runner
// (package headless) that CI uses; both dial the real gateway (package
// tunnel) and read the mailbox through package httpapi, whose browser
// builds use the page's WebSocket and fetch. Keep net/http out of this
// package and its imports (deps_test.go checks).
package scenarios
