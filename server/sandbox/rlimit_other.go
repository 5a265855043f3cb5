//go:build !unix

package sandbox

// openFileLimit has no RLIMIT_NOFILE to read here: assume a small one.
func openFileLimit() int { return 1024 }
