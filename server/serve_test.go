package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/portlab/portlab/server/sandbox"
)

// TestServePrintsTeacherPassword: without --teacher-password the start-up
// text gives the made-up password and where to use it; with it, the
// password is not printed.
func TestServePrintsTeacherPassword(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "/teach (password "},
		{[]string{"--teacher-password", "s3cret-word"}, "/teach (password: the --teacher-password given)"},
	} {
		o, err := parseServeFlags(append([]string{"--smtp-listen=false", "--http", "127.0.0.1:0"}, tt.args...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		o.Data = t.TempDir()
		s, err := sandbox.New(o.config(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		printTable(&out, s, o.Data)
		s.Close()
		if !strings.Contains(out.String(), s.URL()+tt.want) {
			t.Errorf("%v: the start-up text lacks %q:\n%s", tt.args, tt.want, out.String())
		}
		if pw := s.TeacherPassword(); tt.args == nil && (len(pw) < 16 || !strings.Contains(out.String(), pw)) {
			t.Errorf("made-up password %q not printed", pw)
		}
		if strings.Contains(out.String(), "s3cret-word") {
			t.Error("the given password was printed")
		}
	}
}
