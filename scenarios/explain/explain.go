// Package explain turns an SMTP reply line, or a gateway close code, into
// words a student can act on: what the reply class means (RFC 5321 §4.2.1),
// what the enhanced status code means (RFC 3463 and the IANA
// enhanced-status-code registry), what it means at this moment, what to try
// next, and the RFC sections to read.
//
// The texts are data, one JSON file per language in data/; a reply is
// matched on its code, its enhanced code and, where the meaning depends on
// them, the command that caused it, the door's role and words of the
// reply's text. A reply without an entry of its own still gets its class and
// enhanced-code meaning, never nothing.
//
// The package imports nothing from the server, so the browser client, the
// headless runner and the server all explain with the same data. The
// catalogs are embedded everywhere but in the browser, which fetches only
// its language's catalog from the server (Data), so the wasm does not grow
// with languages.
package explain

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Context is what the terminal knows about the moment a reply arrived.
type Context struct {
	// Command is the verb the reply answers, upper case ("AUTH", "MAIL",
	// "STARTTLS"); "CONNECT" for a greeting; empty when unknown.
	Command string
	// Role is the door's role: "submission" or "relay"; empty when unknown.
	Role string
}

// Ref is one source to read, with its address.
type Ref struct {
	Name string `json:"name"` // "RFC 3207 §4"
	URL  string `json:"url"`
}

// Explanation is what a reply or a close code means.
type Explanation struct {
	Code     int    `json:"code"`
	Enhanced string `json:"enhanced,omitempty"` // "5.7.0"
	// Class is the meaning of the first digit, Category of the second.
	Class    string `json:"class"`
	Category string `json:"category,omitempty"`
	// Subject and Detail are the enhanced code's registry meanings.
	Subject string `json:"subject,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// Gist is one line; Here and Next say more. Empty when no entry
	// matched (Specific is then false).
	Gist     string `json:"gist,omitempty"`
	Here     string `json:"here,omitempty"`
	Next     string `json:"next,omitempty"`
	Refs     []Ref  `json:"refs,omitempty"`
	Specific bool   `json:"specific"`
}

// Line is the explanation in one line: the gist where there is one, the
// class and enhanced meanings otherwise.
func (e Explanation) Line() string {
	if e.Gist != "" {
		return e.Gist
	}
	s := e.Class
	if e.Detail != "" {
		s += " " + e.Detail + "."
	}
	return s
}

// Labels are the catalog's words for the panel's headings.
type Labels struct {
	Class    string `json:"class"`
	Enhanced string `json:"enhanced"`
	Here     string `json:"here"`
	Next     string `json:"next"`
	Read     string `json:"read"`
}

// Catalog is one language's explanations.
type Catalog struct {
	Lang       string            `json:"lang"`
	Labels     Labels            `json:"labels"`
	Classes    map[string]string `json:"classes"`
	Categories map[string]string `json:"categories"`
	Subjects   map[string]string `json:"subjects"`
	Details    map[string]string `json:"details"`
	Replies    []Entry           `json:"replies"`
	Closes     []Entry           `json:"closes"`
}

// Entry is one explanation and the replies it is for.
type Entry struct {
	Code     int      `json:"code"`
	Enhanced string   `json:"enhanced,omitempty"`
	After    string   `json:"after,omitempty"` // space-separated verbs
	Role     string   `json:"role,omitempty"`
	Text     string   `json:"text,omitempty"` // words of the reply, any case
	Gist     string   `json:"gist"`
	Here     string   `json:"here"`
	Next     string   `json:"next"`
	Refs     []string `json:"refs,omitempty"`
}

// Load reads a catalog and checks that every entry can be shown.
func Load(b []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	for _, k := range []string{"2", "3", "4", "5"} {
		if c.Classes[k] == "" {
			return nil, fmt.Errorf("explain %s: no text for class %sxx", c.Lang, k)
		}
	}
	for _, e := range append(append([]Entry(nil), c.Replies...), c.Closes...) {
		if e.Gist == "" || e.Here == "" || e.Next == "" {
			return nil, fmt.Errorf("explain %s: entry for %d %s needs gist, here and next", c.Lang, e.Code, e.Enhanced)
		}
		for _, r := range e.Refs {
			if _, ok := refURL(r); !ok {
				return nil, fmt.Errorf("explain %s: entry for %d: reference %q is not \"RFC N\" or \"RFC N §S\"", c.Lang, e.Code, r)
			}
		}
	}
	return &c, nil
}

// replyLine is "250-STARTTLS", "530 5.7.0 Must issue…", "220 host ESMTP".
var replyLine = regexp.MustCompile(`^([2-5][0-9][0-9])(?:[ -]|$)(?:([2-5]\.[0-9]{1,3}\.[0-9]{1,3})(?: |$))?(.*)$`)

// Parse splits a reply line into its code, enhanced code and text.
func Parse(line string) (code int, enhanced, text string, ok bool) {
	m := replyLine.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
	if m == nil {
		return 0, "", "", false
	}
	code, _ = strconv.Atoi(m[1])
	return code, m[2], m[3], true
}

// Reply explains one reply line; ok is false when the line is not a reply.
func (c *Catalog) Reply(line string, ctx Context) (Explanation, bool) {
	code, enh, text, ok := Parse(line)
	if !ok {
		return Explanation{}, false
	}
	e := c.base(code, enh)
	best, score := -1, -1
	for i, r := range c.Replies {
		s, ok := r.match(code, enh, text, ctx)
		if ok && s > score {
			best, score = i, s
		}
	}
	if best >= 0 {
		c.fill(&e, c.Replies[best])
	}
	return e, true
}

// Close explains a gateway close code; ok is false for a code without an
// entry.
func (c *Catalog) Close(code int) (Explanation, bool) {
	for _, r := range c.Closes {
		if r.Code == code {
			e := Explanation{Code: code}
			c.fill(&e, r)
			return e, true
		}
	}
	return Explanation{Code: code}, false
}

func (c *Catalog) base(code int, enh string) Explanation {
	e := Explanation{Code: code, Enhanced: enh}
	d := strconv.Itoa(code)
	e.Class = c.Classes[d[:1]]
	e.Category = c.Categories[d[1:2]]
	if enh != "" {
		parts := strings.SplitN(enh, ".", 3)
		e.Subject = c.Subjects[parts[1]]
		e.Detail = c.Details[parts[1]+"."+parts[2]]
	}
	return e
}

func (c *Catalog) fill(e *Explanation, r Entry) {
	e.Gist, e.Here, e.Next, e.Specific = r.Gist, r.Here, r.Next, true
	for _, name := range r.Refs {
		u, _ := refURL(name)
		e.Refs = append(e.Refs, Ref{Name: name, URL: u})
	}
}

// match says whether r is for this reply, and how specific it is: every
// condition an Entry names must hold, and each one held counts.
func (r Entry) match(code int, enh, text string, ctx Context) (int, bool) {
	if r.Code != code {
		return 0, false
	}
	score := 0
	if r.Enhanced != "" {
		if r.Enhanced != enh {
			return 0, false
		}
		score += 8
	}
	if r.Text != "" {
		if !strings.Contains(strings.ToLower(text), strings.ToLower(r.Text)) {
			return 0, false
		}
		score += 4
	}
	if r.After != "" {
		if !containsWord(r.After, ctx.Command) {
			return 0, false
		}
		score += 2
	}
	if r.Role != "" {
		if r.Role != ctx.Role {
			return 0, false
		}
		score++
	}
	return score, true
}

func containsWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

// refURL turns "RFC 3207 §4" into the RFC Editor's address of that section.
func refURL(name string) (string, bool) {
	num, sec, _ := strings.Cut(strings.TrimPrefix(name, "RFC "), " §")
	if _, err := strconv.Atoi(num); err != nil || !strings.HasPrefix(name, "RFC ") {
		return "", false
	}
	u := "https://www.rfc-editor.org/rfc/rfc" + num
	if sec != "" {
		u += "#section-" + sec
	}
	return u, true
}
