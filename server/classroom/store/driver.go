//go:build !(js && wasm)

package store

// The pure-Go SQLite driver registers itself as "sqlite", pgx's
// database/sql driver as "pgx". Neither builds for the browser, where
// `go vet` still type-checks the tests that start a sandbox.
import (
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)
