//go:build !(js && wasm)

package store

// The pure-Go SQLite driver registers itself as "sqlite". It does not
// build for the browser, where `go vet` still type-checks the tests that
// start a sandbox.
import _ "modernc.org/sqlite"
