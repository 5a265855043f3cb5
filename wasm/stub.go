//go:build !(js && wasm)

// Command wasm is portlab's browser client: the SMTP terminal and the
// lesson player, built with GOOS=js GOARCH=wasm by
// `go run ./web/internal/assets`. This file only makes the package build
// natively, so `go build ./...` and `go vet ./...` cover the module.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "portlab's browser client: build it with GOOS=js GOARCH=wasm (go run ./web/internal/assets)")
	os.Exit(2)
}
