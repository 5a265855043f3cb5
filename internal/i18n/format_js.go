//go:build js

package i18n

import "fmt"

// sprintf formats in the browser with fmt: x/text/message's number
// formats would grow the wasm by some 100 kB, and the counts the client
// prints are small enough to need no digit grouping.
func sprintf(_ string, format string, args ...any) string { return fmt.Sprintf(format, args...) }
