// Package memstat reads the process's resident memory, for the benchmarks
// that report memory per held connection.
package memstat

import (
	"errors"
	"os"
	"strconv"
	"strings"
)

// RSS is the process's resident set in bytes (Linux's /proc/self/statm).
func RSS() (int64, error) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, errors.New("memstat: unexpected /proc/self/statm")
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()), err
}
