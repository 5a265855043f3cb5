package scenarios

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portlab/portlab/scenarios/lesson"
)

// task runs a task step: the student types any lines, in any order, and
// the step passes when its expectations hold on the state reached. The
// state is judged after every line (the mailbox read once) and on an
// explicit check (the mailbox polled, as a mailbox step does).
func (r *run) task(ctx context.Context, i int, st *lesson.Step, fail func(string) error) error {
	last := ""
	for attempt := 1; ; attempt++ {
		line, err := r.typed(ctx, st, attempt, last, fail)
		if err != nil {
			return err
		}
		explicit := strings.EqualFold(strings.TrimSpace(line), CheckLine)
		result := ""
		if !explicit {
			a, err := r.parse(line)
			if err == nil && a.Kind == lesson.Profile {
				err = errors.New("the network is this lesson's: a task keeps its profile")
			}
			if err != nil {
				r.note("engine.not-sent", err.Error())
				r.event(Event{Kind: StepRetry, Index: i, Step: st, Attempt: attempt, Typed: line, Reason: err.Error(), Held: true})
				continue
			}
			out := r.do(ctx, st, a)
			if err := ctx.Err(); err != nil {
				return err
			}
			r.track(a, out)
			result = out.describe(r.e.Catalog)
			if out.err != nil && r.sess == nil && a.Kind == lesson.Send {
				// Said where the student looks, as the terminal says it.
				r.note("engine.no-connection-telnet")
			}
			if r.inData() {
				continue // message content: nothing to judge yet
			}
		}
		reason, err := r.judgeState(ctx, st, explicit)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			reason = err.Error()
		}
		if reason == "" {
			r.event(Event{Kind: StepPassed, Index: i, Step: st, Attempt: attempt, Typed: line, Result: result})
			return nil
		}
		last = reason
		if explicit {
			r.event(Event{Kind: StepRetry, Index: i, Step: st, Attempt: attempt, Typed: line, Reason: "not yet: " + reason})
			continue
		}
		r.event(Event{Kind: TaskChecked, Index: i, Step: st, Attempt: attempt, Typed: line, Result: result, Reason: reason})
	}
}

// track keeps the state a task judges: the last reply and who logged in.
func (r *run) track(a lesson.Action, out *outcome) {
	if out.reply == nil {
		return
	}
	r.last = out.reply
	if a.Kind == lesson.Auth && out.reply.Code == 235 {
		r.user = a.User
	}
	if a.Kind == lesson.Send && out.reply.Code == 235 {
		// "AUTH PLAIN <base64>" typed by hand: the user is in the
		// response, which the engine does not decode; any user counts.
		r.user = "*"
	}
}

// judgeState checks a task's expectations on the state reached; wait
// polls the mailbox as a mailbox step does.
func (r *run) judgeState(ctx context.Context, st *lesson.Step, wait bool) (string, error) {
	out := &outcome{reply: r.last}
	if r.sess != nil {
		if stt, ok := r.sess.TLS(); ok {
			out.tls = &stt
		}
	}
	var reasons []string
	var rest []lesson.Expect
	mail := false
	for _, e := range st.Expect {
		switch e.Kind {
		case lesson.State:
			if string(r.cur) != e.Word && !(e.Word == "connected" && r.cur == StateSecure) {
				now := string(r.cur)
				if now == "" {
					now = "not connected"
				}
				reasons = append(reasons, fmt.Sprintf("expected the connection %s, it is %s", e.Word, now))
			}
		case lesson.Authenticated:
			if r.user == "" || e.Word != "" && r.user != "*" && !strings.EqualFold(r.user, e.Word) {
				who := "logged in"
				if e.Word != "" {
					who = "logged in as " + e.Word
				}
				reasons = append(reasons, "expected the connection "+who)
			}
		case lesson.HasMessage, lesson.NoMessage:
			mail = true
			rest = append(rest, e)
		default:
			rest = append(rest, e)
		}
	}
	if mail {
		poll := *st
		poll.Expect = rest
		r.quiet = !wait // one quiet read; the Engine's settings stay as they are
		r.mailbox(ctx, &poll, out)
		r.quiet = false
		if out.err != nil {
			return "", out.err
		}
	}
	judged := *st
	judged.Expect = rest
	if why := r.check(&judged, out); why != "" {
		reasons = append(reasons, why)
	}
	return strings.Join(reasons, "; "), nil
}

// predict asks the step's question, when it has one and the input can
// answer. asked is false when nothing was asked.
func (r *run) predict(ctx context.Context, st *lesson.Step) (choice int, asked bool, err error) {
	p, ok := r.e.Input.(Predictor)
	if st.Predict == "" || !ok {
		return 0, false, nil
	}
	choice, err = p.Predict(ctx, st)
	if err != nil {
		return 0, false, err
	}
	if choice < 0 || choice >= len(st.Choices) {
		return 0, false, fmt.Errorf("no choice %d", choice)
	}
	return choice, true, nil
}

// judge reports the answer to a prediction once the step has played.
func (r *run) judge(i int, st *lesson.Step, choice int) {
	c := st.Choices[choice]
	right := st.Choices[max(st.Correct(), 0)]
	if c.Correct {
		r.note("engine.prediction-right", c.Text, right.Why)
	} else {
		r.note("engine.prediction-wrong", c.Text, right.Text, right.Why)
	}
	r.event(Event{Kind: StepPredicted, Index: i, Step: st, Choice: choice, Correct: c.Correct, Typed: c.Text, Reason: c.Why, Result: right.Why})
}

// wrecking are the SMTP verbs that change the session the next steps
// rely on: sent at another step, they would end the connection (QUIT),
// start or drop a transaction (MAIL, RCPT, DATA, BDAT, RSET) or change
// the connection's security (STARTTLS, AUTH).
var wrecking = []string{"QUIT", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "STARTTLS", "AUTH"}

// holdBack says why a typed line must not be sent at a typed step ("" to
// send it): a line that would wreck the lesson. Other lines, right or
// not, go to the real server. A line the step's accept: pattern allows
// is the author's choice and always sent.
func holdBack(st *lesson.Step, line string, a lesson.Action, inData bool) string {
	if inData || st.Accept != "" && Glob(st.Accept, line) {
		return ""
	}
	want := st.Action
	switch a.Kind {
	case lesson.Connect:
		if want.Kind != lesson.Connect {
			return "a new connection would drop the one this lesson is using"
		}
		if a.Host != want.Host || a.Port != want.Port {
			return fmt.Sprintf("this step connects to %s, not %s", want.Target(), a.Target())
		}
		return ""
	case lesson.Profile, lesson.Close, lesson.Message, lesson.Policy:
		if a.Kind != want.Kind {
			return fmt.Sprintf("%s would change what the next steps rely on; this step needs %s", a.Kind, st.Action.Verb())
		}
		return ""
	}
	if a.Verb() == want.Verb() || want.Verb() == "AUTH" && a.Kind == lesson.Auth {
		return ""
	}
	if slices.Contains(wrecking, a.Verb()) {
		if a.Verb() == "QUIT" {
			return "QUIT would end the connection the next steps need; this step needs " + want.Verb()
		}
		return fmt.Sprintf("%s would change the session the next steps rely on; this step needs %s", a.Verb(), want.Verb())
	}
	return ""
}

// alternatives explain why a step wants its own command when the
// student sent another that the server accepted.
var alternatives = map[[2]string]string{
	// RFC 5321 §4.1.1.1: HELO gets a plain 250; only EHLO's reply lists
	// the extensions (STARTTLS, AUTH, SIZE) the later steps use.
	{"EHLO", "HELO"}: "the server answered your HELO with a plain greeting: HELO is the old command, and only EHLO asks the server to list its extensions (STARTTLS, AUTH, SIZE) that the next steps use; type EHLO",
}

// alternative returns why a line that was sent does not do this step
// ("" when it is this step's own command).
func alternative(st *lesson.Step, line string, a lesson.Action) string {
	want, got := st.Action.Verb(), a.Verb()
	if st.Accept != "" {
		if Glob(st.Accept, line) {
			return ""
		}
		return fmt.Sprintf("the server answered; this step needs a line like %q", st.Accept)
	}
	if want == got || want == "AUTH" && a.Kind == lesson.Auth || a.Kind != lesson.Send {
		return ""
	}
	if why, ok := alternatives[[2]string{want, got}]; ok {
		return why
	}
	return fmt.Sprintf("the server answered your %s; this step needs %s", got, want)
}
