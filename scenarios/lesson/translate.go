package lesson

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/portlab/portlab/internal/i18n"
)

// Languages are the tags a lesson translation may have (NAME.TAG.md), in
// the order menus list them; English is the source of every lesson. The
// list is internal/i18n's, the one home of the page languages.
var Languages = i18n.Translations

// Translation is the text of a lesson in another language: NAME.LANG.md
// beside NAME.md. Steps are shared; only text is translated. Anything not
// translated falls back to English.
type Translation struct {
	Name, Lang, File string
	Title, Summary   string
	Intro            string
	// Source is the SourceHash of the English title, summary and
	// introduction this text was made from (front matter "source:").
	Source     string
	SourceLine int
	Steps      map[string]StepText
}

// StepText is one step's translated text.
type StepText struct {
	Title, Narration, After string
	// Hints replace the step's hints when given, one hint: line each.
	Hints []string
	// Goal, Predict and Choices replace a task's goal and a
	// prediction's question and answers; choices keep the English
	// order, and which one is correct comes from the English file.
	Goal, Predict string
	Choices       []ChoiceText
	// Source is the StepHash of the English step this text was made
	// from ("source:" in the step block); Line is that source: line's
	// (the heading's when there is none), where an update goes.
	Source string
	Line   int
}

// ChoiceText is one translated answer of a prediction and its why.
type ChoiceText struct{ Text, Why string }

// IntroHash is the short hash of a lesson's title, summary and
// introduction: a translation's front matter records it as "source:".
func IntroHash(l *Lesson) string { return shortHash(l.Title, l.Summary, l.Intro) }

// StepHash is the short hash of the English text of a step (title,
// narration, text after, hints, goal, question, answers): a translated
// step records it as "source:", so a changed English step shows up as
// outdated.
func StepHash(st *Step) string {
	parts := []string{st.Title, st.Narration, st.After, st.Goal, st.Predict}
	parts = append(parts, st.Hints...)
	for _, c := range st.Choices {
		parts = append(parts, c.Text, c.Why)
	}
	return shortHash(parts...)
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), strings.TrimSpace(p))
	}
	return hex.EncodeToString(h.Sum(nil))[:8]
}

// ParseTranslation reads NAME.LANG.md. The file has the lesson's shape:
// front matter with only title and summary, an introduction, and
// "## Translated title {#id}" sections whose ids are the lesson's step
// ids; a ```step block in a section may hold only hint:. base, when not
// nil, is the English lesson the ids are checked against.
func ParseTranslation(file string, src []byte, base *Lesson) (*Translation, error) {
	name, lang, ok := SplitName(file)
	if !ok || lang == "" {
		return nil, ErrorList{{File: file, Line: 1, Msg: "a translation file is named NAME.LANG.md, e.g. first-contact.pt.md"}}.Err()
	}
	s := split(file, src)
	t := &Translation{Name: name, Lang: lang, File: file, Intro: s.intro, Steps: map[string]StepText{}}
	if !slices.Contains(Languages, lang) {
		s.errorf(1, "language %q: want one of %s", lang, strings.Join(Languages, ", "))
	}
	for _, f := range s.front {
		switch f.key {
		case "title":
			t.Title = f.value
		case "summary":
			t.Summary = f.value
		case "source":
			t.Source, t.SourceLine = f.value, f.line
		default:
			s.errorf(f.line, "a translation's front matter holds only title, summary and source; %q comes from %s.md", f.key, name)
		}
	}
	var steps map[string]*Step
	if base != nil {
		steps = map[string]*Step{}
		for _, st := range base.Steps {
			steps[st.ID] = st
		}
	}
	var prev string
	for _, sec := range s.sections {
		if !sec.hasID {
			if sec.blockLine != 0 {
				s.errorf(sec.line, "step heading needs the lesson's step id: ## %s {#id}", sec.title)
				continue
			}
			text := "## " + sec.title + "\n" + markdown(append(sec.before, sec.after...))
			if prev == "" {
				t.Intro = strings.TrimSpace(t.Intro + "\n\n" + text)
			} else {
				st := t.Steps[prev]
				st.After = strings.TrimSpace(st.After + "\n\n" + text)
				t.Steps[prev] = st
			}
			continue
		}
		if _, dup := t.Steps[sec.id]; dup {
			s.errorf(sec.line, "step id %q translated twice", sec.id)
			continue
		}
		if steps != nil && steps[sec.id] == nil {
			s.errorf(sec.line, "no step %q in %s.md", sec.id, name)
			continue
		}
		st := StepText{Title: sec.title, Narration: markdown(sec.before), After: markdown(sec.after), Line: sec.line}
		for _, f := range sec.block {
			switch f.key {
			case "hint":
				st.Hints = append(st.Hints, f.value)
			case "goal":
				st.Goal = f.value
			case "predict":
				st.Predict = f.value
			case "choice":
				c, err := parseChoice(f.value)
				if err != nil {
					s.errorf(f.line, "%v", err)
				}
				if c.Correct {
					s.errorf(f.line, "choice: the correct answer is marked in %s.md only", name)
				}
				st.Choices = append(st.Choices, ChoiceText{Text: c.Text, Why: c.Why})
			case "source":
				st.Source, st.Line = f.value, f.line
			default:
				s.errorf(f.line, "a translation's step block holds only hint:, goal:, predict:, choice: and source:; %s: comes from %s.md", f.key, name)
			}
		}
		if b := steps[sec.id]; b != nil {
			switch {
			case st.Goal != "" && b.Goal == "":
				s.errorf(sec.line, "step %q has no goal: in %s.md", sec.id, name)
			case st.Predict != "" && b.Predict == "":
				s.errorf(sec.line, "step %q has no predict: in %s.md", sec.id, name)
			case len(st.Choices) > 0 && len(st.Choices) != len(b.Choices):
				s.errorf(sec.line, "step %q: %d choice: lines, %s.md has %d (same answers, same order)", sec.id, len(st.Choices), name, len(b.Choices))
			}
		}
		t.Steps[sec.id] = st
		prev = sec.id
	}
	if err := s.errs.Err(); err != nil {
		return t, err
	}
	return t, nil
}

// Translate returns a copy of l with t's text where t has some. Steps and
// their actions are shared.
func (l *Lesson) Translate(t *Translation) *Lesson {
	if t == nil {
		return l
	}
	c := *l
	c.Lang = t.Lang
	c.Title = pick(t.Title, l.Title)
	c.Summary = pick(t.Summary, l.Summary)
	c.Intro = pick(t.Intro, l.Intro)
	c.Steps = make([]*Step, len(l.Steps))
	for i, st := range l.Steps {
		cs := *st
		if tt, ok := t.Steps[st.ID]; ok {
			cs.Title = pick(tt.Title, st.Title)
			cs.Narration = pick(tt.Narration, st.Narration)
			cs.After = pick(tt.After, st.After)
			if len(tt.Hints) > 0 {
				cs.Hints = tt.Hints
			}
			cs.Goal = pick(tt.Goal, st.Goal)
			cs.Predict = pick(tt.Predict, st.Predict)
			if len(tt.Choices) == len(st.Choices) {
				cs.Choices = make([]Choice, len(st.Choices))
				for j, ch := range st.Choices {
					ch.Text, ch.Why = pick(tt.Choices[j].Text, ch.Text), pick(tt.Choices[j].Why, ch.Why)
					cs.Choices[j] = ch
				}
			}
		}
		c.Steps[i] = &cs
	}
	return &c
}

func pick(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

// Finding is one place where a translation lags its English lesson: a
// step not translated (File and Line are the English step's) or one made
// from an older English text (the translation's heading).
type Finding struct {
	File string
	Line int
	Step string // "" for the title, summary and introduction
	// Missing: not translated; otherwise outdated.
	Missing bool
	// Want is the English text's hash the translation should record.
	Want string
}

func (f Finding) String() string {
	what := "step " + f.Step
	if f.Step == "" {
		what = "title, summary and introduction"
	}
	if f.Missing {
		return fmt.Sprintf("%s:%d: %s not translated", f.File, f.Line, what)
	}
	return fmt.Sprintf("%s:%d: %s outdated: the English text changed (translate it again, then write source: %s)", f.File, f.Line, what, f.Want)
}

// Check lists what t lacks against base, the English lesson it
// translates: steps not translated and steps made from another English
// text. A nil t means the whole lesson is missing in that language.
func Check(base *Lesson, t *Translation) []Finding {
	if t == nil {
		return []Finding{{File: base.Name + ".md", Line: 1, Missing: true, Want: IntroHash(base)}}
	}
	var out []Finding
	file := t.File
	if want := IntroHash(base); t.Source != want {
		out = append(out, Finding{File: file, Line: max(t.SourceLine, 1), Want: want})
	}
	for _, st := range base.Steps {
		want := StepHash(st)
		tt, ok := t.Steps[st.ID]
		switch {
		case !ok:
			out = append(out, Finding{File: base.Name + ".md", Line: st.Line, Step: st.ID, Missing: true, Want: want})
		case tt.Source != want:
			out = append(out, Finding{File: file, Line: tt.Line, Step: st.ID, Want: want})
		}
	}
	return out
}

// Skeleton writes NAME.LANG.md for a translator to start from: the
// lesson's text in English in the translation format, each part with
// the source: hash of the English text it holds. Steps, actions and
// expectations are not in it; they stay in the English file.
func Skeleton(l *Lesson) string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\ntitle: %s\nsummary: %s\nsource: %s\n---\n\n", l.Title, l.Summary, IntroHash(l))
	if l.Intro != "" {
		b.WriteString(strings.TrimSpace(l.Intro) + "\n\n")
	}
	for _, st := range l.Steps {
		fmt.Fprintf(&b, "## %s {#%s}\n\n", st.Title, st.ID)
		if st.Narration != "" {
			b.WriteString(strings.TrimSpace(st.Narration) + "\n\n")
		}
		b.WriteString("```step\n")
		if st.Goal != "" {
			fmt.Fprintf(&b, "goal: %s\n", st.Goal)
		}
		for _, h := range st.Hints {
			fmt.Fprintf(&b, "hint: %s\n", h)
		}
		if st.Predict != "" {
			fmt.Fprintf(&b, "predict: %s\n", st.Predict)
		}
		for _, c := range st.Choices {
			fmt.Fprintf(&b, "choice: %s | %s\n", c.Text, c.Why)
		}
		fmt.Fprintf(&b, "source: %s\n```\n\n", StepHash(st))
		if st.After != "" {
			b.WriteString(strings.TrimSpace(st.After) + "\n\n")
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}
