//go:build js

package scenarios

import "embed"

// embedded is empty in the browser: see embed_other.go. Builtin there
// is an empty library; the player parses the lesson its page serves.
var embedded embed.FS
