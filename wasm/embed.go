//go:build js && wasm

package main

import (
	"slices"
	"strconv"
	"strings"
	"syscall/js"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/jspromise"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/wasm/internal/embedcmd"
	"github.com/portlab/portlab/wasm/internal/progress"
)

// The embed API, the page's side: an /embed/ page tells its parent what
// happens (events, posted by app.js to the allowed origins) and takes the
// parent's commands by postMessage. README.md "Embedding a lesson" is the
// parent's side.

// wireEmbed listens for the parent's commands on an embedded page and
// says "ready" once it takes them. Other pages ignore the API.
func wireEmbed(c *client) {
	body := document.Get("body")
	if data(body, "embed") != "1" {
		return
	}
	// The page's own origin may command it too: frame-ancestors always
	// allows 'self'.
	allowed := append(strings.Fields(data(body, "origins")), global.Get("location").Get("origin").String())
	global.Call("addEventListener", "message", js.FuncOf(func(this js.Value, args []js.Value) any {
		ev := args[0]
		// event.origin is the sender's, set by the browser: compared
		// exactly, a message from anywhere else is dropped unanswered.
		if !embedcmd.Allowed(ev.Get("origin").String(), allowed) {
			return nil
		}
		cmd, ok := readCommand(ev.Get("data"))
		if !ok {
			return nil // not a command: the parent's own traffic
		}
		source, origin := ev.Get("source"), ev.Get("origin")
		go func() {
			answer := map[string]any{"source": "portlab", "type": "ok", "command": cmd.Command, "id": cmd.ID}
			if err := c.command(cmd); err != nil {
				answer["type"] = "error"
				answer["error"] = err.Error()
			}
			if exists(source) {
				source.Call("postMessage", answer, origin)
			}
		}()
		return nil
	}))
	emit("portlab:progress", c.readyEvent())
}

// readCommand reads {command, id, step, profile} from a message's data;
// ok is false for data that is not a command (no string "command").
func readCommand(d js.Value) (cmd embedcmd.Command, ok bool) {
	if d.Type() != js.TypeObject {
		return cmd, false
	}
	str := func(k string) string {
		if v := d.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	if d.Get("command").Type() != js.TypeString {
		return cmd, false
	}
	return embedcmd.Command{Command: str("command"), ID: str("id"), Step: str("step"), Profile: str("profile")}, true
}

// command carries out one of the parent's commands.
func (c *client) command(cmd embedcmd.Command) error {
	if err := embedcmd.Check(cmd); err != nil {
		return err
	}
	if cmd.Command == embedcmd.Profile {
		if !profileKnown(cmd.Profile) {
			return embedcmd.Error("no network profile " + strconv.Quote(cmd.Profile))
		}
		if err := c.setProfile(cmd.Profile); err != nil {
			return err
		}
		c.describeProfile(cmd.Profile)
		return nil
	}
	p := c.player
	if p == nil {
		return embedcmd.Error(cmd.Command + " needs a lesson: this page has none")
	}
	switch cmd.Command {
	case embedcmd.Start:
		go p.start(false)
	case embedcmd.Reset:
		p.reset()
	case embedcmd.Play:
		return p.playTo(cmd.Step)
	}
	return nil
}

// profiles are the network profiles' names, which the page lists.
func profiles() []string { return strings.Fields(data(document.Get("body"), "profiles")) }

// profileKnown reports whether name is one of the profiles.
func profileKnown(name string) bool { return slices.Contains(profiles(), name) }

// reset stops the lesson and forgets its progress: back to "Not started".
func (p *player) reset() {
	p.mu.Lock()
	if p.cancel != nil {
		p.cancel()
	}
	p.resumeTo = 0
	p.who = map[string]string{}
	done := p.done
	running := p.running
	p.mu.Unlock()
	if running && done != nil {
		<-done // let the cancelled run end before the next starts
	}
	if pl := portlabJS(); exists(pl) {
		pl.Get("progress").Call("clear", p.l.Name)
	}
	for i := range p.l.Steps {
		p.stepState(i, "pending", "")
	}
	for _, id := range []string{"lesson-feedback", "lesson-do", "lesson-predict"} {
		if e := byID(id); exists(e) {
			e.Set("hidden", true)
		}
	}
	p.ended("")
	p.progress(0)
	p.status("idle", tr("lesson.not-started"))
	emit("portlab:progress", lessonEvent(p.l, 0, "new"))
}

// playTo has the player play every step up to and including the one with
// the given id, as "Play this step for me" at each, starting the lesson
// when it does not run. A step already behind a running lesson cannot be
// played again without a reset.
func (p *player) playTo(id string) error {
	idx := -1
	for i, s := range p.l.Steps {
		if s.ID == id {
			idx = i
		}
	}
	if idx < 0 {
		return embedcmd.Error("no step " + strconv.Quote(id) + " in lesson " + p.l.Name)
	}
	p.mu.Lock()
	running := p.running
	if running && idx < p.do.step {
		p.mu.Unlock()
		return embedcmd.Error("step " + strconv.Quote(id) + " is done: reset, then play it")
	}
	p.resumeTo = max(p.resumeTo, idx+1)
	w := p.waiting
	p.waiting = nil
	p.mu.Unlock()
	switch {
	case w != nil:
		w <- "" // the waiting step: played for the student
	case !running:
		go p.start(false)
	}
	return nil
}

// readyEvent says that the page takes commands, and what it holds.
func (c *client) readyEvent() map[string]any {
	ev := map[string]any{
		"type":    "ready",
		"page":    data(document.Get("body"), "page"),
		"lang":    document.Get("documentElement").Get("lang").String(),
		"profile": c.labProfile(),
	}
	var names []any
	for _, n := range profiles() {
		names = append(names, n)
	}
	ev["profiles"] = names
	if p := c.player; p != nil {
		ev["lesson"] = p.l.Name
		ev["title"] = p.l.Title
		ev["total"] = len(p.l.Steps)
		var steps []any
		for _, s := range p.l.Steps {
			steps = append(steps, map[string]any{"id": s.ID, "title": s.Title, "kind": stepKind(s)})
		}
		ev["steps"] = steps
	}
	return ev
}

// labProfile is the network profile in force: the page's pick, else the
// lab's (a lesson page has no picker).
func (c *client) labProfile() string {
	if p := c.currentProfile(); p != "" {
		return p
	}
	pl := portlabJS()
	if !exists(pl) {
		return ""
	}
	l, err := jspromise.Await(pl.Call("lab"))
	if err != nil || l.Type() != js.TypeObject || l.Get("profile").Type() != js.TypeString {
		return ""
	}
	return l.Get("profile").String()
}

// stepKind names who acts in a step, for the parent: played, typed, task
// or predict (a played step that asks first).
func stepKind(s *lesson.Step) string {
	switch {
	case s.Mode == lesson.Typed:
		return "typed"
	case s.Mode == lesson.Task:
		return "task"
	case s.Predict != "":
		return "predict"
	}
	return "played"
}

// lessonEvent is the lesson's state for the parent: the step it is at
// (index, id and title while it is one of the lesson's) and the state,
// new, running, failed, passed or watched.
func lessonEvent(l *lesson.Lesson, step int, state string) map[string]any {
	ev := map[string]any{"type": "lesson", "lesson": l.Name, "step": step, "total": len(l.Steps), "state": state}
	if step >= 0 && step < len(l.Steps) {
		ev["id"] = l.Steps[step].ID
		ev["title"] = l.Steps[step].Title
	}
	return ev
}

// embedStep tells the parent about a step: current when it starts, passed
// (with who did it) or failed.
func (p *player) embedStep(ev scenarios.Event) {
	var state string
	switch ev.Kind {
	case scenarios.StepStarted:
		state = "current"
	case scenarios.StepPassed:
		state = "passed"
	case scenarios.StepFailed:
		state = "failed"
	default:
		return
	}
	st := p.l.Steps[ev.Index]
	out := map[string]any{
		"type": "step", "lesson": p.l.Name, "step": ev.Index, "total": len(p.l.Steps),
		"id": st.ID, "title": st.Title, "kind": stepKind(st), "state": state,
	}
	if state == "passed" && progress.ForStudent(st) {
		p.mu.Lock()
		out["by"] = p.who[st.ID]
		p.mu.Unlock()
	}
	if state == "failed" {
		out["reason"] = ev.Reason
	}
	emit("portlab:progress", out)
}
