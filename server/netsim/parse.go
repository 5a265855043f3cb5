package netsim

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/server/internal/textfile"
	"github.com/portlab/portlab/server/world"
)

// ParseError says where a profiles file is wrong.
type ParseError = textfile.Error

const (
	maxText = 2000 // characters of a title, description or reason

	// MaxLatency bounds added delay, and MaxDropTimeout a drop's wait:
	// enough to feel, too little to tie a server's connections up.
	MaxLatency     = 10 * time.Second
	MaxDropTimeout = 2 * time.Minute
)

// Parse reads a profiles file; the header of default.profiles documents
// the format. Errors are *ParseError values naming file and line.
func Parse(filename string, r io.Reader) (*Set, error) {
	p := parser{file: filename, set: &Set{file: filename, byName: map[string]*Profile{}}}
	if _, err := textfile.Lines(filename, r, func(n int, text string) error {
		p.line = n
		return p.parseLine(text)
	}); err != nil {
		return nil, err
	}
	if d := p.set.defaultName; d != "" {
		prof, ok := p.set.Profile(d)
		if !ok {
			return nil, &ParseError{File: filename, Line: p.defaultLine, Msg: fmt.Sprintf("default: no profile %q in this file", d)}
		}
		p.set.defaultName = prof.Name
	}
	return p.set, nil
}

type parser struct {
	file        string
	line        int
	set         *Set
	profile     *Profile // the profile that directives belong to
	defaultLine int
}

func (p *parser) errf(format string, args ...any) error {
	return &ParseError{File: p.file, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// field is one word of a line and where it starts, so that free text
// (describe, because) can be taken from the line as written.
type field struct {
	text  string
	start int
}

func (p *parser) parseLine(line string) error {
	if !utf8.ValidString(line) {
		return p.errf("line is not valid UTF-8")
	}
	line, fields, err := splitLine(line)
	if err != nil {
		return p.errf("%v", err)
	}
	if len(fields) == 0 {
		return nil
	}
	name := strings.ToLower(fields[0].text)
	if name == "profile" {
		return p.profileDirective(fields[1:])
	}
	if name == "default" {
		if len(fields) != 2 || p.set.defaultName != "" {
			return p.errf("want one line: default NAME, the profile a new lab starts with")
		}
		p.set.defaultName, p.defaultLine = fields[1].text, p.line
		return nil
	}
	rd, isRule := ruleDirective(name)
	if lang, ok := strings.CutPrefix(name, "describe."); ok {
		return p.describeIn(lang, line, fields)
	}
	if lang, ok := strings.CutPrefix(name, "title."); ok {
		return p.titleIn(lang, fields)
	}
	if lang, ok := strings.CutPrefix(name, "because."); ok {
		return p.becauseIn(lang, line, fields)
	}
	if p.profile == nil {
		if isRule || name == "describe" || name == "drop-timeout" || name == "source" {
			return p.errf("%s before any profile line (start with: profile NAME \"Title\")", name)
		}
	}
	switch name {
	case "describe":
		if len(fields) < 2 {
			return p.errf("want: describe TEXT")
		}
		text := strings.TrimSpace(line[fields[1].start:])
		if p.profile.Description != "" {
			text = p.profile.Description + " " + text
		}
		if err := checkText(text); err != nil {
			return p.errf("description %v", err)
		}
		p.profile.Description = text
		return nil
	case "drop-timeout":
		if len(fields) != 2 {
			return p.errf("want: drop-timeout DURATION, e.g. drop-timeout 5s")
		}
		d, err := parseDuration(fields[1].text, MaxDropTimeout)
		if err != nil {
			return p.errf("drop-timeout: %v", err)
		}
		p.profile.DropTimeout = d
		return nil
	case "source":
		if len(fields) != 2 {
			return p.errf("want: source ADDRESS, e.g. source 10.0.5.20")
		}
		a, err := netip.ParseAddr(fields[1].text)
		if err != nil {
			return p.errf("source: %q is not an IP address", fields[1].text)
		}
		p.profile.Source = a
		return nil
	}
	if isRule {
		return p.rule(rd, line, fields[1:])
	}
	return p.errf("unknown directive %q (want default, profile, describe, drop-timeout, source, %s)", fields[0].text, ruleList())
}

// describeIn reads "describe.LANG TEXT": the description in another
// language (internal/i18n.Translations, e.g. describe.pt-BR), joined
// like describe's lines.
func (p *parser) describeIn(lang string, line string, fields []field) error {
	tag := i18n.Supported(lang)
	if tag == "" || tag == i18n.Default {
		return p.errf("describe.%s: want a language of %s (describe alone is English)", lang, strings.Join(i18n.Translations, ", "))
	}
	if p.profile == nil {
		return p.errf("describe.%s before any profile line (start with: profile NAME \"Title\")", tag)
	}
	if len(fields) < 2 {
		return p.errf("want: describe.%s TEXT", tag)
	}
	text := strings.TrimSpace(line[fields[1].start:])
	if prev := p.profile.Descriptions[tag]; prev != "" {
		text = prev + " " + text
	}
	if err := checkText(text); err != nil {
		return p.errf("description %v", err)
	}
	if p.profile.Descriptions == nil {
		p.profile.Descriptions = map[string]string{}
	}
	p.profile.Descriptions[tag] = text
	return nil
}

// becauseIn reads "because.LANG TEXT": the reason of the rule just
// above in another language (internal/i18n.Translations, e.g.
// because.de), joined like describe's lines.
func (p *parser) becauseIn(lang string, line string, fields []field) error {
	tag := i18n.Supported(lang)
	if tag == "" || tag == i18n.Default {
		return p.errf("because.%s: want a language of %s (the rule's own because is English)", lang, strings.Join(i18n.Translations, ", "))
	}
	if p.profile == nil || len(p.profile.Rules) == 0 {
		return p.errf("because.%s before any rule: it translates the because of the rule line above it", tag)
	}
	t := p.profile.Rules[len(p.profile.Rules)-1].target()
	if t.Because == "" {
		return p.errf("because.%s under a rule without because: give the English reason on the rule line first", tag)
	}
	if len(fields) < 2 {
		return p.errf("want: because.%s TEXT", tag)
	}
	text := strings.TrimSpace(line[fields[1].start:])
	if prev := t.Becauses[tag]; prev != "" {
		text = prev + " " + text
	}
	if err := checkText(text); err != nil {
		return p.errf("reason %v", err)
	}
	if t.Becauses == nil {
		t.Becauses = map[string]string{}
	}
	t.Becauses[tag] = text
	return nil
}

// titleIn reads `title.LANG "Title"`: the profile's title in another
// language (internal/i18n.Translations, e.g. title.de "Heimnetz").
func (p *parser) titleIn(lang string, fields []field) error {
	tag := i18n.Supported(lang)
	if tag == "" || tag == i18n.Default {
		return p.errf("title.%s: want a language of %s (the profile line's title is English)", lang, strings.Join(i18n.Translations, ", "))
	}
	if p.profile == nil {
		return p.errf("title.%s before any profile line (start with: profile NAME \"Title\")", tag)
	}
	if len(fields) != 2 {
		return p.errf(`want: title.%s "Title"`, tag)
	}
	if _, dup := p.profile.Titles[tag]; dup {
		return p.errf("title.%s is already given for profile %s", tag, p.profile.Name)
	}
	u, err := p.title(fields[1].text)
	if err != nil {
		return err
	}
	if p.profile.Titles == nil {
		p.profile.Titles = map[string]string{}
	}
	p.profile.Titles[tag] = u
	return nil
}

// title reads a quoted title field.
func (p *parser) title(t string) (string, error) {
	if !strings.HasPrefix(t, `"`) {
		return "", p.errf("title %q must be in double quotes", t)
	}
	u, err := strconv.Unquote(t)
	if err != nil {
		return "", p.errf("bad quoted title %s", t)
	}
	if err := checkText(u); err != nil {
		return "", p.errf("title %v", err)
	}
	return u, nil
}

func (p *parser) profileDirective(args []field) error {
	if len(args) == 0 || len(args) > 2 {
		return p.errf(`want: profile NAME ["Title"]`)
	}
	name := strings.ToLower(args[0].text)
	if !validProfileName(name) {
		return p.errf("bad profile name %q (a letter, then letters, digits and hyphens)", args[0].text)
	}
	if prev, ok := p.set.byName[name]; ok {
		return p.errf("profile %s is already defined at line %d", name, prev.Line)
	}
	pr := &Profile{Name: name, Line: p.line}
	if len(args) == 2 {
		u, err := p.title(args[1].text)
		if err != nil {
			return err
		}
		pr.Title = u
	}
	p.set.byName[name] = pr
	p.set.profiles = append(p.set.profiles, pr)
	p.profile = pr
	return nil
}

// directive is a rule line as the parser reads it, for a constructor.
type directive struct {
	Target
	args []string // the directive's own arguments, e.g. latency's DURATION
	via  string   // intercept's host that answers instead
}

// ruleKind is one row of ruleDirectives.
type ruleKind struct {
	name  string
	args  int
	usage string
	new   func(directive) (Rule, error)
}

// ruleDirectives maps each rule directive to its constructor, in the
// order messages list them. args is how many arguments the directive
// takes before its fields, and usage says them for a line without.
// A new effect is one file (see Effect) and one row here.
var ruleDirectives = []ruleKind{
	{"pass", 0, "", func(d directive) (Rule, error) { return &PassRule{d.Target}, nil }},
	{"refuse", 0, "", func(d directive) (Rule, error) { return &RefuseRule{d.Target}, nil }},
	{"drop", 0, "", func(d directive) (Rule, error) { return &DropRule{d.Target}, nil }},
	{"intercept", 0, "", newIntercept},
	{"strip-starttls", 0, "", newStrip},
	{"latency", 1, "latency DURATION [port LIST] [host GLOB], e.g. latency 40ms", newLatency},
	{"reset-after", 1, "reset-after BYTES [port LIST] [host GLOB], e.g. reset-after 2048", newResetAfter},
}

// ruleDirective finds a rule directive's row by name.
func ruleDirective(name string) (ruleKind, bool) {
	for _, r := range ruleDirectives {
		if r.name == name {
			return r, true
		}
	}
	return ruleKind{}, false
}

// ruleList names the rule directives for messages: "pass, ... or latency".
func ruleList() string {
	names := make([]string, len(ruleDirectives))
	for i, r := range ruleDirectives {
		names[i] = r.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func newIntercept(d directive) (Rule, error) {
	if d.via == "" {
		return nil, errors.New("intercept needs via HOST: the host that answers instead")
	}
	return &InterceptRule{Target: d.Target, Via: d.via}, nil
}

// rule parses a line of the rule directive row:
//
//	NAME [ARGS] [port|ports LIST] [host GLOB] [via HOST] [because TEXT]
func (p *parser) rule(row ruleKind, line string, args []field) error {
	name := row.name
	d := directive{Target: Target{Line: p.line}}
	if len(args) < row.args {
		return p.errf("want: %s", row.usage)
	}
	for _, a := range args[:row.args] {
		d.args = append(d.args, a.text)
	}
	args = args[row.args:]
	t := &d.Target
	seen := map[string]bool{}
	for len(args) > 0 {
		key := strings.ToLower(args[0].text)
		if key == "ports" {
			key = "port"
		}
		if seen[key] {
			return p.errf("%s is given twice", key)
		}
		seen[key] = true
		switch {
		case key == "because":
			if len(args) < 2 {
				return p.errf("because needs a reason")
			}
			t.Because = strings.TrimSpace(line[args[1].start:])
			if err := checkText(t.Because); err != nil {
				return p.errf("reason %v", err)
			}
			args = nil
		case key == "port":
			ports, n, err := parsePorts(args[1:])
			if err != nil {
				return p.errf("%v", err)
			}
			t.Ports, args = ports, args[1+n:]
		case key == "host":
			if len(args) < 2 {
				return p.errf("host needs a name or a glob such as *.example.org")
			}
			glob := strings.ToLower(strings.TrimSuffix(args[1].text, "."))
			if err := checkGlob(glob); err != nil {
				return p.errf("%v", err)
			}
			t.Host, args = glob, args[2:]
		case key == "via" && name == "intercept":
			if len(args) < 2 {
				return p.errf("via needs the host that answers instead")
			}
			if err := world.CheckHostName(args[1].text); err != nil {
				return p.errf("via: %v", err)
			}
			d.via, args = strings.ToLower(strings.TrimSuffix(args[1].text, ".")), args[2:]
		default:
			want := "port, host or because"
			if name == "intercept" {
				want = "port, host, via or because"
			}
			return p.errf("unknown field %q in a %s rule (want %s)", args[0].text, name, want)
		}
	}
	r, err := row.new(d)
	if err != nil {
		return p.errf("%v", err)
	}
	p.profile.Rules = append(p.profile.Rules, r)
	return nil
}

// parsePorts reads a port list such as "25", "25,465,587" or "25, 465 587"
// from the start of args, and says how many fields it used.
func parsePorts(args []field) ([]int, int, error) {
	var ports []int
	n := 0
	for _, a := range args {
		if strings.Trim(a.text, "0123456789,") != "" {
			break
		}
		n++
		for s := range strings.SplitSeq(a.text, ",") {
			if s == "" {
				continue
			}
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 || v > 65535 {
				return nil, 0, fmt.Errorf("%q is not a port number (1 to 65535)", s)
			}
			ports = append(ports, v)
		}
	}
	if len(ports) == 0 {
		if len(args) > 0 {
			return nil, 0, fmt.Errorf("%q is not a port number (1 to 65535)", args[0].text)
		}
		return nil, 0, errors.New("port needs a number or a list such as 25,465,587")
	}
	return ports, n, nil
}

func parseDuration(s string, limit time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 40ms or 5s", s)
	}
	if d <= 0 || d > limit {
		return 0, fmt.Errorf("%s is not between 0 and %s", s, limit)
	}
	return d, nil
}

// checkGlob accepts a host name pattern for path.Match: DNS characters and
// the wildcards * ? [ ] ! ^ -.
func checkGlob(g string) error {
	if g == "" {
		return errors.New("empty host glob")
	}
	for _, c := range []byte(g) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte(".-*?[]!^", c) >= 0) {
			return fmt.Errorf("host glob %q may hold only letters, digits, '.', '-' and the wildcards * ? [ ]", g)
		}
	}
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Errorf("bad host glob %q: %v", g, err)
	}
	return nil
}

func validProfileName(s string) bool {
	if s == "" || len(s) > 40 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// checkText refuses control characters and overlong text: titles,
// descriptions and reasons end up in web pages and terminals.
func checkText(s string) error {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return errors.New("contains control characters")
	}
	if utf8.RuneCountInString(s) > maxText {
		return fmt.Errorf("is longer than %d characters", maxText)
	}
	return nil
}

// splitLine drops a comment ('#' outside a quoted string) and splits the
// rest into fields; a Go-syntax quoted string is one field, quotes kept.
// It returns the line without its comment, for free text.
func splitLine(line string) (string, []field, error) {
	var fields []field
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			return line[:i], fields, nil
		case c == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return "", nil, errors.New(`unterminated quoted string (a title ends with ")`)
			}
			fields = append(fields, field{line[i : j+1], i})
			i = j + 1
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\r#\"", rune(line[j])) {
				j++
			}
			fields = append(fields, field{line[i:j], i})
			i = j
		}
	}
	return line, fields, nil
}
