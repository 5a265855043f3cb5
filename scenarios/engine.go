package scenarios

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// Target names a door of the simulated world; see [tunnel.Target].
type Target = tunnel.Target

// Dialer opens a connection to a simulated host through the student's
// network profile. [tunnel.Dialer] is the real one. Refusals are errors
// that errors.Is [tunnel.ErrRefused], [tunnel.ErrTimedOut] or
// [tunnel.ErrUnknownHost].
type Dialer interface {
	Dial(ctx context.Context, t Target) (net.Conn, error)
}

// Message is one message in a lab's mailbox: a copy kept by a simulated
// host that accepted it, with how it arrived there. Its JSON is the shape
// of GET /api/labs/{id}/messages, which both mailbox readers (the headless
// runner's and the browser's) decode straight into it.
type Message struct {
	ID      string   `json:"id"`
	From    string   `json:"from"` // MAIL FROM; "" for the null sender <> of a bounce
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	// Port and Host are the door the message came in by.
	Port       int    `json:"port"`
	Host       string `json:"host"`
	TLS        bool   `json:"tls"`
	TLSVersion string `json:"tls_version"` // "TLS 1.3"
	AuthUser   string `json:"auth_user"`   // "" when not authenticated
	// Relayed is true when the receiving host is not the final
	// destination of the recipient's domain and had to pass the message
	// on (the server's mailbox sets it).
	Relayed    bool      `json:"relayed"`
	ReceivedAt time.Time `json:"received_at"`
	// Headers are the message's header fields in order, as the mailbox
	// shows them (a bounce's, or a From: that is not MAIL FROM).
	Headers []Header `json:"headers,omitempty"`
}

// Header is one header field of a mailbox message.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Mailbox reads the lab's mailbox.
type Mailbox interface {
	Messages(ctx context.Context) ([]Message, error)
}

// LabPolicy reads and changes the lab's own relay policy, for a policy
// action (docs/teaching-map.md L27). SetPolicy's error, when the server
// refuses the text, says what is wrong at which line.
type LabPolicy interface {
	Policy(ctx context.Context) (text string, err error)
	SetPolicy(ctx context.Context, text string) error
	ResetPolicy(ctx context.Context) error
}

// Input supplies what the student types at a typed step. attempt counts
// tries at this step from 1. Returning the step's [lesson.Step.Answer] is
// "play this step for me". An error ends the lesson.
type Input interface {
	Typed(ctx context.Context, step *lesson.Step, attempt int) (string, error)
}

// Predictor is the optional part of an [Input] that answers a step's
// prediction before the step plays: the index of the chosen
// [lesson.Choice]. An Input without it skips predictions.
type Predictor interface {
	Predict(ctx context.Context, step *lesson.Step) (int, error)
}

// CheckLine is what an [Input] returns at a task step to have the state
// judged now (the player's Check button, "check" typed in the terminal):
// the mailbox is polled as a mailbox step polls it.
const CheckLine = "check"

// PlayInput types each typed step's answer and each task's solution
// followed by a check, and answers predictions correctly: the headless
// runner's input. If that does not satisfy the step, the step fails.
type PlayInput struct{}

// Typed returns the step's answer on the first try, an error after; at a
// task, the solution's lines one per try, then a check.
func (PlayInput) Typed(_ context.Context, st *lesson.Step, attempt int) (string, error) {
	if st.Mode == lesson.Task {
		switch {
		case attempt <= len(st.Solution):
			return st.Solution[attempt-1].Text, nil
		case attempt == len(st.Solution)+1:
			return CheckLine, nil
		}
		return "", errors.New("the task's own solution did not reach its goal")
	}
	if attempt > 1 {
		return "", fmt.Errorf("the step's own answer %q did not satisfy it", st.Answer())
	}
	return st.Answer(), nil
}

// Predict chooses the correct answer.
func (PlayInput) Predict(_ context.Context, st *lesson.Step) (int, error) { return st.Correct(), nil }

// EventKind names a progress event.
type EventKind int

const (
	LessonStarted EventKind = iota + 1
	StepStarted
	// StepRetry: a typed try did not satisfy the step; Reason says why
	// and Hint is the step's hint. The engine waits for another try.
	StepRetry
	// StepPredicted: the student answered the step's prediction and the
	// step has played. Choice is the answer's index, Correct whether it
	// was right, Reason the chosen answer's line of why and Result the
	// correct answer's.
	StepPredicted
	// TaskChecked: a task's state was judged after a line and the goal
	// is not reached yet; Reason says what is missing. (An explicit check
	// that fails is a StepRetry.)
	TaskChecked
	StepPassed
	StepFailed
	LessonPassed
	LessonFailed
)

func (k EventKind) String() string {
	switch k {
	case LessonStarted:
		return "lesson-started"
	case StepStarted:
		return "step-started"
	case StepRetry:
		return "step-retry"
	case StepPredicted:
		return "step-predicted"
	case TaskChecked:
		return "task-checked"
	case StepPassed:
		return "step-passed"
	case StepFailed:
		return "step-failed"
	case LessonPassed:
		return "lesson-passed"
	case LessonFailed:
		return "lesson-failed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event reports progress.
type Event struct {
	Kind   EventKind
	Lesson string
	// Step is nil for lesson events. Index counts from 0; Steps is the
	// lesson's step count.
	Step  *lesson.Step
	Index int
	Steps int
	// Attempt and Typed describe a typed try.
	Attempt int
	Typed   string
	// Result says briefly what happened: the first reply line,
	// "Connection refused", "3 new messages".
	Result string
	// Reason says why a step failed or a try was wrong.
	Reason string
	// Hint is the hint for this try: the first after the first wrong
	// try, the next after the next (see [lesson.Step.Hint]).
	Hint string
	// Choice and Correct describe a prediction's answer.
	Choice  int
	Correct bool
	// Held is true for a StepRetry whose line was not sent because it
	// would wreck the lesson (Reason says why).
	Held bool
	At   time.Time
}

// StepError is the error of a lesson that failed at a step.
type StepError struct {
	Lesson string
	Index  int // from 0
	Step   string
	Reason string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s: step %d (%s): %s", e.Lesson, e.Index+1, e.Step, e.Reason)
}

// Engine plays lessons. Fields left zero get the defaults noted. An Engine
// may play several lessons one after another, not at the same time.
type Engine struct {
	Dialer Dialer
	// Mailbox is needed by lessons with a mailbox step.
	Mailbox Mailbox
	// Policy is needed by lessons that change the lab's policy.
	Policy LabPolicy
	// Input feeds typed steps; nil plays them (PlayInput).
	Input Input
	// Server, Lab and the lab's Key go into every Target.
	Server, Lab, Key string
	// Profile, if set, replaces the lesson's starting profile.
	Profile string
	// RootCAs is the sandbox CA pool for TLS.
	RootCAs *x509.CertPool
	// Now stamps events and transcript lines and dates messages;
	// default time.Now.
	Now func() time.Time
	// Sleep waits for wait steps and between mailbox polls; default a
	// timer. Tests inject one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnEvent receives progress; OnLine the SMTP transcript, including
	// each state change's note (telnet's "Trying ...", "Connected to
	// ..."); OnState the connection-state changes themselves, for what
	// shows a state (a terminal header, a port board) without reading it
	// back from the transcript's text.
	OnEvent func(Event)
	OnLine  func(session.Line)
	OnState func(StateChange)

	// DialTimeout bounds a dial; it must exceed the gateway's own dial
	// timeout so that "timed out" comes from the gateway. Default 30s.
	DialTimeout time.Duration
	// ReplyTimeout bounds each read or write; default 15s.
	ReplyTimeout time.Duration
	// MailboxWait is how long a mailbox step polls for expected
	// messages (relayed mail and bounces arrive a little later);
	// default 10s, polled every MailboxPoll (default 250ms).
	MailboxWait time.Duration
	MailboxPoll time.Duration
	// ClosedWait bounds the wait for the server to hang up; default 5s.
	ClosedWait time.Duration
	// MaxAttempts ends a typed step after so many wrong tries; 0 means
	// no limit.
	MaxAttempts int
	// Catalog prints the engine's own notes ("1 new message", "Not
	// sent: ...") in the student's language (internal/i18n); nil is
	// English. What the wire and telnet print stays as they print it.
	Catalog *i18n.Catalog
}

func (e *Engine) defaults() {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Sleep == nil {
		e.Sleep = sleep
	}
	if e.Input == nil {
		e.Input = PlayInput{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&e.DialTimeout, 30*time.Second)
	def(&e.ReplyTimeout, 15*time.Second)
	def(&e.MailboxWait, 10*time.Second)
	def(&e.MailboxPoll, 250*time.Millisecond)
	def(&e.ClosedWait, 5*time.Second)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run plays the lesson from its first step. It returns nil when every
// step passed, a *[StepError] when one failed, or the context's error.
func (e *Engine) Run(ctx context.Context, l *lesson.Lesson) error {
	e.defaults()
	r := &run{e: e, l: l, profile: l.Profile}
	if e.Profile != "" {
		r.profile = e.Profile
	}
	defer r.hangup(false)
	r.event(Event{Kind: LessonStarted})
	if err := r.baseline(ctx); err != nil {
		se := &StepError{Lesson: l.Name, Index: 0, Step: "(start)", Reason: err.Error()}
		r.event(Event{Kind: LessonFailed, Reason: se.Reason})
		return se
	}
	for i, st := range l.Steps {
		if err := r.step(ctx, i, st); err != nil {
			var se *StepError
			if errors.As(err, &se) {
				r.event(Event{Kind: LessonFailed, Index: i, Step: st, Reason: se.Reason})
			}
			return err
		}
	}
	r.event(Event{Kind: LessonPassed})
	return nil
}

type run struct {
	e       *Engine
	l       *lesson.Lesson
	profile string
	sess    *session.Session
	target  Target          // of sess
	secure  bool            // sess has finished a TLS handshake
	seen    map[string]bool // mailbox ids present before the lesson

	// The state a task judges: the last reply on the current
	// connection, its state and who logged in on it.
	last *session.Reply
	cur  ConnState
	user string
	// quiet keeps a task's check after each line out of the transcript.
	quiet bool
}

// state reports a connection-state change to OnState and its note to
// the transcript (unless note is false: the session has said it).
func (r *run) state(c StateChange, note bool) {
	r.cur = c.State
	if c.State == StateConnecting {
		r.last = nil
	}
	if c.State == StateConnecting || c.State == StateClosed {
		r.user = ""
	}
	if r.e.OnState != nil {
		r.e.OnState(c)
	}
	if text := c.NoteIn(r.e.Catalog); note && text != "" {
		r.say(text)
	}
}

func (r *run) event(ev Event) {
	if r.e.OnEvent == nil {
		return
	}
	ev.Lesson = r.l.Name
	ev.Steps = len(r.l.Steps)
	ev.At = r.e.Now()
	r.e.OnEvent(ev)
}

// note writes the catalog message key, formatted with args, to the
// transcript as a note.
func (r *run) note(key string, args ...any) { r.say(r.e.Catalog.T(key, args...)) }

// say writes text to the transcript as a note.
func (r *run) say(text string) {
	if r.e.OnLine != nil {
		r.e.OnLine(session.Line{Who: session.Note, Text: text, At: r.e.Now()})
	}
}

// baseline records the messages already in the mailbox, so that a lesson
// played twice in one lab judges only its own mail.
func (r *run) baseline(ctx context.Context) error {
	need := false
	for _, st := range r.l.Steps {
		need = need || st.Action.Kind == lesson.Mailbox
		for _, e := range st.Expect {
			need = need || st.Mode == lesson.Task && (e.Kind == lesson.HasMessage || e.Kind == lesson.NoMessage)
		}
	}
	if !need {
		return nil
	}
	if r.e.Mailbox == nil {
		return errors.New("this lesson checks the mailbox, and the player has none")
	}
	msgs, err := r.e.Mailbox.Messages(ctx)
	if err != nil {
		return fmt.Errorf("reading the mailbox: %w", err)
	}
	r.seen = map[string]bool{}
	for _, m := range msgs {
		r.seen[m.ID] = true
	}
	return nil
}

func (r *run) step(ctx context.Context, i int, st *lesson.Step) error {
	r.event(Event{Kind: StepStarted, Index: i, Step: st})
	fail := func(reason string) error {
		r.event(Event{Kind: StepFailed, Index: i, Step: st, Reason: reason})
		return &StepError{Lesson: r.l.Name, Index: i, Step: st.ID, Reason: reason}
	}
	if st.Mode == lesson.Task {
		return r.task(ctx, i, st, fail)
	}
	if st.Mode != lesson.Typed {
		choice, asked, err := r.predict(ctx, st)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fail("no answer to the prediction: " + err.Error())
		}
		out := r.do(ctx, st, st.Action)
		if err := ctx.Err(); err != nil {
			return err
		}
		r.track(st.Action, out)
		if asked {
			r.judge(i, st, choice)
		}
		if reason := r.check(st, out); reason != "" {
			return fail(reason)
		}
		r.event(Event{Kind: StepPassed, Index: i, Step: st, Result: out.describe(r.e.Catalog)})
		return nil
	}
	last := ""
	for attempt := 1; ; attempt++ {
		line, err := r.typed(ctx, st, attempt, last, fail)
		if err != nil {
			return err
		}
		var reason, result string
		a, err := r.parse(line)
		held := false
		switch {
		case err != nil:
			reason = err.Error()
		default:
			if reason = holdBack(st, line, a, r.inData()); reason != "" {
				held = true
				r.note("engine.not-sent", reason)
				break
			}
			out := r.do(ctx, st, a)
			if err := ctx.Err(); err != nil {
				return err
			}
			r.track(a, out)
			reason, result = r.check(st, out), out.describe(r.e.Catalog)
			if why := alternative(st, line, a); why != "" {
				// A valid line, but not this step's: the server answered
				// it; the step says why it wants its own.
				reason = why
			}
		}
		if reason == "" {
			r.event(Event{Kind: StepPassed, Index: i, Step: st, Attempt: attempt, Typed: line, Result: result})
			return nil
		}
		last = reason
		if r.e.MaxAttempts > 0 && attempt >= r.e.MaxAttempts {
			return fail(fmt.Sprintf("%s (after %d tries)", reason, attempt))
		}
		r.event(Event{Kind: StepRetry, Index: i, Step: st, Attempt: attempt, Typed: line, Result: result, Reason: reason, Hint: st.Hint(attempt), Held: held})
	}
}

// typed reads the student's next line at st. When the input ends, the
// step fails with the last reason it gave, if any; err is then what the
// caller returns.
func (r *run) typed(ctx context.Context, st *lesson.Step, attempt int, last string, fail func(string) error) (string, error) {
	line, err := r.e.Input.Typed(ctx, st, attempt)
	if err == nil {
		return line, nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if last != "" {
		return "", fail(last)
	}
	return "", fail("no input: " + err.Error())
}

// parse reads a typed line with the one grammar; after 354 a line is
// message content, whatever it says.
func (r *run) parse(line string) (lesson.Action, error) {
	if r.inData() {
		return lesson.Action{Kind: lesson.Send, Text: line, Command: line}, nil
	}
	return lesson.ParseTyped(line)
}

// inData reports whether the open session is inside a message (after 354).
func (r *run) inData() bool { return r.sess != nil && r.sess.InData() }

// Glob matches s against a pattern in which "*" matches any run of
// characters, ignoring case.
func Glob(pattern, s string) bool {
	p, s := strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// hangup closes the session, if any, and reports the state; note says
// whether the transcript should say so too (the session notes a close by
// the server itself).
func (r *run) hangup(note bool) {
	if r.sess != nil {
		r.sess.Close()
		r.sess = nil
		r.secure = false
		r.state(StateChange{State: StateClosed, Target: r.target}, note)
	}
}
