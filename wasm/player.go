//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/wasm/internal/pace"
	"github.com/portlab/portlab/wasm/internal/progress"
	"github.com/portlab/portlab/wasm/internal/term"
)

// player plays the page's lesson with the scenario engine: the same engine
// as `portlab scenarios run`, dialling the same gateway. Typed steps wait
// for the student's line in the terminal; "Play this step for me" types
// the step's answer; "Play the whole lesson" (and ?autoplay=1) types every
// answer. Steps the player plays are paced (pace.Gap, with Pause and
// Next), and the status bar on top of the terminal shows the current one:
// the page itself is never scrolled under the student. Progress is kept per lesson in localStorage (not per lab: it is
// the student's, and outlives any lab), so a reload resumes:
// the steps passed before are replayed quickly (a live SMTP session cannot
// survive the reload), then the student goes on where they were.
type player struct {
	c    *client
	l    *lesson.Lesson
	talk term.Conversation // what each reply of the engine's sessions answers
	// why is the network's reason for the engine's last failed dial
	// (term.NetworkWhy), shown after the engine's telnet note.
	why atomic.Pointer[string]

	mu       sync.Mutex
	running  bool
	all      bool // answer every typed step at once
	resumeTo int  // answer steps before this one at once
	waiting  chan string
	do       doState // the step the student is doing
	cancel   context.CancelFunc
	done     chan struct{} // closed when the current run ends
	ctx      context.Context
	pace     *pace.Pacer
	// begun is set once a run has started (or the lesson was finished
	// before); early is a line typed before the first run, which goes to
	// the first step when that step is the student's.
	begun bool
	early string
	// who did each step meant for the student, by step ID (see
	// progress.Verdict): passed or only watched.
	who map[string]string
}

func startPlayer(c *client) {
	name := data(document.Get("body"), "lesson")
	l, err := fetchLesson(c.server, name)
	if err != nil {
		c.ui.Line(term.Error(tr("player.no-lessons", err.Error())))
		return
	}
	gap := pace.Gap
	if ms, err := strconv.Atoi(data(document.Get("body"), "pace")); err == nil {
		gap = time.Duration(ms) * time.Millisecond // ?pace=MS, bounded by the page
	}
	p := &player{c: c, l: l, who: map[string]string{}, pace: pace.New(gap)}
	// The lesson's network is in force from the page's load: a line typed
	// before Start crosses the network the lesson is about.
	p.useProfile(l.Profile)
	p.pace.OnWait = func(waiting bool) { byID("lesson-next-step").Set("disabled", !waiting) }
	c.inputHook = p.typed
	c.player = p
	on(byID("lesson-start"), "click", false, func(js.Value) {
		// The student answers in the terminal: the focus goes there.
		if in := byID("term-input"); exists(in) {
			in.Call("focus")
		}
		p.start(false)
	})
	on(byID("lesson-play-all"), "click", false, func(js.Value) { p.start(true) })
	on(byID("lesson-play-step"), "click", false, func(js.Value) { p.playStep() })
	on(byID("lesson-restart"), "click", false, func(js.Value) { p.restart() })
	on(byID("lesson-pause"), "click", false, func(js.Value) { p.togglePause() })
	on(byID("lesson-next-step"), "click", false, func(js.Value) { p.pace.Next() })
	p.wireDo()

	saved := p.saved()
	for id, w := range saved.Steps {
		p.who[id] = w
	}
	switch {
	case data(document.Get("body"), "autoplay") == "1":
		go p.start(true)
	case saved.State == progress.Passed || saved.State == progress.Watched:
		p.begun = true
		for i := range l.Steps {
			p.stepState(i, "passed", "")
		}
		if saved.State == progress.Passed {
			p.status("passed", tr("player.passed-before"))
		} else {
			p.status("watched", tr("player.watched-before"))
		}
		p.progress(len(l.Steps))
		p.ended(saved.State)
	case saved.Step > 0 && saved.Step < len(l.Steps):
		p.mu.Lock()
		p.resumeTo = saved.Step
		p.mu.Unlock()
		p.status("idle", tr("player.resuming", saved.Step+1))
		go p.start(false)
	}
}

// savedProgress is what localStorage keeps for a lesson.
type savedProgress struct {
	Step  int    `json:"step"`
	State string `json:"state"`
	Total int    `json:"total"`
	// Steps says who did each step meant for the student, by step ID.
	Steps map[string]string `json:"steps"`
}

func (p *player) saved() savedProgress {
	var s savedProgress
	pl := portlabJS()
	if !exists(pl) {
		return s
	}
	v := pl.Get("progress").Call("get", p.l.Name)
	if !exists(v) {
		return s
	}
	json.Unmarshal([]byte(global.Get("JSON").Call("stringify", v).String()), &s)
	return s
}

func (p *player) save(step int, state string) {
	p.mu.Lock()
	steps := map[string]any{}
	for id, w := range p.who {
		steps[id] = w
	}
	p.mu.Unlock()
	if pl := portlabJS(); exists(pl) {
		pl.Get("progress").Call("set", p.l.Name, map[string]any{"step": step, "state": state, "total": len(p.l.Steps), "steps": steps})
	}
	emit("portlab:progress", lessonEvent(p.l, step, state))
}

// start plays the lesson, or with all set switches a running one to
// answering every step itself.
func (p *player) start(all bool) {
	p.mu.Lock()
	if all {
		p.all = true
		if w := p.waiting; w != nil {
			p.waiting = nil
			w <- ""
		}
	}
	if p.running {
		p.mu.Unlock()
		return
	}
	p.running, p.begun = true, true
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.ctx = cancel, ctx
	done := make(chan struct{})
	p.done = done
	p.mu.Unlock()
	showPacing(true)
	defer func() {
		p.mu.Lock()
		p.running, p.all, p.waiting, p.early = false, false, nil, ""
		p.mu.Unlock()
		showPacing(false)
		close(done)
	}()

	for i := range p.l.Steps {
		p.stepState(i, "pending", "")
	}
	p.ended("")
	feedback("")
	eng := &scenarios.Engine{
		Catalog: ui,
		Dialer:  playerDialer{p.c},
		Mailbox: labMailbox{p.c},
		Policy:  labPolicy{p.c},
		Input:   p,
		Server:  p.c.server,
		Lab:     p.c.labID(),
		Key:     p.c.labKey(),
		RootCAs: p.c.roots,
		OnEvent: p.event,
		OnLine:  p.line,
		OnState: p.state,
	}
	if err := eng.Run(ctx, p.l); err != nil && ctx.Err() == nil {
		if _, ok := err.(*scenarios.StepError); !ok {
			p.status("failed", tr("player.stopped", err.Error()))
		}
	}
}

// restart forgets the progress and plays from the first step.
func (p *player) restart() {
	p.reset()
	if p.pace.Paused() {
		p.togglePause() // a new run starts at the usual pace
	}
	p.start(false)
}

// playStep answers the waiting typed step with its answer, or starts.
func (p *player) playStep() {
	p.mu.Lock()
	w := p.waiting
	p.waiting = nil
	running := p.running
	p.mu.Unlock()
	switch {
	case w != nil:
		w <- ""
	case !running:
		p.start(false)
	}
}

// typed takes a line from the terminal while a typed step waits for one.
// It reports whether it took the line.
func (p *player) typed(line string) bool {
	p.mu.Lock()
	w := p.waiting
	if w != nil {
		p.waiting = nil
	}
	ahead := w == nil && p.typeAhead(line)
	early := w == nil && !p.running && !p.begun && p.firstForStudent()
	if early {
		// Typed before Start, at a lesson that opens with the student's
		// step: the line starts the lesson and answers that step.
		p.early, p.begun = line, true
	}
	p.mu.Unlock()
	if early {
		go p.start(false)
		return true
	}
	if w == nil {
		return ahead
	}
	w <- line
	return true
}

// Typed is the engine's scenarios.Input (see typedStep).
func (p *player) Typed(ctx context.Context, st *lesson.Step, attempt int) (string, error) {
	return p.typedStep(ctx, st, attempt)
}

// answerOf is a step's answer, "" without a step.
func answerOf(st *lesson.Step) string {
	if st == nil {
		return ""
	}
	return st.Answer()
}

func (p *player) index(st *lesson.Step) int {
	for i, s := range p.l.Steps {
		if s == st {
			return i
		}
	}
	return 0
}

// event shows the engine's progress on the page.
func (p *player) event(ev scenarios.Event) {
	defer p.embedStep(ev) // after record: the event says who did it
	p.doEvent(ev)
	switch ev.Kind {
	case scenarios.LessonStarted:
		p.status("running", tr("player.running"))
		p.save(0, "running")
	case scenarios.StepStarted:
		p.stepState(ev.Index, "current", "")
		p.progress(ev.Index)
		p.current(ev.Index)
		feedback("")
		p.mu.Lock()
		resuming := ev.Index < p.resumeTo
		watched := ev.Step.Mode == lesson.Played || p.all
		ctx := p.ctx
		p.mu.Unlock()
		pacing(watched || p.pace.Paused())
		if watched && !resuming && ev.Index > 0 && ctx != nil {
			// Pace the steps the player plays so that the student can
			// read each one (Pause holds, Next goes on at once).
			p.pace.Wait(ctx)
		}
	case scenarios.StepRetry:
		// The feedback says why; the hint goes to the one list of hints
		// (the engine's hint for the n-th try is the n-th of that list).
		// A task's check says "not yet" itself; the page's words say it once.
		feedback(tr("player.not-yet", strings.TrimPrefix(ev.Reason, "not yet: ")))
		// A wrong try keeps the step current, so the step list shows
		// nothing of it: the class hook (class.go) counts it from this.
		emit("portlab:step-retry", map[string]any{"lesson": p.l.Name, "step": ev.Index, "total": len(p.l.Steps)})
		if ev.Hint != "" {
			p.showHints(ev.Index, ev.Attempt)
		}
		p.stepResult(ev.Index, ev.Result)
	case scenarios.StepPassed:
		p.record(ev.Index)
		p.stepState(ev.Index, "passed", ev.Result)
		p.progress(ev.Index + 1)
		feedback("")
		if a := ev.Step.Action; a.Kind == lesson.Profile {
			p.useProfile(a.ProfileName)
		}
		p.save(ev.Index+1, "running")
		// Step results go through the paced live region, not one live
		// region per step: a lesson played at once is not read line by line.
		p.c.ui.announce.Announce(tr("player.step-passed", ev.Index+1))
	case scenarios.StepFailed:
		p.stepState(ev.Index, "failed", ev.Reason)
		setHint(byID("lesson-feedback"), tr("player.step-failed", ev.Index+1, ev.Reason), ev.Index, answerOf(ev.Step))
		byID("lesson-feedback").Set("hidden", false)
	case scenarios.LessonPassed:
		p.mu.Lock()
		verdict := progress.Verdict(p.l, p.who)
		p.mu.Unlock()
		if verdict == progress.Passed {
			p.c.ui.announce.Announce(tr("player.lesson-passed"))
			p.status("passed", tr("player.passed"))
		} else {
			p.c.ui.announce.Announce(tr("player.lesson-watched"))
			p.status("watched", tr("player.watched"))
		}
		p.save(len(p.l.Steps), verdict)
		p.ended(verdict)
		p.mu.Lock()
		p.resumeTo = 0
		p.mu.Unlock()
	case scenarios.LessonFailed:
		p.status("failed", tr("player.failed-at", ev.Index+1, ev.Reason))
		p.save(ev.Index, "failed")
	}
}

// record notes who did step i, a step meant for the student, when it
// passed: the player, "Show me", or the student with or without hints.
// Steps replayed on resume keep what was recorded before the reload.
func (p *player) record(i int) {
	st := p.l.Steps[i]
	if !progress.ForStudent(st) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case i < p.resumeTo && p.who[st.ID] != "":
	case p.all || i < p.resumeTo:
		p.who[st.ID] = progress.Played
	case p.do.step == i && p.do.shown:
		p.who[st.ID] = progress.Shown
	case p.do.step == i && p.do.hints > 0:
		p.who[st.ID] = progress.Hint
	default:
		p.who[st.ID] = progress.Student
	}
}

// line shows a line of the engine's transcript; after the note of a dial
// the network refused or dropped comes why, in the page's language, as
// the terminal shows it for its own connections (the engine reports the
// state before its note).
func (p *player) line(l session.Line) {
	p.c.ui.Line(p.talk.Line(l))
	if l.Who != session.Note {
		return
	}
	if why := p.why.Swap(nil); why != nil {
		p.c.ui.Line(term.Note(*why))
	}
}

// state shows the engine's connection-state changes in the terminal
// header and on the port board, as the terminal shows its own.
func (p *player) state(ch scenarios.StateChange) {
	p.talk.State(ch)
	profile := ch.Target.Profile
	if profile == "" {
		profile = p.c.currentProfile()
	}
	if why := term.NetworkWhy(ui, profile, ch.Err); why != "" {
		p.why.Store(&why)
	}
	target := ch.Target.String()
	if ch.State == term.Closed {
		target = ""
	}
	p.c.ui.showState(ch.State, target, false)
	if ps := term.PortForChange(ch); ps != "" {
		p.c.ui.Port(ch.Target.Host, ch.Target.Port, ps)
	}
}

func (p *player) status(state, text string) {
	s := byID("scenario-status")
	setData(s, "state", state)
	setText(s, text)
}

func (p *player) progress(done int) {
	if bar := byID("lesson-progress"); exists(bar) {
		bar.Set("value", done)
	}
	cur := done + 1
	if cur > len(p.l.Steps) {
		cur = len(p.l.Steps)
	}
	setText(byID("lesson-progress-text"), tr("lesson.step-of", cur, len(p.l.Steps)))
}

func (p *player) stepState(i int, state, result string) {
	li := byID("step-" + strconv.Itoa(i))
	if !exists(li) {
		return
	}
	setData(li, "state", state)
	// The state word is for screen readers (visually hidden): in the
	// page's language, as the page first renders it.
	setText(li.Call("querySelector", ".step-state"), tr("lesson.state."+state))
	if after := li.Call("querySelector", "[data-role=after]"); exists(after) {
		after.Set("hidden", state != "passed")
	}
	// No scrollIntoView: the page stays where the student put it; the
	// status bar shows the current step.
	p.stepResult(i, result)
}

func (p *player) stepResult(i int, result string) {
	li := byID("step-" + strconv.Itoa(i))
	if exists(li) {
		setText(li.Call("querySelector", "[data-role=result]"), result)
	}
}

// playerDialer dials for the engine through the page's WebSocket; the
// engine reports the attempt's states (see player.state).
type playerDialer struct{ c *client }

func (d playerDialer) Dial(ctx context.Context, t scenarios.Target) (net.Conn, error) {
	t.Lang = ui.Lang // the network's reasons in the page's language
	return tunnel.Dialer{}.Dial(ctx, t)
}

// labPolicy changes the lab's own relay policy through the labs API, and
// tells the page's policy editor to show what the lab now follows.
type labPolicy struct{ c *client }

func (p labPolicy) api() (*httpapi.Client, *httpapi.Lab, error) {
	lab := p.c.labID()
	if lab == "" {
		return nil, nil, constError(tr("player.no-lab-policy"))
	}
	return &httpapi.Client{Server: p.c.server}, &httpapi.Lab{ID: lab, Key: p.c.labKey()}, nil
}

func (p labPolicy) Policy(ctx context.Context) (string, error) {
	c, l, err := p.api()
	if err != nil {
		return "", err
	}
	text, _, err := c.Policy(ctx, l)
	return text, err
}

func (p labPolicy) SetPolicy(ctx context.Context, text string) error {
	c, l, err := p.api()
	if err != nil {
		return err
	}
	err = c.SetPolicy(ctx, l, text)
	p.refresh()
	return err
}

func (p labPolicy) ResetPolicy(ctx context.Context) error {
	c, l, err := p.api()
	if err != nil {
		return err
	}
	err = c.ResetPolicy(ctx, l)
	p.refresh()
	return err
}

// refresh has the page's editor (app.js) load the lab's policy again.
func (p labPolicy) refresh() {
	go func() {
		if pl := portlabJS(); exists(pl) && pl.Get("refreshPolicy").Type() == js.TypeFunction {
			pl.Call("refreshPolicy")
		}
	}()
}

// labMailbox reads the lab's mailbox through the labs API (httpapi's
// browser build uses the page's fetch).
type labMailbox struct{ c *client }

func (m labMailbox) Messages(ctx context.Context) ([]scenarios.Message, error) {
	lab := m.c.labID()
	if lab == "" {
		return nil, constError(tr("player.no-lab-mailbox"))
	}
	out, err := (&httpapi.Client{Server: m.c.server}).Messages(ctx, &httpapi.Lab{ID: lab, Key: m.c.labKey()})
	if err != nil {
		return nil, err
	}
	go func() {
		if pl := portlabJS(); exists(pl) {
			pl.Call("refreshMailbox")
		}
	}()
	return out, nil
}

// useProfile makes name the network of the terminal's own connections:
// the lesson's from the page's load, then each one the lesson switches
// to, so that a line typed outside a step crosses the lesson's network.
// (A class's network for everyone, class.go, arrives after the load and
// wins until the lesson switches networks itself.)
func (p *player) useProfile(name string) {
	if name == "" {
		return
	}
	p.c.mu.Lock()
	p.c.profile = name
	p.c.mu.Unlock()
	setText(byID("board-profile"), name)
}

// current shows step i in the status bar: its number, title and what it
// asks (the step's own line, with its command buttons).
func (p *player) current(i int) {
	box := byID("lesson-instruction")
	if !exists(box) || i < 0 || i >= len(p.l.Steps) {
		return
	}
	setData(box, "step", strconv.Itoa(i))
	setText(byID("lesson-step-title"), strconv.Itoa(i+1)+". "+p.l.Steps[i].Title)
	do := byID("lesson-step-do")
	do.Set("textContent", "")
	if src := document.Call("querySelector", "#step-"+strconv.Itoa(i)+" [data-role=do]"); exists(src) {
		do.Call("appendChild", src.Call("cloneNode", true))
	}
	read := byID("lesson-read-step")
	setData(read, "target", "step-"+strconv.Itoa(i))
	setText(read, tr("lesson.read-step"))
	read.Set("hidden", false)
}

// ended shows the end of the lesson (verdict passed or watched): what it
// taught and the next lesson; "" hides them again.
func (p *player) ended(verdict string) {
	done := verdict == progress.Passed || verdict == progress.Watched
	if end := byID("lesson-end"); exists(end) {
		end.Set("hidden", !done)
	}
	if next := byID("lesson-bar-next"); exists(next) {
		next.Set("hidden", !done)
	}
	// At the end: Restart or the next lesson; nothing left to play.
	for _, id := range []string{"lesson-play-step", "lesson-play-all"} {
		if b := byID(id); exists(b) {
			b.Set("hidden", done)
		}
	}
	if !done {
		return
	}
	byID("lesson-start").Set("hidden", true)
	setText(byID("lesson-step-title"), tr("player.the-end"))
	setText(byID("lesson-step-do"), "")
	read := byID("lesson-read-step")
	setData(read, "target", "lesson-end")
	setText(read, tr("lesson.learned"))
	read.Set("hidden", false)
}

// togglePause holds or releases the player between steps.
func (p *player) togglePause() {
	b := byID("lesson-pause")
	if p.pace.Paused() {
		p.pace.Resume()
		setText(b, tr("lesson.btn.pause"))
		b.Call("setAttribute", "aria-pressed", "false")
		return
	}
	p.pace.Pause()
	setText(b, tr("lesson.btn.resume"))
	b.Call("setAttribute", "aria-pressed", "true")
}

// showPacing shows Pause and Next while a lesson runs, Start while not.
func showPacing(running bool) {
	pacing(running)
	if b := byID("lesson-start"); exists(b) {
		end := byID("lesson-end")
		b.Set("hidden", running || (exists(end) && !end.Get("hidden").Bool()))
	}
}

// pacing shows or hides Pause and Next: they are for steps the player
// plays, not for the student's own.
func pacing(show bool) {
	for _, id := range []string{"lesson-pause", "lesson-next-step"} {
		if b := byID(id); exists(b) {
			b.Set("hidden", !show)
		}
	}
}

// feedback shows the status bar's one line of feedback ("" hides it).
func feedback(msg string) {
	f := byID("lesson-feedback")
	if !exists(f) {
		return
	}
	setText(f, msg)
	f.Set("hidden", msg == "")
}

// fetchLesson reads the lesson the page plays, and its translation into
// the page language when the page names one (data-lesson-url,
// data-lesson-text-url): the client carries no lessons, so it does not
// grow with them or with languages. A translation that does not load
// leaves the lesson in English.
func fetchLesson(server, name string) (*lesson.Lesson, error) {
	api := &httpapi.Client{Server: server}
	body := document.Get("body")
	src, err := api.Text(context.Background(), data(body, "lessonUrl"))
	if err != nil {
		return nil, err
	}
	l, err := lesson.World.Parse(name+".md", src)
	if err != nil {
		return nil, err
	}
	if u := data(body, "lessonTextUrl"); u != "" {
		if src, err := api.Text(context.Background(), u); err == nil {
			if t, err := lesson.ParseTranslation(name+"."+ui.Lang+".md", src, l); err == nil {
				return l.Translate(t), nil
			}
		}
		global.Get("console").Call("warn", "portlab: the lesson's translation did not load: it stays in English")
	}
	return l, nil
}
