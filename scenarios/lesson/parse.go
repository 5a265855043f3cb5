package lesson

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Parser reads lesson files, checking host and profile names against the
// simulated world. Empty lists skip that check.
type Parser struct {
	Profiles []string
	Hosts    []string
}

// World is the starting cast of ARCHITECTURE.md: the profiles and hosts a
// lesson may name. The lint command may use a Parser loaded from the
// server's world files instead.
var World = Parser{
	// other-datacenter: nothing blocked, outside the relay's trusted
	// network (the open-relay lesson's stranger).
	Profiles: []string{"datacenter", "other-datacenter", "home-isp", "cloud-vm", "corporate", "hotel-wifi"},
	Hosts: []string{
		"mx.sandbox.test", "smtp.relay.test", "legacy.mail.test", "mx.example.org",
		"mx.notls.test", "mail.sandbox.test", "smtp.hotel-wifi.test",
		"mx.greylist.test", "mx.selfsigned.test",
	},
}

// Parse reads a lesson with the [World] parser.
func Parse(file string, src []byte) (*Lesson, error) { return World.Parse(file, src) }

// Levels are the allowed values of "level".
var Levels = []string{"beginner", "intermediate", "advanced"}

var (
	idRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	headingRE = regexp.MustCompile(`^##\s+(.*?)\s*(?:\{#([^}]*)\})?\s*$`)
	teachRE   = regexp.MustCompile(`^L[0-9]+$`)
)

// SplitName splits a lesson file name: "first-contact.md" gives
// ("first-contact", ""), "first-contact.pt.md" gives ("first-contact",
// "pt"). ok is false for other files.
func SplitName(file string) (name, lang string, ok bool) {
	base, found := strings.CutSuffix(path.Base(file), ".md")
	if !found || base == "" || strings.EqualFold(base, "README") {
		return "", "", false
	}
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		return base[:i], base[i+1:], true
	}
	return base, "", true
}

// source is the raw shape shared by lessons and translations.
type source struct {
	file     string
	front    []kv
	intro    string
	sections []*section
	errs     ErrorList
}

type kv struct {
	key, value string
	line       int
}

type section struct {
	title, id string
	line      int
	hasID     bool
	before    []string
	after     []string
	block     []kv // nil: no step block
	blockLine int
}

func (s *source) errorf(line int, format string, args ...any) {
	s.errs = append(s.errs, &Error{File: s.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// split reads front matter, introduction and "## " sections.
func split(file string, src []byte) *source {
	s := &source{file: file}
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	i := 0
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		s.errorf(1, "a lesson starts with front matter: a line \"---\", key: value lines, and \"---\"")
	} else {
		closed := false
		for i = 1; i < len(lines); i++ {
			l := strings.TrimSpace(lines[i])
			if l == "---" {
				closed = true
				i++
				break
			}
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				s.errorf(i+1, "front matter: want key: value, got %q", l)
				continue
			}
			s.front = append(s.front, kv{strings.TrimSpace(k), strings.TrimSpace(v), i + 1})
		}
		if !closed {
			s.errorf(1, "front matter is not closed by a line \"---\"")
			return s
		}
	}

	var intro []string
	var cur *section
	fence := "" // the fence that opened a code block in narration
	fenceLine := 0
	inBlock := false
	for ; i < len(lines); i++ {
		line, n := lines[i], i+1
		trimmed := strings.TrimSpace(line)
		switch {
		case inBlock:
			if trimmed == "```" {
				inBlock = false
				continue
			}
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			k, v, ok := strings.Cut(trimmed, ":")
			if !ok {
				s.errorf(n, "step block: want key: value, got %q", trimmed)
				continue
			}
			cur.block = append(cur.block, kv{strings.TrimSpace(k), strings.TrimSpace(v), n})
			continue
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
		case trimmed == "```step":
			if cur == nil {
				s.errorf(n, "step block before the first step heading (## Title {#id})")
				inBlock = true
				cur = &section{line: n}
				continue
			}
			if cur.block != nil || cur.blockLine != 0 {
				s.errorf(n, "a second step block in step %q: one step, one block", cur.id)
			}
			cur.blockLine = n
			cur.block = []kv{}
			inBlock = true
			continue
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence, fenceLine = trimmed[:3], n
		case strings.HasPrefix(line, "## "):
			m := headingRE.FindStringSubmatch(line)
			cur = &section{title: m[1], id: m[2], hasID: strings.Contains(line, "{#"), line: n}
			s.sections = append(s.sections, cur)
			continue
		}
		switch {
		case cur == nil:
			intro = append(intro, line)
		case cur.blockLine == 0:
			cur.before = append(cur.before, line)
		default:
			cur.after = append(cur.after, line)
		}
	}
	if inBlock {
		s.errorf(cur.blockLine, "step block is not closed by a line \"```\"")
	}
	if fence != "" {
		s.errorf(fenceLine, "a code block in the narration is not closed")
	}
	// An H1 repeating the title reads well on GitHub; the player shows
	// the title itself.
	for len(intro) > 0 && strings.TrimSpace(intro[0]) == "" {
		intro = intro[1:]
	}
	if len(intro) > 0 && strings.HasPrefix(intro[0], "# ") {
		intro = intro[1:]
	}
	s.intro = markdown(intro)
	return s
}

func markdown(lines []string) string {
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Parse reads one lesson file. The error, if any, is an [ErrorList] with
// every problem found.
func (p Parser) Parse(file string, src []byte) (*Lesson, error) {
	name, lang, ok := SplitName(file)
	if !ok || lang != "" {
		return nil, ErrorList{{File: file, Line: 1, Msg: "a lesson file is named NAME.md (NAME.LANG.md is a translation)"}}.Err()
	}
	s := split(file, src)
	l := &Lesson{Name: name, File: file, Lang: "en", Intro: s.intro}
	p.front(s, l)
	if len(s.sections) == 0 && len(s.errs) == 0 {
		s.errorf(1, "no steps: add a section \"## Title {#id}\" with a ```step block")
	}
	ids := map[string]int{}
	var prev *Step
	for _, sec := range s.sections {
		if sec.blockLine == 0 && !sec.hasID {
			// A plain section, such as "## What you learned": text shown
			// after the previous step (or in the introduction).
			text := "## " + sec.title + "\n" + markdown(append(sec.before, sec.after...))
			if prev == nil {
				l.Intro = strings.TrimSpace(l.Intro + "\n\n" + text)
			} else {
				prev.After = strings.TrimSpace(prev.After + "\n\n" + text)
			}
			continue
		}
		st := &Step{ID: sec.id, Title: sec.title, Line: sec.line, Narration: markdown(sec.before), After: markdown(sec.after)}
		switch {
		case !sec.hasID:
			s.errorf(sec.line, "step heading needs an id: ## %s {#some-id}", sec.title)
		case !idRE.MatchString(sec.id):
			s.errorf(sec.line, "step id %q: use lower-case letters, digits and dashes", sec.id)
		case ids[sec.id] != 0:
			s.errorf(sec.line, "step id %q already used at line %d", sec.id, ids[sec.id])
		default:
			ids[sec.id] = sec.line
		}
		if sec.title == "" {
			s.errorf(sec.line, "step heading has no title")
		}
		if sec.blockLine == 0 {
			s.errorf(sec.line, "step %q has no ```step block", sec.id)
		} else {
			p.block(s, st, sec)
		}
		l.Steps = append(l.Steps, st)
		prev = st
	}
	p.flow(s, l)
	if len(l.Steps) > 0 && !slices.ContainsFunc(l.Steps, (*Step).StudentDoes) {
		s.errorf(l.Steps[0].Line, "no step for the student to do: make the lesson's key moment typed (mode: typed), a task (mode: task), or ask a prediction before it plays (predict:)")
	}
	if err := s.errs.Err(); err != nil {
		return l, err
	}
	return l, nil
}

func (p Parser) front(s *source, l *Lesson) {
	seen := map[string]int{}
	for _, f := range s.front {
		if seen[f.key] != 0 {
			s.errorf(f.line, "%s given twice (first at line %d)", f.key, seen[f.key])
		}
		seen[f.key] = f.line
		switch f.key {
		case "title":
			l.Title = f.value
		case "summary":
			l.Summary = f.value
		case "level":
			if !slices.Contains(Levels, f.value) {
				s.errorf(f.line, "level %q: want one of %s", f.value, strings.Join(Levels, ", "))
			}
			l.Level = f.value
		case "minutes":
			n, err := strconv.Atoi(f.value)
			if err != nil || n < 1 || n > 240 {
				s.errorf(f.line, "minutes %q: want a whole number from 1 to 240", f.value)
			}
			l.Minutes = n
		case "profile":
			p.checkProfile(s, f.line, f.value)
			l.Profile = f.value
		case "teaches":
			for _, t := range strings.Split(f.value, ",") {
				t = strings.TrimSpace(t)
				if !teachRE.MatchString(t) {
					s.errorf(f.line, "teaches: %q is not a lesson id like L5 (see docs/teaching-map.md)", t)
					continue
				}
				l.Teaches = append(l.Teaches, t)
			}
		default:
			s.errorf(f.line, "unknown front matter key %q (want title, summary, level, minutes, profile, teaches)", f.key)
		}
	}
	if len(s.front) > 0 || len(s.errs) == 0 {
		for _, k := range []string{"title", "level", "minutes", "profile", "teaches"} {
			if seen[k] == 0 {
				s.errorf(1, "front matter lacks %q", k)
			}
		}
	}
}

func (p Parser) checkProfile(s *source, line int, name string) {
	if len(p.Profiles) > 0 && !slices.Contains(p.Profiles, name) {
		s.errorf(line, "unknown profile %q (known: %s)", name, strings.Join(p.Profiles, ", "))
	}
}

// block reads a step block's keys into st.
func (p Parser) block(s *source, st *Step, sec *section) {
	modeLine, acceptLine, badExpect := 0, 0, false
	hintLine, predictLine, firstChoice, badMode := 0, 0, 0, false
	for _, f := range sec.block {
		switch f.key {
		case "do":
			if st.Action.Kind != 0 || st.Action.Line != 0 {
				s.errorf(f.line, "a second do: in step %q: one step, one action", st.ID)
				continue
			}
			a, err := ParseAction(f.value)
			a.Line = f.line
			if err != nil {
				s.errorf(f.line, "%v", err)
			}
			st.Action = a
		case "expect":
			e, err := parseExpect(f.value)
			e.Line = f.line
			if err != nil {
				s.errorf(f.line, "%v", err)
				badExpect = true
				continue
			}
			st.Expect = append(st.Expect, e)
		case "mode":
			modeLine = f.line
			switch f.value {
			case "played":
				st.Mode = Played
			case "typed":
				st.Mode = Typed
			case "task":
				st.Mode = Task
			default:
				s.errorf(f.line, "mode %q: want typed, task or played", f.value)
				badMode = true
			}
		case "hint":
			if len(st.Hints) == MaxHints {
				s.errorf(f.line, "a step has at most %d hints, from a nudge to a near answer", MaxHints)
				continue
			}
			if hintLine == 0 {
				hintLine = f.line
			}
			st.Hints = append(st.Hints, f.value)
		case "goal":
			st.Goal = f.value
		case "solution":
			if _, err := ParseTyped(f.value); err != nil {
				s.errorf(f.line, "solution: %v", err)
			}
			st.Solution = append(st.Solution, SolutionLine{Text: f.value, Line: f.line})
		case "predict":
			predictLine = f.line
			st.Predict = f.value
		case "choice":
			if firstChoice == 0 {
				firstChoice = f.line
			}
			c, err := parseChoice(f.value)
			c.Line = f.line
			if err != nil {
				s.errorf(f.line, "%v", err)
			}
			st.Choices = append(st.Choices, c)
		case "accept":
			acceptLine = f.line
			st.Accept = f.value
		case "body":
			st.Body = append(st.Body, f.value)
		default:
			s.errorf(f.line, "unknown step key %q (want do, expect, mode, hint, accept, body, goal, solution, predict, choice)", f.key)
		}
	}
	p.prediction(s, st, sec, predictLine, firstChoice)
	if st.Mode == Task {
		p.task(s, st, sec, modeLine, badExpect)
		return
	}
	if st.Goal != "" || len(st.Solution) > 0 {
		s.errorf(sec.blockLine, "goal: and solution: belong to a task step (mode: task)")
	}
	if st.Mode == Played && hintLine != 0 && !badMode {
		s.errorf(hintLine, "hints belong to typed and task steps")
	}
	a := st.Action
	if a.Line == 0 {
		s.errorf(sec.blockLine, "step %q has no do: line", st.ID)
		return
	}
	if a.Kind == 0 {
		return // already reported
	}
	if st.Mode == Typed {
		switch a.Kind {
		case Connect, Send, StartTLS, Auth, Profile, Close:
		default:
			s.errorf(modeLine, "a %s step cannot be typed: make it played", a.Kind)
		}
		if len(st.Hints) == 0 {
			s.errorf(modeLine, "a typed step needs a hint: shown after a wrong try")
		}
		if len(st.Expect) == 0 && !badExpect {
			s.errorf(modeLine, "a typed step needs an expectation that the student's line must satisfy")
		}
	} else if acceptLine != 0 {
		s.errorf(acceptLine, "accept: only applies to typed steps")
	}
	if len(st.Body) > 0 && a.Kind != Message {
		s.errorf(sec.blockLine, "body: only applies to a message action")
	}
	if a.Kind == Connect {
		if a.Under != "" {
			p.checkProfile(s, a.Line, a.Under)
		}
	}
	if a.Kind == Profile {
		p.checkProfile(s, a.Line, a.ProfileName)
	}
	if a.Kind == Send && strings.EqualFold(a.Verb(), "DATA") {
		s.errorf(a.Line, "send DATA leaves the message to type line by line: use a message action")
	}
	p.checkExpects(s, st, badExpect)
}

// taskExpects are the expectations a task judges on the state reached.
var taskExpects = []ExpectKind{Reply, TLSAtLeast, HasMessage, NoMessage, State, Authenticated}

// task checks a task step: a goal, state expectations and a solution
// instead of an action.
func (p Parser) task(s *source, st *Step, sec *section, modeLine int, badExpect bool) {
	if st.Action.Line != 0 {
		s.errorf(st.Action.Line, "a task has no do: the student acts; write its route as solution: lines")
	}
	if st.Goal == "" {
		s.errorf(modeLine, "a task needs a goal: what the student should reach")
	}
	if len(st.Solution) == 0 {
		s.errorf(modeLine, "a task needs a solution: the typed lines that \"Show me\" and the headless runner use")
	}
	if len(st.Expect) == 0 && !badExpect {
		s.errorf(modeLine, "a task needs at least one state expectation (message, no message, a reply code, tls at least, state, authenticated)")
	}
	if st.Accept != "" {
		s.errorf(sec.blockLine, "accept: only applies to typed steps")
	}
	for _, e := range st.Expect {
		if !slices.Contains(taskExpects, e.Kind) {
			s.errorf(e.Line, "expect %q cannot be judged on the state a task reached (use message, no message, a reply code, tls at least, state or authenticated)", e.Text)
		}
	}
	for _, sl := range st.Solution {
		if a, err := ParseTyped(sl.Text); err == nil {
			if a.Kind == Connect && len(p.Hosts) > 0 && !slices.Contains(p.Hosts, a.Host) {
				s.errorf(sl.Line, "solution: unknown host %q", a.Host)
			}
			if a.Kind == Profile {
				p.checkProfile(s, sl.Line, a.ProfileName)
			}
		}
	}
}

// prediction checks a step's question: played steps only, two choices
// or more, exactly one correct, each with its line of why.
func (p Parser) prediction(s *source, st *Step, sec *section, predictLine, firstChoice int) {
	if predictLine == 0 {
		if firstChoice != 0 {
			s.errorf(firstChoice, "choice: without a predict: question")
		}
		return
	}
	if st.Mode != Played {
		s.errorf(predictLine, "predict: belongs to a played step (the engine plays it once the student answered)")
	}
	if st.Predict == "" {
		s.errorf(predictLine, "predict: needs a question")
	}
	if len(st.Choices) < 2 {
		s.errorf(predictLine, "predict: needs at least two choice: lines")
	}
	n := 0
	for _, c := range st.Choices {
		if c.Correct {
			n++
		}
	}
	if n != 1 && len(st.Choices) >= 2 {
		s.errorf(predictLine, "predict: mark exactly one choice correct with a leading \"*\" (%d marked)", n)
	}
}

// parseChoice reads "[*] TEXT | WHY": a leading "*" marks the correct
// answer, the text after "|" is the line of why.
func parseChoice(v string) (Choice, error) {
	var c Choice
	v = strings.TrimSpace(v)
	if rest, ok := strings.CutPrefix(v, "*"); ok {
		c.Correct, v = true, strings.TrimSpace(rest)
	}
	text, why, ok := strings.Cut(v, "|")
	c.Text, c.Why = strings.TrimSpace(text), strings.TrimSpace(why)
	if !ok || c.Text == "" || c.Why == "" {
		return c, errors.New(`choice: want "[*] ANSWER | WHY" (a leading * marks the correct one)`)
	}
	return c, nil
}

// connectOutcomes are the expectations that say what a connect does.
var connectOutcomes = []ExpectKind{Reply, Refused, TimedOut, UnknownHost, Silent, Banner}

// checkExpects checks which expectations fit the action. When some
// expectation did not parse (bad), the counts are not checked, so that
// one typo gives one error.
func (p Parser) checkExpects(s *source, st *Step, bad bool) {
	a := st.Action
	outcomes := 0
	for _, e := range st.Expect {
		ok := false
		switch a.Kind {
		case Connect:
			switch {
			case slices.Contains(connectOutcomes, e.Kind):
				ok = true
				outcomes++
			case e.Kind == TLSAtLeast && !a.TLS:
				s.errorf(e.Line, "tls at least: this connect is not TLS (write: connect %s tls)", a.Target())
				continue
			case e.Kind == TLSAtLeast:
				ok = true
			case e.Kind == TLSRefused && !a.TLS:
				s.errorf(e.Line, "tls refused: this connect is not TLS (write: connect %s tls)", a.Target())
				continue
			case e.Kind == TLSRefused:
				// The handshake is the outcome: no greeting comes.
				ok = true
				outcomes++
			}
		case Send, StartTLS, Auth, Message:
			switch e.Kind {
			case Reply, Closed, TLSAtLeast:
				ok = true
			case TLSRefused:
				ok = a.Kind == StartTLS || a.Kind == Send && a.Verb() == "STARTTLS"
				if !ok {
					s.errorf(e.Line, "tls refused judges a TLS handshake: do: starttls, or connect HOST:PORT tls")
					continue
				}
			case Capability, NoCapability:
				ok = a.Kind == Send && a.Verb() == "EHLO"
				if !ok {
					s.errorf(e.Line, "capability expectations check an EHLO reply: do: send EHLO NAME")
					continue
				}
			}
		case Mailbox:
			ok = e.Kind == HasMessage || e.Kind == NoMessage
		}
		if !ok {
			s.errorf(e.Line, "expect %q does not apply to a %s action", e.Text, a.Kind)
		}
	}
	if bad {
		return
	}
	if a.Kind == Connect && outcomes != 1 {
		s.errorf(a.Line, "connect needs exactly one outcome: a greeting reply (220), refused, timed out, unknown host, silent DURATION, banner \"TEXT\" or tls refused \"TEXT\"")
	}
	if a.Kind == Mailbox && len(st.Expect) == 0 {
		s.errorf(a.Line, "mailbox needs a message or no message expectation")
	}
}

// flow follows the connection from step to step and reports actions that
// need a connection when there is none.
func (p Parser) flow(s *source, l *Lesson) {
	connected := false
	for _, st := range l.Steps {
		a := st.Action
		switch a.Kind {
		case 0:
			// An action that did not parse: assume the best rather than
			// report every later step as not connected.
			connected = true
		case Connect:
			connected = false
			if len(p.Hosts) > 0 && !slices.Contains(p.Hosts, a.Host) && !hasExpect(st, UnknownHost) {
				s.errorf(a.Line, "unknown host %q (known: %s)", a.Host, strings.Join(p.Hosts, ", "))
			}
			if hasExpect(st, Reply) || hasExpect(st, Banner) {
				connected = true
			}
		case Send, StartTLS, Auth, Message, Close:
			if !connected {
				s.errorf(a.Line, "%s: not connected here (an earlier step refused, timed out, closed or never connected); add a connect step", a.Kind)
			}
			// A client that refused the certificate hangs up (RFC 3207 §4.1).
			if a.Kind == Close || hasExpect(st, Closed) || hasExpect(st, TLSRefused) || a.Kind == Send && a.Verb() == "QUIT" {
				connected = false
			}
		case Profile:
			connected = false
		}
		if st.Mode == Task {
			// The student may end a task anywhere; the solution says
			// where it usually leaves the connection.
			connected = taskConnected(st, connected)
		}
	}
}

// taskConnected follows a task's solution: whether it leaves a
// connection open.
func taskConnected(st *Step, connected bool) bool {
	for _, sl := range st.Solution {
		a, err := ParseTyped(sl.Text)
		switch {
		case err != nil:
		case a.Kind == Connect:
			connected = true
		case a.Kind == Close || a.Kind == Profile || a.Kind == Send && a.Verb() == "QUIT":
			connected = false
		}
	}
	return connected
}

func hasExpect(st *Step, k ExpectKind) bool {
	for _, e := range st.Expect {
		if e.Kind == k {
			return true
		}
	}
	return false
}
