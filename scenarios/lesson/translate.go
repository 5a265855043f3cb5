package lesson

import (
	"strings"
)

// Translation is the text of a lesson in another language: NAME.LANG.md
// beside NAME.md. Steps are shared; only text is translated. Anything not
// translated falls back to English.
type Translation struct {
	Name, Lang, File string
	Title, Summary   string
	Intro            string
	Steps            map[string]StepText
}

// StepText is one step's translated text.
type StepText struct {
	Title, Narration, After string
	// Hints replace the step's hints when given, one hint: line each.
	Hints []string
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
	if !langRE.MatchString(lang) {
		s.errorf(1, "language %q: want a code like pt, es, it, de or pt-BR", lang)
	}
	for _, f := range s.front {
		switch f.key {
		case "title":
			t.Title = f.value
		case "summary":
			t.Summary = f.value
		default:
			s.errorf(f.line, "a translation's front matter holds only title and summary; %q comes from %s.md", f.key, name)
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
		st := StepText{Title: sec.title, Narration: markdown(sec.before), After: markdown(sec.after)}
		for _, f := range sec.block {
			if f.key != "hint" {
				s.errorf(f.line, "a translation's step block holds only hint:; %s: comes from %s.md", f.key, name)
				continue
			}
			st.Hints = append(st.Hints, f.value)
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
