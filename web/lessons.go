package web

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/yuin/goldmark"
)

// lessonInfo is a lesson as the pages show it: the summary on the home
// page, the narration of every step on the lesson page (readable without
// the wasm client, which plays it).
type lessonInfo struct {
	Name    string
	Title   string
	Level   string
	Minutes int
	Profile string
	Teaches []string
	Summary string
	// Intro is trusted HTML rendered from the lesson's introduction.
	Intro string
	Steps []lessonStep
	// EditsPolicy: a step changes the lab's policy, so the page shows the
	// policy editor beside the terminal.
	EditsPolicy bool
	// Lang is the language of the text (internal/i18n.Languages).
	Lang string
	// Closing is trusted HTML: the lesson's closing sections ("What you
	// learned"), shown when it ends; NextName and NextTitle name the
	// next lesson in course order ("" after the last).
	Closing   string
	NextName  string
	NextTitle string
}

// lessonStep is one step of a lesson page.
type lessonStep struct {
	ID    string
	Title string
	// Narration and After are trusted HTML rendered from the lesson
	// file's Markdown (goldmark escapes raw HTML); After is shown once the
	// step passed.
	Narration string
	After     string
	// Typed marks steps the student types (the player waits for them).
	Typed bool
	// Task marks goal steps: the student reaches Goal any way.
	Task bool
	Goal string
	// Command is what a played step sends (a typed step's answer is not
	// shown before the student has tried).
	Command string
	// Untranslated marks a step shown in English on a page in another
	// language: its translation is missing (the lesson checker lists it).
	Untranslated bool
}

// lessonCatalog lists the built-in lessons in course order, in every
// page language: Library.Lesson falls back to English for text not
// translated, and the steps with no translation are marked. Made once
// per process, like the asset tables: every site a test makes shares it.
var lessonCatalog = sync.OnceValue(func() map[string][]lessonInfo {
	lib, err := scenarios.Builtin()
	if err != nil {
		// The scenarios tests rule this out; show what parses rather
		// than no site at all.
		return nil
	}
	return lessonsIn(lib)
})

// lessonsIn lists lib's lessons in every page language.
func lessonsIn(lib *scenarios.Library) map[string][]lessonInfo {
	out := map[string][]lessonInfo{}
	for _, lang := range i18n.Languages {
		missing := map[string]bool{} // "lesson.md/step"
		if lang != i18n.Default {
			for _, f := range lib.Lag(lang) {
				if f.Missing {
					missing[f.File+"/"+f.Step] = true
				}
			}
		}
		for _, base := range lib.Lessons() {
			l, ok := lib.Lesson(base.Name, lang)
			if !ok {
				continue
			}
			info := fromLesson(l)
			info.Lang = lang
			whole := missing[base.Name+".md/"]
			for i := range info.Steps {
				info.Steps[i].Untranslated = whole || missing[base.Name+".md/"+info.Steps[i].ID]
			}
			out[lang] = append(out[lang], info)
		}
		ls := out[lang]
		for i := range ls[:max(len(ls)-1, 0)] {
			ls[i].NextName, ls[i].NextTitle = ls[i+1].Name, ls[i+1].Title
		}
	}
	return out
}

func fromLesson(l *lesson.Lesson) lessonInfo {
	info := lessonInfo{
		Name: l.Name, Title: l.Title, Level: l.Level, Minutes: l.Minutes,
		Profile: l.Profile, Teaches: l.Teaches, Summary: l.Summary,
		Intro: markdown(dropTitle(l.Intro)),
	}
	for i, s := range l.Steps {
		after := s.After
		if i == len(l.Steps)-1 {
			var closing string
			after, closing = splitClosing(after)
			info.Closing = markdown(closing)
		}
		info.EditsPolicy = info.EditsPolicy || editsPolicy(s)
		info.Steps = append(info.Steps, lessonStep{
			ID:        s.ID,
			Title:     s.Title,
			Narration: markdown(s.Narration),
			After:     markdown(after),
			Typed:     s.Mode == lesson.Typed,
			Task:      s.Mode == lesson.Task,
			Goal:      s.Goal,
			Command:   displayCommand(s.Action),
		})
	}
	return info
}

// editsPolicy reports whether a step changes the lab's policy: its action,
// or a line of its solution.
func editsPolicy(s *lesson.Step) bool {
	if s.Action.Kind == lesson.Policy {
		return true
	}
	for _, sl := range s.Solution {
		if a, err := lesson.ParseTyped(sl.Text); err == nil && a.Kind == lesson.Policy {
			return true
		}
	}
	return false
}

// splitClosing splits the last step's After text from the lesson's
// closing sections, which the parser appends to it as "## Title" blocks
// (scenarios/lesson: a plain section such as "## What you learned"). The
// end panel has its own "What you learned" heading: a closing section of
// that name gives only its text, any other keeps its title one level down.
func splitClosing(after string) (step, closing string) {
	i := strings.Index("\n"+after, "\n## ")
	if i < 0 {
		return after, ""
	}
	step, closing = strings.TrimSpace(after[:i]), after[i:]
	closing = strings.ReplaceAll("\n"+closing, "\n## ", "\n### ")
	closing = strings.Replace(closing, "\n### What you learned\n", "\n", 1)
	return step, strings.TrimSpace(closing)
}

// dropTitle removes a leading "# Title" line: the page has its own h1.
func dropTitle(md string) string {
	t := strings.TrimLeft(md, "\n")
	if strings.HasPrefix(t, "# ") {
		if _, rest, ok := strings.Cut(t, "\n"); ok {
			return rest
		}
		return ""
	}
	return md
}

// markdown renders lesson Markdown to HTML. goldmark's default renderer
// omits raw HTML, so a lesson file cannot inject markup or scripts.
func markdown(md string) string {
	if strings.TrimSpace(md) == "" {
		return ""
	}
	var b bytes.Buffer
	if err := goldmark.Convert([]byte(md), &b); err != nil {
		return ""
	}
	return b.String()
}

// displayCommand is a step's action the way a student types it in the
// terminal: "telnet HOST PORT" for a plaintext connect, the SMTP line for a
// send, the lesson grammar otherwise.
func displayCommand(a lesson.Action) string {
	switch {
	case a.Kind == lesson.Send && a.Command != "":
		return a.Command
	case a.Kind == lesson.Connect && !a.TLS && a.Under == "":
		return fmt.Sprintf("telnet %s %d", a.Host, a.Port)
	}
	return a.Text
}
