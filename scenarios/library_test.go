package scenarios

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portlab/portlab/scenarios/lesson"
)

// teachingMap reads docs/teaching-map.md: its lesson ids in order, and
// the lesson file each [scenario] section names.
func teachingMap(t *testing.T) (ids []string, scenario map[string]string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "docs", "teaching-map.md"))
	if err != nil {
		t.Fatal(err)
	}
	scenario = map[string]string{}
	for _, m := range sectionRE.FindAllStringSubmatch(string(src), -1) {
		ids = append(ids, m[1])
		if m[2] != "" {
			scenario[m[1]] = m[2]
		}
	}
	if len(ids) == 0 {
		t.Fatal("docs/teaching-map.md has no `## L1.` sections")
	}
	return ids, scenario
}

var sectionRE = regexp.MustCompile(`(?m)^## (L[0-9]+)\..*?(?:\[scenario: "([a-z0-9-]+)"\])?$`)

func TestBuiltinLessons(t *testing.T) {
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range List() {
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
	// The course order is the teaching map's order of each lesson's
	// first "teaches" id (front matter), and every id is in the map.
	ids, scenario := teachingMap(t)
	last := -1
	for _, l := range List() {
		if len(l.Teaches) == 0 {
			t.Errorf("%s teaches nothing: its front matter sets no place in the course", l.Name)
			continue
		}
		for _, id := range l.Teaches {
			if !slices.Contains(ids, id) {
				t.Errorf("%s teaches %s, which docs/teaching-map.md does not have", l.Name, id)
			}
		}
		at := slices.Index(ids, l.Teaches[0])
		if at < last {
			t.Errorf("course order: %s (%s) comes after a lesson on a later section", l.Name, l.Teaches[0])
		}
		last = at
	}
	for id, name := range scenario {
		l, ok := lib.Lesson(name, "en")
		if !ok {
			t.Errorf("docs/teaching-map.md %s names scenario %q, which has no lesson file", id, name)
			continue
		}
		if !slices.Contains(l.Teaches, id) {
			t.Errorf("%s teaches %v, not %s (docs/teaching-map.md)", name, l.Teaches, id)
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
