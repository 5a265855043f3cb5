// Package textfile reads the sandbox's teacher-editable files (the relay
// policy, the simulated hosts, the network profiles) line by line, with
// bounds a broken or hostile file cannot pass (ARCHITECTURE.md, invariant
// 2) and errors that name the file and the line.
package textfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// The bounds on one file.
const (
	MaxLine = 4096    // bytes in one line
	MaxFile = 1 << 20 // bytes in the whole file
)

// Error says where a file is wrong: "file:line: message".
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Lines calls fn with each line's number (from 1) and text, and stops at
// fn's first error. A line or a file over the bounds is an *Error at the
// line where it happens. It returns the number of the last line read.
func Lines(file string, r io.Reader, fn func(line int, text string) error) (int, error) {
	lr := &io.LimitedReader{R: r, N: MaxFile + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 512), MaxLine)
	n := 0
	tooLarge := func() error { return &Error{file, n, fmt.Sprintf("file is larger than %d bytes", MaxFile)} }
	for sc.Scan() {
		n++
		if lr.N <= 0 {
			return n, tooLarge()
		}
		if err := fn(n, sc.Text()); err != nil {
			return n, err
		}
	}
	if err := sc.Err(); err != nil {
		n++
		if errors.Is(err, bufio.ErrTooLong) {
			return n, &Error{file, n, fmt.Sprintf("line longer than %d bytes", MaxLine)}
		}
		return n, &Error{file, n, err.Error()}
	}
	if lr.N <= 0 {
		return n, tooLarge()
	}
	return n, nil
}
