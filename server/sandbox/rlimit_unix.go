//go:build unix

package sandbox

import "syscall"

// openFileLimit is the process's soft RLIMIT_NOFILE (which Go raises to
// the hard limit at start-up).
func openFileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<24 {
		return 1 << 16
	}
	return int(rl.Cur)
}
