//go:build js && wasm

package main

import (
	"context"
	"strconv"
	"strings"
	"syscall/js"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
)

// The steps the student does: typed and task steps with graded hints,
// Check and "Show me", and predictions asked before a played step.

// doState is the player's state at the step the student is doing.
type doState struct {
	step  int      // index of the step the rest is about
	hints int      // hints shown at it
	shown bool     // "Show me" has filled the queue once
	queue []string // lines "Show me" still has to type
	// active is true while the student does the step; ahead holds lines
	// typed while the engine was busy with the previous one (a port
	// timing out), so that they go to the lesson, not to the terminal.
	active bool
	ahead  []string
}

// firstForStudent reports whether the lesson opens with a step the
// student types or does. p.mu is held.
func (p *player) firstForStudent() bool {
	if len(p.l.Steps) == 0 {
		return false
	}
	m := p.l.Steps[0].Mode
	return m == lesson.Typed || m == lesson.Task
}

// typeAhead keeps a line typed while a step the student does is busy;
// it reports whether it kept it. p.mu is held.
func (p *player) typeAhead(line string) bool {
	if !p.running || !p.do.active {
		return false
	}
	p.do.ahead = append(p.do.ahead, line)
	return true
}

// linesTaken counts the lines the engine took at steps the student
// does; the page shows it (data-taken) so that tests type in step.
var linesTaken int

// wireDo connects the lesson-do controls.
func (p *player) wireDo() {
	on(byID("lesson-hint-next"), "click", false, func(js.Value) { p.nextHint() })
	on(byID("lesson-check"), "click", false, func(js.Value) { p.typed(scenarios.CheckLine) })
	on(byID("lesson-show-me"), "click", false, func(js.Value) { p.showMe() })
}

// showMe answers the waiting step with its solution.
func (p *player) showMe() {
	p.mu.Lock()
	w := p.waiting
	p.waiting = nil
	p.mu.Unlock()
	if w != nil {
		w <- ""
	}
}

// answerLines is what "Show me" types at a step: a typed step's answer,
// a task's solution and then a check.
func answerLines(st *lesson.Step) []string {
	if st.Mode != lesson.Task {
		return []string{st.Answer()}
	}
	var lines []string
	for _, sl := range st.Solution {
		lines = append(lines, sl.Text)
	}
	return append(lines, scenarios.CheckLine)
}

// typedStep is the engine's Input at typed and task steps: the student's
// next line, or the next line "Show me" types. The answer is never shown
// before the student asks for it.
func (p *player) typedStep(ctx context.Context, st *lesson.Step, attempt int) (string, error) {
	idx := p.index(st)
	for {
		p.mu.Lock()
		if p.do.step != idx {
			p.do = doState{step: idx}
		}
		fast := p.all || idx < p.resumeTo
		if idx == 0 && p.early != "" && !fast {
			line := p.early
			p.early = ""
			p.mu.Unlock()
			linesTaken++
			setData(byID("lesson-do"), "taken", strconv.Itoa(linesTaken))
			return line, nil
		}
		if fast && len(p.do.queue) == 0 {
			if p.do.shown {
				p.mu.Unlock()
				return "", constError(tr("player.answer-failed"))
			}
			p.do.queue, p.do.shown = answerLines(st), true
		}
		if len(p.do.ahead) > 0 && !fast {
			line := p.do.ahead[0]
			p.do.ahead = p.do.ahead[1:]
			p.mu.Unlock()
			return line, nil
		}
		if len(p.do.queue) > 0 {
			line := p.do.queue[0]
			p.do.queue = p.do.queue[1:]
			p.mu.Unlock()
			// The transcript shows the line as the engine sends it.
			return line, nil
		}
		w := make(chan string, 1)
		p.waiting = w
		p.mu.Unlock()
		// The bar's instruction says what the step asks; the status only
		// whose turn it is.
		what := tr("player.your-turn")
		if st.Mode == lesson.Task {
			what = tr("player.your-turn-task")
		}
		p.status("running", what)
		// The page says when the engine waits for a line (the browser
		// tests type then).
		setData(byID("lesson-do"), "waiting", "true")
		select {
		case line := <-w:
			linesTaken++
			setData(byID("lesson-do"), "taken", strconv.Itoa(linesTaken))
			setData(byID("lesson-do"), "waiting", "false")
			if line != "" {
				return line, nil
			}
			p.mu.Lock()
			p.do.queue, p.do.shown = answerLines(st), true
			p.mu.Unlock()
		case <-ctx.Done():
			setData(byID("lesson-do"), "waiting", "false")
			return "", ctx.Err()
		}
	}
}

// nextHint shows the step's next hint, one per request.
func (p *player) nextHint() {
	p.mu.Lock()
	idx, n := p.do.step, p.do.hints+1
	p.mu.Unlock()
	p.showHints(idx, n)
}

// showHints shows the hints of step idx up to the n-th, in the status
// bar's one list of hints: on request (Hint) or after a wrong try. A hint
// that spells out the step's command makes it a button that fills the
// input.
func (p *player) showHints(idx, n int) {
	for {
		p.mu.Lock()
		if idx != p.do.step || idx < 0 || idx >= len(p.l.Steps) {
			p.mu.Unlock()
			return
		}
		st := p.l.Steps[idx]
		if p.do.hints >= min(n, len(st.Hints)) {
			p.mu.Unlock()
			return
		}
		p.do.hints++
		k := p.do.hints
		p.mu.Unlock()
		p.hintItem(st, idx, k)
	}
}

// hintItem adds the n-th hint of step idx to the list.
func (p *player) hintItem(st *lesson.Step, idx, n int) {
	list := byID("lesson-hints")
	if exists(list) {
		li := elem("li", "lesson-hint-item", "")
		li.Call("setAttribute", "data-testid", "lesson-hint-"+strconv.Itoa(n))
		setHint(li, st.Hint(n), idx, answerOf(st)) // a command it spells out fills the input
		list.Call("appendChild", li)
	}
	if n >= len(st.Hints) {
		byID("lesson-hint-next").Set("disabled", true)
	}
	setText(byID("lesson-hint-next"), tr("player.hint-n-of", n, len(st.Hints)))
}

// doEvent shows and hides the controls of steps the student does.
func (p *player) doEvent(ev scenarios.Event) {
	box, pred := byID("lesson-do"), byID("lesson-predict")
	switch ev.Kind {
	case scenarios.StepStarted:
		doing := ev.Step.Mode == lesson.Typed || ev.Step.Mode == lesson.Task
		p.mu.Lock()
		fast := p.all || ev.Index < p.resumeTo
		p.do = doState{step: ev.Index, active: doing && !fast}
		p.mu.Unlock()
		if exists(box) {
			box.Set("hidden", !doing || fast)
			byID("lesson-hints").Set("innerHTML", "")
			hint := byID("lesson-hint-next")
			hint.Set("disabled", len(ev.Step.Hints) == 0)
			setText(hint, tr("lesson.btn.hint"))
			byID("lesson-check").Set("hidden", ev.Step.Mode != lesson.Task)
		}
		if exists(pred) {
			pred.Set("hidden", true)
		}
	case scenarios.StepPassed, scenarios.StepFailed, scenarios.LessonPassed, scenarios.LessonFailed:
		p.mu.Lock()
		p.do.active, p.do.ahead = false, nil
		p.mu.Unlock()
		if exists(box) {
			box.Set("hidden", true)
		}
	case scenarios.TaskChecked:
		p.stepResult(ev.Index, tr("player.not-yet", strings.TrimPrefix(ev.Reason, "not yet: ")))
	case scenarios.StepPredicted:
		v := byID("lesson-predict-verdict")
		verdict := tr("player.predict-right", ev.Reason)
		if !ev.Correct {
			verdict = tr("player.predict-wrong", ev.Result)
		}
		setData(v, "correct", strconv.FormatBool(ev.Correct))
		setText(v, verdict)
		if exists(v) {
			v.Set("hidden", false)
		}
		if ch := byID("lesson-predict-choices"); exists(ch) {
			bs := ch.Call("querySelectorAll", "button")
			for i := range bs.Length() {
				bs.Index(i).Set("disabled", true)
			}
		}
	}
}

// Predict is the engine's Predictor: the student's answer to a step's
// question, or the correct one when the player plays.
func (p *player) Predict(ctx context.Context, st *lesson.Step) (int, error) {
	idx := p.index(st)
	p.mu.Lock()
	fast := p.all || idx < p.resumeTo
	p.mu.Unlock()
	if fast {
		return st.Correct(), nil
	}
	box, list := byID("lesson-predict"), byID("lesson-predict-choices")
	if !exists(box) || !exists(list) {
		return st.Correct(), nil
	}
	setText(byID("lesson-predict-question"), st.Predict)
	list.Set("innerHTML", "")
	v := byID("lesson-predict-verdict")
	v.Set("hidden", true)
	for i, c := range st.Choices {
		b := elem("button", "secondary", c.Text)
		b.Set("type", "button")
		b.Call("setAttribute", "data-testid", "lesson-choice-"+strconv.Itoa(i))
		setData(b, "correct", strconv.FormatBool(c.Correct))
		on(b, "click", false, func(js.Value) { p.typed("choice " + strconv.Itoa(i)) })
		list.Call("appendChild", b)
	}
	box.Set("hidden", false)
	p.status("running", tr("player.predict", idx+1))
	for {
		w := make(chan string, 1)
		p.mu.Lock()
		p.waiting = w
		p.mu.Unlock()
		select {
		case line := <-w:
			if line == "" {
				// "Play this step": the answer was shown, not chosen.
				p.mu.Lock()
				p.do.shown = true
				p.mu.Unlock()
				return st.Correct(), nil
			}
			if n, err := strconv.Atoi(strings.TrimPrefix(line, "choice ")); err == nil && n >= 0 && n < len(st.Choices) {
				return n, nil
			}
			// A line typed in the terminal while the question is open.
			p.status("running", tr("player.predict-first"))
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}
