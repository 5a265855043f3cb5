package scenarios

import (
	"testing"
)

func TestBuiltinLessonsParse(t *testing.T) {
	lib, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lib.Lessons() {
		t.Logf("%s: %d steps, langs %v", l.Name, len(l.Steps), lib.Languages(l.Name))
	}
}
