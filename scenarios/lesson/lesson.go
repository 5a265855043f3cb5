// Package lesson reads portlab's lesson files: teacher-editable Markdown
// that reads as a tutorial page in a code review and that the scenario
// engine can play. The format is described in scenarios/README.md; in
// short, a front matter block, an introduction, then one "## Title {#id}"
// section per step, each holding narration and a fenced "step" block:
//
//	## Say hello {#ehlo}
//
//	Narration in Markdown, shown before the step.
//
//	```step
//	do: send EHLO laptop.example
//	expect: 250
//	expect: capability STARTTLS
//	mode: typed
//	hint: Type EHLO and a name for your computer.
//	```
//
//	Text after the block is shown once the step passed.
//
// Translations live beside the lesson as NAME.LANG.md and hold only text,
// keyed by step id. Errors name the file and line: "file:line: message".
package lesson

import (
	"fmt"
	"strings"
	"time"
)

// Lesson is one parsed lesson file.
type Lesson struct {
	// Name is the file name without ".md": "first-contact".
	Name string
	// File is the path used in error messages.
	File string
	// Lang is the language of the text: "en", or a translation's code.
	Lang string

	Title   string
	Summary string
	// Level is beginner, intermediate or advanced.
	Level   string
	Minutes int
	// Profile is the network profile the lesson starts under.
	Profile string
	// Teaches lists the lessons of docs/teaching-map.md taught: "L1", "L10".
	Teaches []string

	// Intro is the Markdown before the first step.
	Intro string
	Steps []*Step
}

// Mode says who acts in a step.
type Mode int

const (
	// Played steps are performed by the engine.
	Played Mode = iota
	// Typed steps wait for the student to type something that satisfies
	// the expectations; the action is what "play it for me" sends.
	Typed
	// Task steps state a goal; the student uses the terminal freely and
	// the step passes when its expectations hold on the state reached.
	// The solution is what "Show me" and the headless runner type.
	Task
)

func (m Mode) String() string {
	switch m {
	case Typed:
		return "typed"
	case Task:
		return "task"
	}
	return "played"
}

// MaxHints is how many hints a step may give, from a nudge to a near
// answer.
const MaxHints = 3

// Step is one step of a lesson.
type Step struct {
	ID    string
	Title string
	// Line is the line of the step's heading.
	Line int
	// Narration is the Markdown between the heading and the step block.
	Narration string
	// After is the Markdown after the step block, shown once it passed.
	After  string
	Action Action
	Expect []Expect
	Mode   Mode
	// Hints are shown one at a time, on request or after a wrong try,
	// from a nudge to a near answer; at most MaxHints.
	Hints []string
	// Accept is a pattern a typed line must match before it is sent
	// ("*" matches anything, case is ignored). Empty means the typed
	// line must use the same command as the action.
	Accept string
	// Body holds the message text lines of a "message" action.
	Body []string

	// Goal is what a task step asks the student to reach.
	Goal string
	// Solution is a task's typed lines, in the terminal's grammar
	// ([ParseTyped]): one route to the goal, which "Show me" types.
	Solution []SolutionLine

	// Predict is a question asked before a played step plays ("what
	// will happen when ...?"); Choices are its answers, one correct.
	Predict string
	Choices []Choice
}

// SolutionLine is one typed line of a task's solution.
type SolutionLine struct {
	Text string
	Line int
}

// Choice is one answer to a step's prediction, with the line of why shown
// once the step has played.
type Choice struct {
	Text    string
	Why     string
	Correct bool
	Line    int
}

// Hint returns the hint for the n-th request (from 1): each request
// shows the next hint, the last one repeating; "" when there is none.
func (s *Step) Hint(n int) string {
	if len(s.Hints) == 0 || n < 1 {
		return ""
	}
	return s.Hints[min(n, len(s.Hints))-1]
}

// StudentDoes reports whether the student does the step: types it, reaches
// a task's goal, or predicts what it will do before it plays. Every lesson
// needs one at its key moment (issue 11): watching alone teaches little.
func (s *Step) StudentDoes() bool {
	return s.Mode == Typed || s.Mode == Task || s.Predict != ""
}

// Correct returns the index of the prediction's correct choice, or -1.
func (s *Step) Correct() int {
	for i, c := range s.Choices {
		if c.Correct {
			return i
		}
	}
	return -1
}

// ActionKind names what a step does.
type ActionKind int

const (
	Connect  ActionKind = iota + 1 // connect HOST:PORT [tls] [under PROFILE]
	Send                           // send LINE
	StartTLS                       // starttls
	Auth                           // auth plain|login USER PASSWORD
	Message                        // message from ADDR [header-from "NAME <ADDR>"] to ADDR[,ADDR] [subject "TEXT"]
	Profile                        // profile NAME
	Wait                           // wait DURATION
	Mailbox                        // mailbox
	Close                          // close
	Policy                         // policy add "LINE"... | policy reset
)

var actionNames = map[ActionKind]string{
	Connect: "connect", Send: "send", StartTLS: "starttls", Auth: "auth", Message: "message",
	Profile: "profile", Wait: "wait", Mailbox: "mailbox", Close: "close", Policy: "policy",
}

func (k ActionKind) String() string {
	if s, ok := actionNames[k]; ok {
		return s
	}
	return fmt.Sprintf("ActionKind(%d)", int(k))
}

// Action is what a step does.
type Action struct {
	Kind ActionKind
	// Text is the action as written after "do:", which is also what a
	// student would type to perform it.
	Text string
	Line int

	// Connect
	Host  string
	Port  int
	TLS   bool   // implicit TLS: handshake at once (465)
	Under string // profile for this connection only

	// Send: the command line.
	Command string

	// Auth: "PLAIN" or "LOGIN".
	Mechanism      string
	User, Password string

	// Message: From is the envelope sender (MAIL FROM); HeaderFrom, when
	// set, is the From: header field written instead of From, as a
	// mailing list or a delivery service writes its author's address
	// while bounces go to its own.
	From       string
	HeaderFrom string
	To         []string
	Subject    string

	// Profile: the profile to switch to.
	ProfileName string

	// Wait
	Duration time.Duration

	// Policy: the lines added to the lab's policy (one block or
	// directive per quoted line), or none to reset it to the server's;
	// at the end, or after the first line that reads PolicyAfter (spaces
	// around either ignored), to change a block already there.
	PolicyLines []string
	PolicyAfter string
}

// Verb is the command word used to match a typed line against the
// action: "CONNECT", "STARTTLS", "AUTH", or the SMTP verb of a send.
func (a Action) Verb() string {
	if a.Kind == Send {
		v, _, _ := strings.Cut(strings.TrimSpace(a.Command), " ")
		return strings.ToUpper(v)
	}
	return strings.ToUpper(a.Kind.String())
}

// Target returns host:port for a connect action.
func (a Action) Target() string { return fmt.Sprintf("%s:%d", a.Host, a.Port) }

// ExpectKind names a kind of expectation.
type ExpectKind int

const (
	Reply        ExpectKind = iota + 1 // CODE [ENHANCED] ["TEXT"]
	Refused                            // refused
	TimedOut                           // timed out
	UnknownHost                        // unknown host
	Silent                             // silent DURATION
	Banner                             // banner "TEXT"
	Capability                         // capability KEYWORD [PARAM]
	NoCapability                       // no capability KEYWORD [PARAM]
	TLSAtLeast                         // tls at least 1.2
	Closed                             // closed
	HasMessage                         // message KEY=VALUE...
	NoMessage                          // no message KEY=VALUE...
	TLSRefused                         // tls refused "TEXT"
	// State and Authenticated judge the state a task reached.
	State         // state connected|tls|closed|refused|timeout|silent|unknown
	Authenticated // authenticated [USER]
)

// StateWords are the connection states a "state" expectation names: the
// words of the engine's connection states.
var StateWords = []string{"connecting", "connected", "silent", "tls", "closed", "refused", "timeout", "unknown"}

// Expect is one expectation of a step. All of a step's must hold.
type Expect struct {
	Kind ExpectKind
	// Text is the expectation as written after "expect:".
	Text string
	Line int

	// Reply: Code is three characters, digits or "x" ("2xx"); Enhanced
	// and Contains are optional (Contains ignores case).
	Code     string
	Enhanced string
	Contains string

	// Silent
	Duration time.Duration

	// Capability, NoCapability: an EHLO keyword and optional parameter.
	Keyword string
	Param   string

	// TLSAtLeast: a crypto/tls version constant.
	TLSVersion uint16

	// HasMessage, NoMessage
	Match MessageMatch

	// State: one of StateWords. Authenticated: the user, "" for anyone.
	Word string
}

// MessageMatch selects mailbox messages; zero fields match anything.
type MessageMatch struct {
	From    *string // "" is the null sender <>
	To      string  // one of the recipients
	Subject string  // contained, ignoring case
	Host    string
	Port    int
	TLS     *bool
	// TLSVersion is the minimum version, e.g. "1.2".
	TLSVersion string
	Auth       *string // "" means not authenticated
	Relayed    *bool
	// HeaderName and HeaderValue: a header field of that name (case
	// ignored) whose value contains HeaderValue (case ignored).
	HeaderName, HeaderValue string
}

// MatchesCode reports whether a reply code matches a pattern like "2xx".
func MatchesCode(pattern string, code int) bool {
	s := fmt.Sprintf("%03d", code)
	if len(pattern) != 3 {
		return false
	}
	for i := range 3 {
		if pattern[i] != 'x' && pattern[i] != s[i] {
			return false
		}
	}
	return true
}

// Answer is the line a student would type to perform the step's action,
// which "play this step for me" types: the command itself for a send,
// the action as written otherwise ("connect smtp.relay.test:587").
func (s *Step) Answer() string {
	if s.Mode == Task {
		if len(s.Solution) == 0 {
			return ""
		}
		return s.Solution[0].Text
	}
	if s.Action.Kind == Send {
		return s.Action.Command
	}
	return s.Action.Text
}
