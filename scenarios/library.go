package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/portlab/portlab/scenarios/lesson"
)

// CourseFile is the course order in a lessons directory: one lesson name
// per line, in the order a student takes them; blank lines and lines
// starting with "#" are ignored. One list in one file, rather than a
// number in each lesson, so that placing a lesson is a one-line change
// that neither renumbers nor touches the other lessons, and a reviewer
// reads the whole course at a glance. Every lesson is in it once, and
// it names only lessons that exist.
const CourseFile = "COURSE"

// Files returns the lesson files built into portlab.
func Files() fs.FS {
	sub, err := fs.Sub(embedded, "lessons")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Library is a set of lessons and their translations.
type Library struct {
	lessons      []*lesson.Lesson // in course order ([CourseFile])
	byName       map[string]*lesson.Lesson
	translations map[string]map[string]*lesson.Translation
}

// Load parses every NAME.md and NAME.LANG.md at the top of fsys with the
// [lesson.World] parser, in the order of its [CourseFile]. The error, if
// any, is a [lesson.ErrorList]; it includes a lesson missing from the
// course and a course line naming no lesson.
func Load(fsys fs.FS) (*Library, error) {
	return LoadWith(lesson.World, fsys)
}

// LoadWith is [Load] with a parser that knows another world.
func LoadWith(p lesson.Parser, fsys fs.FS) (*Library, error) {
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return nil, err
	}
	lib := &Library{byName: map[string]*lesson.Lesson{}, translations: map[string]map[string]*lesson.Translation{}}
	var errs lesson.ErrorList
	add := func(err error) {
		var el lesson.ErrorList
		if errors.As(err, &el) {
			errs = append(errs, el...)
		} else if err != nil {
			errs = append(errs, &lesson.Error{File: "?", Line: 1, Msg: err.Error()})
		}
	}
	var translations []string
	lessonFiles := map[string]string{} // name: file, parsed or not
	for _, file := range names {
		name, lang, ok := lesson.SplitName(file)
		if !ok {
			continue
		}
		if lang != "" {
			translations = append(translations, file)
			continue
		}
		lessonFiles[name] = file
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			add(err)
			continue
		}
		l, err := p.Parse(file, src)
		add(err)
		if err == nil {
			lib.byName[name] = l
			lib.lessons = append(lib.lessons, l)
		}
	}
	for _, file := range translations {
		name, lang, _ := lesson.SplitName(file)
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			add(err)
			continue
		}
		base := lib.byName[name]
		if base == nil {
			if _, err := fs.Stat(fsys, name+".md"); err != nil {
				errs = append(errs, &lesson.Error{File: file, Line: 1, Msg: fmt.Sprintf("translation of a lesson that does not exist: no %s.md", name)})
			}
			continue // its lesson has errors, reported above
		}
		t, err := lesson.ParseTranslation(file, src, base)
		add(err)
		if err == nil {
			if lib.translations[name] == nil {
				lib.translations[name] = map[string]*lesson.Translation{}
			}
			lib.translations[name][lang] = t
		}
	}
	order, courseErrs := readCourse(fsys)
	errs = append(errs, courseErrs...)
	at := map[string]int{}
	for i, c := range order {
		at[c.name] = i
		if _, ok := lessonFiles[c.name]; !ok {
			errs = append(errs, &lesson.Error{File: CourseFile, Line: c.line, Msg: fmt.Sprintf("names lesson %q, but there is no %s.md", c.name, c.name)})
		}
	}
	if order != nil { // a missing CourseFile is reported once, above
		for _, file := range slices.Sorted(maps.Values(lessonFiles)) {
			name, _, _ := lesson.SplitName(file)
			if _, ok := at[name]; !ok {
				errs = append(errs, &lesson.Error{File: file, Line: 1, Msg: fmt.Sprintf("not in the course: add %q to %s where it belongs", name, CourseFile)})
			}
		}
	}
	sort.SliceStable(lib.lessons, func(i, j int) bool {
		a, ok := at[lib.lessons[i].Name]
		if !ok {
			a = len(order)
		}
		b, ok := at[lib.lessons[j].Name]
		if !ok {
			b = len(order)
		}
		return a < b
	})
	return lib, errs.Err()
}

type courseLine struct {
	name string
	line int
}

// readCourse reads fsys's [CourseFile]. A nil order means the file is
// missing (one error says so).
func readCourse(fsys fs.FS) ([]courseLine, lesson.ErrorList) {
	src, err := fs.ReadFile(fsys, CourseFile)
	if err != nil {
		return nil, lesson.ErrorList{{File: CourseFile, Line: 1, Msg: "cannot read the course order (one lesson name per line): " + err.Error()}}
	}
	return parseCourse(src)
}

// parseCourse reads the lines of a [CourseFile].
func parseCourse(src []byte) ([]courseLine, lesson.ErrorList) {
	var errs lesson.ErrorList
	order := []courseLine{}
	seen := map[string]int{}
	for i, l := range strings.Split(string(src), "\n") {
		name, n := strings.TrimSpace(l), i+1
		switch {
		case name == "" || strings.HasPrefix(name, "#"):
			continue
		case strings.ContainsAny(name, " \t./"):
			errs = append(errs, &lesson.Error{File: CourseFile, Line: n, Msg: fmt.Sprintf("%q: want one lesson name per line, without .md", name)})
			continue
		case seen[name] != 0:
			errs = append(errs, &lesson.Error{File: CourseFile, Line: n, Msg: fmt.Sprintf("%q already listed at line %d", name, seen[name])})
			continue
		}
		seen[name] = n
		order = append(order, courseLine{name, n})
	}
	return order, errs
}

// Lessons returns the lessons in English, in course order ([CourseFile]).
func (lib *Library) Lessons() []*lesson.Lesson { return slices.Clone(lib.lessons) }

// Lesson returns a lesson in a language, falling back to English for
// text not translated (or a language not there at all).
func (lib *Library) Lesson(name, lang string) (*lesson.Lesson, bool) {
	l, ok := lib.byName[name]
	if !ok {
		return nil, false
	}
	if t := lib.translations[name][lang]; t != nil {
		return l.Translate(t), true
	}
	return l, true
}

// Lag lists, for one language, the steps of every lesson that are not
// translated or were translated from an older English text, in course
// order ([lesson.Check]).
func (lib *Library) Lag(lang string) []lesson.Finding {
	var out []lesson.Finding
	for _, l := range lib.lessons {
		out = append(out, lesson.Check(l, lib.translations[l.Name][lang])...)
	}
	return out
}

// Languages lists the languages a lesson can be read in, English first.
func (lib *Library) Languages(name string) []string {
	if lib.byName[name] == nil {
		return nil
	}
	langs := []string{"en"}
	var more []string
	for lang := range lib.translations[name] {
		more = append(more, lang)
	}
	sort.Strings(more)
	return append(langs, more...)
}

var builtin = sync.OnceValues(func() (*Library, error) { return Load(Files()) })

// Builtin returns the lessons built into portlab, parsed once.
func Builtin() (*Library, error) { return builtin() }

// List returns the built-in lessons in course order. It panics if they
// do not parse, which the tests rule out.
func List() []*lesson.Lesson {
	lib, err := Builtin()
	if err != nil {
		panic("scenarios: built-in lessons do not parse:\n" + err.Error())
	}
	return lib.Lessons()
}

// Lint checks lesson files in fsys; files names them (NAME.md or
// NAME.LANG.md), or all *.md at the top of fsys when empty. A nil fsys
// means the built-in lessons. Each error is a *[lesson.Error]:
// "file:line: message".
func Lint(fsys fs.FS, files []string) []error { return LintWith(lesson.World, fsys, files) }

// LintWith is [Lint] against the hosts and profiles of p: the world the
// server really loads (`portlab scenarios lint --hosts --profiles`).
func LintWith(p lesson.Parser, fsys fs.FS, files []string) []error {
	if fsys == nil {
		fsys = Files()
	}
	if len(files) == 0 {
		_, err := LoadWith(p, fsys)
		return flatten(err)
	}
	var out []error
	for _, file := range files {
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			out = append(out, err)
			continue
		}
		out = append(out, lintOne(p, file, src, func(base string) ([]byte, error) {
			return fs.ReadFile(fsys, path.Join(path.Dir(file), base))
		})...)
	}
	return out
}

// LintFiles is [Lint] for paths on disk, as `portlab scenarios lint
// FILES` gets them. A translation's lesson is read from the same
// directory. Errors carry the paths as given.
func LintFiles(paths []string) []error { return LintFilesWith(lesson.World, paths) }

// LintFilesWith is [LintFiles] against the hosts and profiles of p.
func LintFilesWith(p lesson.Parser, paths []string) []error {
	var out []error
	for _, file := range paths {
		src, err := os.ReadFile(file)
		if err != nil {
			out = append(out, err)
			continue
		}
		out = append(out, lintOne(p, file, src, func(base string) ([]byte, error) {
			return os.ReadFile(filepath.Join(filepath.Dir(file), base))
		})...)
	}
	return out
}

func lintOne(p lesson.Parser, file string, src []byte, read func(string) ([]byte, error)) []error {
	name, lang, ok := lesson.SplitName(file)
	if !ok {
		return []error{&lesson.Error{File: file, Line: 1, Msg: "not a lesson file: want NAME.md or NAME.LANG.md"}}
	}
	if lang == "" {
		_, err := p.Parse(file, src)
		errs := flatten(err)
		// Beside a course order, a lesson must be in it; a file linted
		// on its own, away from one, is not.
		if course, err := read(CourseFile); err == nil {
			order, _ := parseCourse(course)
			if !slices.ContainsFunc(order, func(c courseLine) bool { return c.name == name }) {
				errs = append(errs, &lesson.Error{File: file, Line: 1, Msg: fmt.Sprintf("not in the course: add %q to %s where it belongs", name, CourseFile)})
			}
		}
		return errs
	}
	baseSrc, err := read(name + ".md")
	if err != nil {
		return []error{&lesson.Error{File: file, Line: 1, Msg: fmt.Sprintf("cannot read the lesson it translates, %s.md: %v", name, err)}}
	}
	base, err := p.Parse(name+".md", baseSrc)
	if err != nil {
		return []error{&lesson.Error{File: file, Line: 1, Msg: fmt.Sprintf("the lesson it translates, %s.md, has errors; lint it first", name)}}
	}
	_, err = lesson.ParseTranslation(file, src, base)
	return flatten(err)
}

func flatten(err error) []error {
	var el lesson.ErrorList
	if errors.As(err, &el) {
		out := make([]error, len(el))
		for i, e := range el {
			out[i] = e
		}
		return out
	}
	if err != nil {
		return []error{err}
	}
	return nil
}
