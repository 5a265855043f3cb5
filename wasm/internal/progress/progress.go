// Package progress holds the rule that tells a lesson passed from watched:
// who did each step the student is meant to do.
package progress

import "github.com/portlab/portlab/scenarios/lesson"

// Who did a step, as the lesson page records it.
const (
	Student = "student" // the student, unaided
	Hint    = "hint"    // the student, after one or more hints
	Shown   = "shown"   // "Show me" (or "Play this step") did it
	Played  = "played"  // the player played it ("Play the whole lesson", autoplay)
)

// Lesson states kept in the browser.
const (
	Passed  = "passed"  // the student did every step meant for them
	Watched = "watched" // finished, but some such step was shown or played
)

// ForStudent reports whether a step is the student's to do: typed and task
// steps, and played steps that ask for a prediction first.
func ForStudent(s *lesson.Step) bool {
	return s.Mode == lesson.Typed || s.Mode == lesson.Task || s.Predict != ""
}

// Verdict is the state of a finished lesson given who did each step (by
// step ID): passed when the student did every step meant for them, hints
// allowed; watched otherwise. Shown counts as shown, not done.
func Verdict(l *lesson.Lesson, who map[string]string) string {
	for _, s := range l.Steps {
		if !ForStudent(s) {
			continue
		}
		if w := who[s.ID]; w != Student && w != Hint {
			return Watched
		}
	}
	return Passed
}
