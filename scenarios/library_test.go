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
	// The course order is lessons/COURSE's, and keeps issue 11's order
	// of these lessons (others may come between them), and every id a
	// lesson teaches is in the teaching map.
	var order []string
	for _, l := range List() {
		order = append(order, l.Name)
	}
	want := []string{
		"first-contact", "port-25-relay", "tls-before-auth", "fallback-2525", "port-465-implicit-tls",
		"starttls-stripping", "open-relay", "hop-by-hop", "bounces", "outbound-tls",
	}
	rest := order
	for _, name := range want {
		i := slices.Index(rest, name)
		if i < 0 {
			t.Errorf("course order %v: %s missing or out of order (want %v in this order)", order, name, want)
			break
		}
		rest = rest[i+1:]
	}
	ids, scenario := teachingMap(t)
	for _, l := range List() {
		if len(l.Teaches) == 0 {
			t.Errorf("%s teaches nothing", l.Name)
		}
		for _, id := range l.Teaches {
			if !slices.Contains(ids, id) {
				t.Errorf("%s teaches %s, which docs/teaching-map.md does not have", l.Name, id)
			}
		}
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
	if got := lib.Languages("first-contact"); len(got) < 2 || got[0] != "en" || !slices.Contains(got, "pt-BR") {
		t.Errorf("Languages = %v", got)
	}
	pt, _ := lib.Lesson("first-contact", "pt-BR")
	en, _ := lib.Lesson("first-contact", "fr") // no French: English
	if pt.Lang != "pt-BR" || en.Lang != "en" || pt.Steps[0].ID != en.Steps[0].ID {
		t.Errorf("languages: pt %q, fr falls back to %q", pt.Lang, en.Lang)
	}
	if errs := Lint(nil, nil); len(errs) != 0 {
		t.Errorf("Lint of the built-in lessons: %v", errs)
	}
}

// TestTranslationsCurrent keeps every translation level with the
// English lessons: an English change that leaves a language behind
// fails here with the file:line to translate again and the source hash
// to write (what `scenarios lint --lang TAG` prints).
func TestTranslationsCurrent(t *testing.T) {
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range lesson.Languages {
		for _, f := range lib.Lag(tag) {
			t.Errorf("%s: %s", tag, f)
		}
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
		CourseFile:            {Data: []byte("first-contact\n")},
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
	if errs := Lint(Files(), []string{"first-contact.md", "first-contact.pt-BR.md"}); len(errs) != 0 {
		t.Errorf("Lint(named) = %v", errs)
	}
}

// TestCourseFile: the course order is one list, lessons/COURSE; a lesson
// missing from it, or a line naming no lesson, fails the load with
// file:line, and the lessons come in its order.
func TestCourseFile(t *testing.T) {
	src := func(name string) []byte {
		b, err := fs.ReadFile(Files(), name+".md")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fsys := fstest.MapFS{
		"port-25-relay.md": {Data: src("port-25-relay")},
		"first-contact.md": {Data: src("first-contact")},
		"open-relay.md":    {Data: src("open-relay")},
		CourseFile:         {Data: []byte("# the order\nport-25-relay\n\nfirst-contact\n")},
	}
	lib, err := Load(fsys)
	if err == nil || err.Error() != `open-relay.md:1: not in the course: add "open-relay" to COURSE where it belongs` {
		t.Errorf("a lesson not in COURSE: %v", err)
	}
	var got []string
	for _, l := range lib.Lessons() {
		got = append(got, l.Name)
	}
	if want := []string{"port-25-relay", "first-contact", "open-relay"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}

	fsys[CourseFile] = &fstest.MapFile{Data: []byte("port-25-relay\nopen-relay\nfirst-contact\nghost\nopen-relay\nfirst-contact.md\n")}
	_, err = Load(fsys)
	want := strings.Join([]string{
		`COURSE:4: names lesson "ghost", but there is no ghost.md`,
		`COURSE:5: "open-relay" already listed at line 2`,
		`COURSE:6: "first-contact.md": want one lesson name per line, without .md`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("Load =\n%v\nwant\n%s", err, want)
	}
	// A lesson linted by name, beside a COURSE without it.
	fsys[CourseFile] = &fstest.MapFile{Data: []byte("port-25-relay\n")}
	if errs := Lint(fsys, []string{"first-contact.md", "port-25-relay.md"}); len(errs) != 1 || errs[0].Error() != `first-contact.md:1: not in the course: add "first-contact" to COURSE where it belongs` {
		t.Errorf("Lint(named) = %v", errs)
	}
	delete(fsys, CourseFile)
	if errs := Lint(fsys, nil); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "COURSE:1: cannot read the course order") {
		t.Errorf("no COURSE: %v", errs)
	}
	if errs := Lint(fsys, []string{"first-contact.md"}); len(errs) != 0 {
		t.Errorf("a lesson linted on its own, no COURSE beside it: %v", errs)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
