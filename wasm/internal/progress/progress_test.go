package progress

import (
	"testing"

	"github.com/portlab/portlab/scenarios"
)

// TestVerdict: a lesson is passed only when the student did every step
// meant for them (hints allowed); shown or played makes it watched.
func TestVerdict(t *testing.T) {
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, ok := lib.Lesson("first-contact", "en")
	if !ok {
		t.Fatal("no first-contact")
	}
	all := func(w string) map[string]string {
		m := map[string]string{}
		for _, s := range l.Steps {
			m[s.ID] = w
		}
		return m
	}
	var mine []string
	for _, s := range l.Steps {
		if ForStudent(s) {
			mine = append(mine, s.ID)
		}
	}
	if len(mine) == 0 {
		t.Fatal("first-contact has no step for the student")
	}
	for _, tc := range []struct {
		name string
		who  map[string]string
		want string
	}{
		{"student", all(Student), Passed},
		{"hints", all(Hint), Passed},
		{"played", all(Played), Watched},
		{"nothing recorded", map[string]string{}, Watched},
		{"one shown", func() map[string]string { m := all(Student); m[mine[0]] = Shown; return m }(), Watched},
	} {
		if got := Verdict(l, tc.who); got != tc.want {
			t.Errorf("%s: Verdict = %q, want %q", tc.name, got, tc.want)
		}
	}
}
