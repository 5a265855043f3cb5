package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
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

// `portlab scenarios lint --lang` lists, at file:line, what a language
// lacks; `translate` prints a file that lint then finds complete.
func TestScenariosLintLang(t *testing.T) {
	cmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"scenarios"}, args...), nil, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := cmd("lint", "--lang", "xx"); err == nil || !strings.Contains(out, `no language "xx"`) {
		t.Errorf("lint --lang xx: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`^[a-z0-9-]+(\.de)?\.md:\d+: (step [a-z0-9-]+|title, summary and introduction) (not translated|outdated: )`)
	out, err := cmd("lint", "--lang", "de")
	if err == nil {
		if !strings.Contains(out, "de complete and current") {
			t.Errorf("lint --lang de passed without saying so:\n%s", out)
		}
	} else {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines[:len(lines)-1] {
			if !line.MatchString(l) {
				t.Errorf("lint --lang de: %q is not file:line: what", l)
			}
		}
		if !strings.HasSuffix(lines[len(lines)-1], "to translate or update (whole lessons, introductions or steps)") {
			t.Errorf("lint --lang de ends with %q", lines[len(lines)-1])
		}
	}
	out, err = cmd("translate", "--lang", "de", "tls-before-auth")
	if err != nil || !strings.Contains(out, "source: ") || !strings.Contains(out, "{#") {
		t.Errorf("translate: %v\n%s", err, out)
	}
}
