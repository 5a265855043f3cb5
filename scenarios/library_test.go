package scenarios

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portlab/portlab/scenarios/lesson"
)

// lessonsMD maps each [scenario] of LESSONS.md to the lesson it names.
var lessonsMD = map[string]string{
	"first-contact": "L1", "port-25-relay": "L2", "open-relay": "L3", "port-465-implicit-tls": "L4",
	"tls-before-auth": "L5", "fallback-2525": "L6", "hop-by-hop": "L7", "outbound-tls": "L8",
	"bounces": "L9", "starttls-stripping": "L10",
}

func TestBuiltinLessons(t *testing.T) {
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range List() {
		names = append(names, l.Name)
		if l.Title == "" || l.Summary == "" || l.Intro == "" {
			t.Errorf("%s: title, summary and introduction are needed by the lesson list", l.Name)
		}
		for _, st := range l.Steps {
			if st.Mode == lesson.Typed {
				if _, err := lesson.ParseTyped(st.Answer()); err != nil {
					t.Errorf("%s/%s: the answer %q cannot be typed: %v", l.Name, st.ID, st.Answer(), err)
				}
			}
		}
	}
	want := []string{"first-contact", "port-25-relay", "open-relay", "port-465-implicit-tls", "tls-before-auth",
		"fallback-2525", "hop-by-hop", "outbound-tls", "bounces", "starttls-stripping"}
	if !slices.Equal(names, want) {
		t.Errorf("course order:\n got %v\nwant %v", names, want)
	}
	for name, id := range lessonsMD {
		l, ok := lib.Lesson(name, "en")
		if !ok {
			t.Errorf("LESSONS.md scenario %q has no lesson file", name)
			continue
		}
		if !slices.Contains(l.Teaches, id) {
			t.Errorf("%s teaches %v, not %s", name, l.Teaches, id)
		}
	}
	if got := lib.Languages("first-contact"); !slices.Equal(got, []string{"en", "pt"}) {
		t.Errorf("Languages = %v", got)
	}
	pt, _ := lib.Lesson("first-contact", "pt")
	en, _ := lib.Lesson("first-contact", "de")
	if pt.Lang != "pt" || en.Lang != "en" || pt.Steps[0].ID != en.Steps[0].ID {
		t.Errorf("languages: pt %q, de falls back to %q", pt.Lang, en.Lang)
	}
	if errs := Lint(nil, nil); len(errs) != 0 {
		t.Errorf("Lint of the built-in lessons: %v", errs)
	}
}

func TestLint(t *testing.T) {
	good, err := fs.ReadFile(Files(), "first-contact.md")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "expect: refused\nmode: typed", "expect: refusd\nmode: typed", 1)
	line := strings.Count(broken[:strings.Index(broken, "expect: refusd")], "\n") + 1
	fsys := fstest.MapFS{
		"first-contact.md":    {Data: []byte(broken)},
		"first-contact.es.md": {Data: []byte("---\ntitle: Primer contacto\n---\n")},
		"ghost.it.md":         {Data: []byte("---\ntitle: Fantasma\n---\n")},
		"notes.txt":           {Data: []byte("not a lesson")},
	}
	var got []string
	for _, e := range Lint(fsys, nil) {
		got = append(got, e.Error())
	}
	want := []string{
		"first-contact.md:" + itoa(line) + `: unknown expectation "refusd"`,
		"ghost.it.md:1: translation of a lesson that does not exist: no ghost.md",
	}
	if len(got) != len(want) {
		t.Fatalf("Lint = %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, got[i], want[i])
		}
	}

	// Naming files, and on disk as `portlab scenarios lint FILES` does.
	dir := t.TempDir()
	for name, f := range fsys {
		os.WriteFile(filepath.Join(dir, name), f.Data, 0o644)
	}
	errs := LintFiles([]string{filepath.Join(dir, "first-contact.md"), filepath.Join(dir, "first-contact.es.md"), filepath.Join(dir, "notes.txt")})
	if len(errs) != 3 ||
		!strings.HasPrefix(errs[0].Error(), filepath.Join(dir, "first-contact.md")+":"+itoa(line)+": ") ||
		!strings.Contains(errs[1].Error(), "first-contact.es.md:1: the lesson it translates, first-contact.md, has errors") ||
		!strings.Contains(errs[2].Error(), "notes.txt:1: not a lesson file") {
		t.Errorf("LintFiles = %v", errs)
	}
	if errs := Lint(Files(), []string{"first-contact.md", "first-contact.pt.md"}); len(errs) != 0 {
		t.Errorf("Lint(named) = %v", errs)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
