// Package headless plays lessons against a running portlab server, the way
// CI and `portlab scenarios run` do: each lesson in a new lab, dialling
// the real WebSocket gateway (the browser's path) and reading the lab's
// mailbox over the HTTP API.
package headless

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/explain"
	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// Run plays the named lessons (all built-in lessons when names is empty)
// against server, printing each step and one final line per lesson
// ("PASS first-contact (14 steps)"). It returns an error if any lesson
// failed.
func Run(ctx context.Context, server string, names []string, out io.Writer) error {
	return (&Runner{Server: server, Out: out}).Run(ctx, names)
}

// Runner is Run with options.
type Runner struct {
	Server string
	Out    io.Writer
	// Library holds the lessons; nil means the built-in ones.
	Library *scenarios.Library
	// Verbose prints every lesson's transcript, not only failed ones'.
	Verbose bool
	// Engine, if set, adjusts each lesson's engine (timeouts, for tests).
	Engine func(*scenarios.Engine)
	// Lang plays the lessons in a translation (lesson.Languages); ""
	// is English. Steps are the same in every language, only text differs.
	Lang string
}

// Run plays lessons in course order and reports on r.Out.
func (r *Runner) Run(ctx context.Context, names []string) error {
	lib := r.Library
	if lib == nil {
		var err error
		if lib, err = scenarios.Builtin(); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		for _, l := range lib.Lessons() {
			names = append(names, l.Name)
		}
	}
	lang := r.Lang
	if lang == "" {
		lang = "en"
	}
	var lessons []*lesson.Lesson
	var unknown []string
	for _, n := range names {
		l, ok := lib.Lesson(n, lang)
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		lessons = append(lessons, l)
	}
	if len(unknown) > 0 {
		var all []string
		for _, l := range lib.Lessons() {
			all = append(all, l.Name)
		}
		return fmt.Errorf("no lesson %s (lessons: %s)", strings.Join(unknown, ", "), strings.Join(all, ", "))
	}

	api := &httpapi.Client{Server: r.Server}
	pool, err := api.CA(ctx)
	if err != nil {
		return fmt.Errorf("fetching the sandbox CA from %s: %w", r.Server, err)
	}
	var failed []string
	for _, l := range lessons {
		if err := r.play(ctx, api, pool, l); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(r.Out, "FAIL %s: %v\n", l.Name, strings.TrimPrefix(err.Error(), l.Name+": "))
			failed = append(failed, l.Name)
			continue
		}
		fmt.Fprintf(r.Out, "PASS %s (%d steps)\n", l.Name, len(l.Steps))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d lessons failed: %s", len(failed), len(lessons), strings.Join(failed, ", "))
	}
	return nil
}

func (r *Runner) play(ctx context.Context, api *httpapi.Client, pool *x509.CertPool, l *lesson.Lesson) error {
	lab, err := api.CreateLab(ctx, l.Profile)
	if err != nil {
		return fmt.Errorf("creating a lab: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		api.DeleteLab(dctx, lab)
	}()
	fmt.Fprintf(r.Out, "=== %s: %s (%d steps, profile %s)\n", l.Name, l.Title, len(l.Steps), l.Profile)

	var mu sync.Mutex
	var transcript []string
	// The connection's state, rendered from the engine's typed changes:
	// a step line names it when the step changed it.
	var state, shown scenarios.ConnState
	// What the last reply answered, so that a failed expectation's reply
	// gets its explanation's gist.
	var moment explain.Moment
	var reply string
	var replyCtx explain.Context
	gist := func() string {
		mu.Lock()
		defer mu.Unlock()
		if reply == "" {
			return ""
		}
		e, _ := explain.English().Reply(reply, replyCtx)
		return e.Line()
	}
	stateNote := func() string {
		mu.Lock()
		defer mu.Unlock()
		if state == shown {
			return ""
		}
		shown = state
		return " [" + string(state) + "]"
	}
	e := &scenarios.Engine{
		Dialer:  tunnel.Dialer{},
		Mailbox: httpapi.Mailbox{Client: api, Lab: lab},
		Policy:  httpapi.LabPolicy{Client: api, Lab: lab},
		Server:  r.Server,
		Lab:     lab.ID,
		Key:     lab.Key,
		RootCAs: pool,
		Catalog: locales.Catalog(r.Lang),
		OnLine: func(line session.Line) {
			mu.Lock()
			transcript = append(transcript, FormatLine(line))
			switch line.Who {
			case session.Client:
				moment.Sent(line.Text)
			case session.Server:
				if ctx, last := moment.Received(line.Text); last {
					reply, replyCtx = line.Text, ctx
				}
			}
			mu.Unlock()
		},
		OnState: func(c scenarios.StateChange) {
			mu.Lock()
			state = c.State
			if c.State == scenarios.StateConnecting {
				moment.Connect(c.Target.Port)
			}
			mu.Unlock()
		},
		OnEvent: func(ev scenarios.Event) {
			switch ev.Kind {
			case scenarios.StepStarted:
				mu.Lock()
				reply = ""
				mu.Unlock()
			case scenarios.StepPredicted:
				verdict := "right"
				if !ev.Correct {
					verdict = "wrong"
				}
				fmt.Fprintf(r.Out, "    predicted %q (%s): %s\n", ev.Typed, verdict, ev.Reason)
			case scenarios.StepPassed:
				fmt.Fprintf(r.Out, "    ok   %2d/%d %-22s %s -> %s%s\n", ev.Index+1, ev.Steps, ev.Step.ID, stepText(ev.Step), ev.Result, stateNote())
			case scenarios.StepFailed:
				fmt.Fprintf(r.Out, "    FAIL %2d/%d %-22s %s: %s%s\n", ev.Index+1, ev.Steps, ev.Step.ID, stepText(ev.Step), ev.Reason, stateNote())
				if g := gist(); g != "" {
					fmt.Fprintf(r.Out, "         means: %s\n", g)
				}
			}
		},
	}
	if r.Engine != nil {
		r.Engine(e)
	}
	err = e.Run(ctx, l)
	if err != nil || r.Verbose {
		mu.Lock()
		for _, t := range transcript {
			fmt.Fprintf(r.Out, "        %s\n", t)
		}
		mu.Unlock()
	}
	return err
}

// stepText is what a step line names: the action, or a task's solution.
func stepText(st *lesson.Step) string {
	if st.Mode != lesson.Task {
		return st.Action.Text
	}
	lines := make([]string, len(st.Solution))
	for i, sl := range st.Solution {
		lines[i] = sl.Text
	}
	return "task by its solution: " + strings.Join(lines, " / ")
}

// FormatLine writes a transcript line the way swaks does, with the marks
// the browser shows ([scenarios.Mark]): "->" for the client, "<-" for the
// server, "~>" and "<~" inside TLS, "===" for TLS events and the client's
// notes.
func FormatLine(l session.Line) string {
	s := scenarios.Mark(l) + " " + l.Text
	if l.Decoded != "" {
		s += "   [" + l.Decoded + "]"
	}
	return s
}
