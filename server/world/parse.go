package world

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/server/internal/textfile"
)

// ParseError says where a hosts file is wrong.
type ParseError = textfile.Error

const (
	maxTitle = 200
)

// Parse reads a hosts file; the header of default.hosts documents the
// format. Errors are *ParseError values naming file and line.
func Parse(filename string, r io.Reader) (*World, error) {
	p := parser{file: filename, w: &World{byName: map[string]*Host{}}}
	if _, err := textfile.Lines(filename, r, func(n int, text string) error {
		p.line = n
		return p.parseLine(text)
	}); err != nil {
		return nil, err
	}
	for _, h := range p.w.hosts {
		slices.SortFunc(h.Doors, func(a, b Door) int { return a.Port - b.Port })
	}
	slices.SortFunc(p.w.hosts, func(a, b *Host) int { return strings.Compare(a.Name, b.Name) })
	return p.w, nil
}

type parser struct {
	file string
	line int
	w    *World
	host *Host // the host that directives belong to, nil before the first
}

func (p *parser) errf(format string, args ...any) error {
	return &ParseError{File: p.file, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parseLine(text string) error {
	if !utf8.ValidString(text) {
		return p.errf("line is not valid UTF-8")
	}
	fields, err := splitFields(text)
	if err != nil {
		return p.errf("%v", err)
	}
	if len(fields) == 0 {
		return nil
	}
	name, args := strings.ToLower(fields[0]), fields[1:]
	if name == "host" {
		return p.hostDirective(args)
	}
	if lang, ok := strings.CutPrefix(name, "title."); ok {
		return p.titleIn(lang, args)
	}
	if p.host == nil {
		switch name {
		case "door", "local-domain", "starttls", "greylist", "certificate":
			return p.errf("%s before any host line (start with: host NAME \"Title\")", name)
		}
	}
	switch name {
	case "door":
		return p.doorDirective(args)
	case "local-domain":
		return p.localDomainDirective(args)
	case "starttls":
		return p.starttlsDirective(args)
	case "greylist":
		return p.greylistDirective(args)
	case "certificate":
		return p.certificateDirective(args)
	}
	return p.errf("unknown directive %q (want host, door, local-domain, starttls, greylist or certificate)", fields[0])
}

func (p *parser) hostDirective(args []string) error {
	if len(args) == 0 || len(args) > 2 {
		return p.errf(`want: host NAME ["Title"]`)
	}
	if err := CheckHostName(args[0]); err != nil {
		return p.errf("bad host name: %v", err)
	}
	name := normalize(args[0])
	if prev, ok := p.w.byName[name]; ok {
		return p.errf("host %s is already defined at line %d", name, prev.Line)
	}
	h := &Host{Name: name, STARTTLS: true, Line: p.line}
	if len(args) == 2 {
		t, err := unquoteTitle(args[1])
		if err != nil {
			return p.errf("%v", err)
		}
		h.Title = t
	}
	p.w.byName[name] = h
	p.w.hosts = append(p.w.hosts, h)
	p.host = h
	return nil
}

func (p *parser) doorDirective(args []string) error {
	if len(args) < 2 || len(args) > 3 {
		return p.errf("want: door PORT SERVICE [policy=PORT]")
	}
	port, err := strconv.Atoi(args[0])
	if err != nil || port < 1 || port > 65535 {
		return p.errf("%q is not a port number (1 to 65535)", args[0])
	}
	svc := Service(strings.ToLower(args[1]))
	if !slices.Contains(services, svc) {
		return p.errf("unknown service %q (want one of %s)", args[1], serviceList())
	}
	if d, ok := p.host.Door(port); ok {
		return p.errf("port %d of %s is already a %s door", port, p.host.Name, d.Service)
	}
	d := Door{Host: p.host.Name, Port: port, Service: svc}
	if svc.IsSMTP() {
		d.PolicyPort = port
	}
	if len(args) == 3 {
		key, val, ok := strings.Cut(args[2], "=")
		if !ok || strings.ToLower(key) != "policy" {
			return p.errf("unknown door field %q (want policy=PORT)", args[2])
		}
		if !svc.IsSMTP() {
			return p.errf("a %s door takes no policy: only SMTP doors follow a relay policy", svc)
		}
		// The relay policy file names its listeners by port; a name
		// would be a typo found only when a student dials the door.
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > 65535 {
			return p.errf("policy=%s is not a port number (the relay policy file's <listener PORT>, e.g. policy=587)", val)
		}
		d.PolicyPort = n
	}
	p.host.Doors = append(p.host.Doors, d)
	return nil
}

func (p *parser) localDomainDirective(args []string) error {
	if len(args) == 0 {
		return p.errf("want: local-domain DOMAIN...")
	}
	for _, a := range args {
		if err := CheckHostName(a); err != nil {
			return p.errf("bad local domain: %v", err)
		}
		d := normalize(a)
		if slices.Contains(p.host.LocalDomains, d) {
			return p.errf("local domain %s is listed twice for %s", d, p.host.Name)
		}
		p.host.LocalDomains = append(p.host.LocalDomains, d)
	}
	return nil
}

func (p *parser) starttlsDirective(args []string) error {
	if len(args) != 1 {
		return p.errf("want: starttls yes|no")
	}
	switch strings.ToLower(args[0]) {
	case "yes", "true", "on":
		p.host.STARTTLS = true
	case "no", "false", "off":
		p.host.STARTTLS = false
	default:
		return p.errf("%q is not yes or no", args[0])
	}
	return nil
}

// MaxGreylist bounds a greylisting delay: a lesson waits for it in real
// time, and postgrey's own default is 300 s.
const MaxGreylist = time.Hour

func (p *parser) greylistDirective(args []string) error {
	if len(args) != 1 {
		return p.errf("want: greylist DURATION (e.g. greylist 5s)")
	}
	d, err := time.ParseDuration(args[0])
	// Whole seconds at least: postgrey counts in seconds.
	if err != nil || d < time.Second || d > MaxGreylist {
		return p.errf("greylist %s: want a duration from 1s to 1h, like 5s or 5m", args[0])
	}
	p.host.Greylist = d
	return nil
}

func (p *parser) certificateDirective(args []string) error {
	if len(args) != 1 {
		return p.errf("want: certificate trusted|untrusted")
	}
	switch strings.ToLower(args[0]) {
	case "trusted":
		p.host.UntrustedCert = false
	case "untrusted":
		p.host.UntrustedCert = true
	default:
		return p.errf("certificate %q: want trusted or untrusted", args[0])
	}
	return nil
}

func serviceList() string {
	s := make([]string, len(services))
	for i, v := range services {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// splitFields splits a line into whitespace-separated fields. A field may
// be a Go-syntax quoted string (kept with its quotes, for unquoteTitle); a
// '#' outside quotes starts a comment, as in the relay policy file.
func splitFields(line string) ([]string, error) {
	var fields []string
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			return fields, nil
		case c == '"':
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return nil, errors.New(`unterminated quoted string (a title ends with ")`)
			}
			fields = append(fields, line[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t\r#\"", rune(line[j])) {
				j++
			}
			fields = append(fields, line[i:j])
			i = j
		}
	}
	return fields, nil
}

// titleIn reads "title.LANG "Title"": the host's title in another
// language (internal/i18n.Translations, e.g. title.pt-BR).
func (p *parser) titleIn(lang string, args []string) error {
	tag := i18n.Supported(lang)
	if tag == "" || tag == i18n.Default {
		return p.errf("title.%s: want a language of %s (the host line's title is English)", lang, strings.Join(i18n.Translations, ", "))
	}
	if p.host == nil {
		return p.errf("title.%s before any host line (start with: host NAME \"Title\")", tag)
	}
	if len(args) != 1 {
		return p.errf(`want: title.%s "Title"`, tag)
	}
	t, err := unquoteTitle(args[0])
	if err != nil {
		return p.errf("%v", err)
	}
	if p.host.Titles == nil {
		p.host.Titles = map[string]string{}
	}
	p.host.Titles[tag] = t
	return nil
}

// unquoteTitle reads a quoted title. Titles end up in web pages and
// terminals, so control characters are refused rather than escaped later.
func unquoteTitle(s string) (string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", fmt.Errorf("title %q must be in double quotes", s)
	}
	t, err := strconv.Unquote(s)
	if err != nil {
		return "", fmt.Errorf("bad quoted title %s", s)
	}
	if !utf8.ValidString(t) || strings.ContainsFunc(t, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return "", fmt.Errorf("title %s contains control characters", s)
	}
	if utf8.RuneCountInString(t) > maxTitle {
		return "", fmt.Errorf("title is longer than %d characters", maxTitle)
	}
	return t, nil
}
