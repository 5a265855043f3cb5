package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portlab/portlab/server/sandbox"
)

// TestServePrintsTeacherPassword: without --teacher-password the start-up
// text gives the made-up password and where to use it; with it, the
// password is not printed.
func TestServePrintsTeacherPassword(t *testing.T) {
	t.Setenv("PORTLAB_TEACHER_PASSWORD", "")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "/teach (password "},
		{[]string{"--teacher-password", "s3cret-word"}, "/teach (password: the one given by --teacher-password)"},
	} {
		o, err := parseServeFlags(append([]string{"--smtp-listen=false", "--http", "127.0.0.1:0"}, tt.args...), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		o.Data = t.TempDir()
		s, err := sandbox.New(o.config())
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		printTable(&out, s, o.Data, o.PasswordFrom)
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

// TestTeacherPasswordFromFileOrEnv: the password can come from a file's
// first line or from $PORTLAB_TEACHER_PASSWORD, so that ps does not show
// it; the start-up text names the source, never the password; a flag and
// a file at once, or an empty file, stop the start.
func TestTeacherPasswordFromFileOrEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	os.WriteFile(file, []byte("from-the-file\r\nsecond line\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	for _, tt := range []struct {
		env      string
		args     []string
		want     string // the password; "" for a refused start
		wantFrom string
	}{
		{"", []string{"--teacher-password-file", file}, "from-the-file", "--teacher-password-file"},
		{"from-the-env", nil, "from-the-env", "$PORTLAB_TEACHER_PASSWORD"},
		{"from-the-env", []string{"--teacher-password-file", file}, "from-the-file", "--teacher-password-file"},
		{"from-the-env", []string{"--teacher-password", "flag"}, "flag", "--teacher-password"},
		{"", []string{"--teacher-password", "flag", "--teacher-password-file", file}, "", ""},
		{"", []string{"--teacher-password-file", empty}, "", ""},
		{"", []string{"--teacher-password-file", filepath.Join(dir, "missing")}, "", ""},
	} {
		t.Setenv("PORTLAB_TEACHER_PASSWORD", tt.env)
		o, err := parseServeFlags(tt.args, io.Discard)
		if tt.want == "" {
			if err == nil {
				t.Errorf("env %q, %v: started with password %q, want a refusal", tt.env, tt.args, o.TeacherPassword)
			}
			continue
		}
		if err != nil || o.TeacherPassword != tt.want || o.PasswordFrom != tt.wantFrom {
			t.Errorf("env %q, %v: password %q from %q (%v), want %q from %q", tt.env, tt.args, o.TeacherPassword, o.PasswordFrom, err, tt.want, tt.wantFrom)
		}
	}
	// The start-up text names the source and not the password.
	t.Setenv("PORTLAB_TEACHER_PASSWORD", "from-the-env")
	o, err := parseServeFlags([]string{"--smtp-listen=false", "--http", "127.0.0.1:0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.Data = t.TempDir()
	s, err := sandbox.New(o.config())
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	printTable(&out, s, o.Data, o.PasswordFrom)
	s.Close()
	if !strings.Contains(out.String(), "/teach (password: the one given by $PORTLAB_TEACHER_PASSWORD)") || strings.Contains(out.String(), "from-the-env") {
		t.Errorf("start-up text:\n%s", out.String())
	}
}
