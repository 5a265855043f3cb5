package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portlab/portlab/server/netsim"
)

// `portlab scenarios lint` checks the lessons against the profiles and
// hosts portlab serve would load with the same flags.
func TestScenariosLintWorldFiles(t *testing.T) {
	lint := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"scenarios", "lint"}, args...), nil, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := lint(); err != nil || !strings.Contains(out, "lessons ok") {
		t.Fatalf("lint of the built-in world: %v\n%s", err, out)
	}
	// A class without the hotel: the lesson that needs it is reported.
	text, _, ok := strings.Cut(netsim.DefaultText(), "profile hotel-wifi")
	if !ok {
		t.Fatal("the built-in profiles have no hotel-wifi")
	}
	profiles := filepath.Join(t.TempDir(), "class.profiles")
	if err := os.WriteFile(profiles, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := lint("--profiles", profiles)
	if err == nil || !strings.Contains(out, "starttls-stripping.md:") || !strings.Contains(out, "hotel-wifi") {
		t.Errorf("lint --profiles without hotel-wifi: %v\n%s", err, out)
	}
	// Naming files works with the flags too.
	out, err = lint("--profiles", profiles, filepath.Join("..", "scenarios", "lessons", "first-contact.md"))
	if err != nil {
		t.Errorf("lint --profiles FILE: %v\n%s", err, out)
	}
	// A missing file is an error, not a silent built-in world.
	if out, err := lint("--hosts", filepath.Join(t.TempDir(), "nope.hosts")); err == nil {
		t.Errorf("lint --hosts with a missing file passed:\n%s", out)
	}
}
