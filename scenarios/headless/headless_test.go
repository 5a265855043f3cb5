package headless

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/session"
)

func TestFormatLine(t *testing.T) {
	for _, tt := range []struct {
		l    session.Line
		want string
	}{
		{session.Line{Who: session.Client, Text: "EHLO x"}, "-> EHLO x"},
		{session.Line{Who: session.Server, Text: "250 ok", Secure: true}, "<~ 250 ok"},
		{session.Line{Who: session.Client, Text: "AUTH PLAIN AGZvbwBiYXJiYXo=", Secure: true, Decoded: `\0foo\0barbaz`}, `~> AUTH PLAIN AGZvbwBiYXJiYXo=   [\0foo\0barbaz]`},
		{session.Line{Who: session.TLS, Text: "TLS 1.3"}, "=== TLS 1.3"},
		{session.Line{Who: session.Note, Text: "Connected."}, "=== Connected."},
	} {
		if got := FormatLine(tt.l); got != tt.want {
			t.Errorf("FormatLine = %q, want %q", got, tt.want)
		}
	}
}

func TestUnknownLesson(t *testing.T) {
	err := Run(context.Background(), "http://127.0.0.1:1", []string{"first-contact", "no-such-lesson"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no lesson no-such-lesson (lessons: first-contact,") {
		t.Fatalf("Run = %v", err)
	}
}

// TestAgainstServer plays lessons against a running portlab server named
// by PORTLAB_TEST_SERVER (e.g. http://127.0.0.1:8080), and only the
// lessons in PORTLAB_TEST_LESSONS (comma-separated) if set.
func TestAgainstServer(t *testing.T) {
	server := os.Getenv("PORTLAB_TEST_SERVER")
	if server == "" {
		t.Skip("PORTLAB_TEST_SERVER not set; `make test` runs the lessons against an in-process server")
	}
	var names []string
	if s := os.Getenv("PORTLAB_TEST_LESSONS"); s != "" {
		names = strings.Split(s, ",")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := Run(ctx, server, names, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
}
