package textfile

import (
	"errors"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	var got []string
	n, err := Lines("f", strings.NewReader("a\n\nc"), func(line int, text string) error {
		got = append(got, strings.Repeat("+", line)+text)
		return nil
	})
	if err != nil || n != 3 || strings.Join(got, ",") != "+a,++,+++c" {
		t.Fatalf("Lines = %d %v %q", n, err, got)
	}
	stop := errors.New("stop")
	if n, err := Lines("f", strings.NewReader("a\nb\nc\n"), func(line int, _ string) error {
		if line == 2 {
			return stop
		}
		return nil
	}); n != 2 || err != stop {
		t.Errorf("fn's error: %d %v", n, err)
	}
	for _, tc := range []struct {
		text string
		want string
	}{
		{"ok\n" + strings.Repeat("x", MaxLine+1) + "\n", "f:2: line longer than 4096 bytes"},
		{strings.Repeat(strings.Repeat("y", 99)+"\n", MaxFile/100+1), "f:10486: file is larger than 1048576 bytes"},
		{strings.Repeat("z", MaxFile+1), "f:1: line longer than 4096 bytes"},
	} {
		_, err := Lines("f", strings.NewReader(tc.text), func(int, string) error { return nil })
		var e *Error
		if !errors.As(err, &e) || err.Error() != tc.want {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
	}
}
