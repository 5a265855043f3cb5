//go:build !unix

package relay

// openFileLimit has no RLIMIT_NOFILE to read here: assume a small one.
func openFileLimit() int { return 1024 }
