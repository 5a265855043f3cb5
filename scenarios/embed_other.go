//go:build !js

package scenarios

import "embed"

// embedded holds the lessons and their translations. The browser's
// client does not carry them (embed_js.go): a lesson page hands it the
// one lesson it plays, in the page's language, as data (Lesson files are
// served under /lessons-src/), so the wasm does not grow with lessons or
// languages.
//
//go:embed lessons/*.md lessons/COURSE
var embedded embed.FS
