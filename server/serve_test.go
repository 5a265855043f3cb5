package main

import (
	"io"
	"log/slog"
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
		s, err := sandbox.New(o.config(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		printTable(&out, s, o)
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

// TestServeSecretsFromFiles: --teacher-password-file gives the password
// (its first line, a Secret's trailing newline dropped) and --ca-dir the
// CA files; the two ways of each are exclusive.
func TestServeSecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "teacher-password")
	if err := os.WriteFile(pwFile, []byte("s3cret-word\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseServeFlags([]string{"--teacher-password-file", pwFile, "--ca-dir", "/secrets/ca"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.TeacherPassword != "s3cret-word" {
		t.Errorf("teacher password %q", o.TeacherPassword)
	}
	if cfg := o.config(slog.New(slog.DiscardHandler)); cfg.CACert != "/secrets/ca/ca.pem" || cfg.CAKey != "/secrets/ca/ca-key.pem" || cfg.TeacherPassword != "s3cret-word" {
		t.Errorf("config: cert %q key %q password %q", cfg.CACert, cfg.CAKey, cfg.TeacherPassword)
	}
	// The environment twins name the files as well (a Kubernetes
	// Deployment sets them so).
	t.Setenv("PORTLAB_TEACHER_PASSWORD_FILE", pwFile)
	t.Setenv("PORTLAB_CA_DIR", "/secrets/ca")
	if o, err := parseServeFlags(nil, io.Discard); err != nil || o.TeacherPassword != "s3cret-word" || o.CACert != "/secrets/ca/ca.pem" {
		t.Errorf("from the environment: password %q, CA %q, %v", o.TeacherPassword, o.CACert, err)
	}
	t.Setenv("PORTLAB_TEACHER_PASSWORD_FILE", "")
	t.Setenv("PORTLAB_CA_DIR", "")
	for _, args := range [][]string{
		{"--teacher-password-file", pwFile, "--teacher-password", "x"},
		{"--ca-dir", dir, "--ca-cert", "c.pem"},
		{"--teacher-password-file", filepath.Join(dir, "missing")},
	} {
		if _, err := parseServeFlags(args, io.Discard); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
}
