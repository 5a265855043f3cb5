package session

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply is one SMTP reply (RFC 5321 §4.2), possibly spanning several lines.
type Reply struct {
	// Code is the three-digit reply code.
	Code int
	// Enhanced is the RFC 3463 enhanced status code of the first line,
	// "5.7.0", or "" when the server sent none.
	Enhanced string
	// Lines are the lines as received, without CRLF: "250-PIPELINING".
	Lines []string
}

// ErrNotSMTP reports a line that is not an SMTP reply, such as an IMAP or
// POP3 greeting met at the wrong door.
var ErrNotSMTP = errors.New("not an SMTP reply")

// parseLine splits "250-text" into code, continuation and text.
func parseLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: %q", ErrNotSMTP, line)
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", fmt.Errorf("%w: %q", ErrNotSMTP, line)
		}
	}
	code, _ = strconv.Atoi(line[:3])
	if code < 200 || code > 599 {
		return 0, false, "", fmt.Errorf("%w: code %d out of range: %q", ErrNotSMTP, code, line)
	}
	switch {
	case len(line) == 3:
		return code, false, "", nil
	case line[3] == ' ':
		return code, false, line[4:], nil
	case line[3] == '-':
		return code, true, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("%w: %q", ErrNotSMTP, line)
}

// splitEnhanced returns the RFC 3463 code at the start of text, if its
// class agrees with the reply code, and the rest of the text.
func splitEnhanced(code int, text string) (enh, rest string) {
	word, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) {
		return "", text
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return "", text
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return "", text
			}
		}
	}
	return word, rest
}

// Text returns the reply's text without codes, lines joined by "\n".
func (r *Reply) Text() string {
	var b strings.Builder
	for i, l := range r.Lines {
		_, _, text, _ := parseLine(l)
		if _, rest := splitEnhanced(r.Code, text); r.Enhanced != "" {
			text = rest
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(text)
	}
	return b.String()
}

// String returns the reply as received, lines joined by "\n".
func (r *Reply) String() string { return strings.Join(r.Lines, "\n") }

// Positive reports a 2xx or 3xx reply.
func (r *Reply) Positive() bool { return r.Code >= 200 && r.Code < 400 }

// Extensions returns the EHLO keywords of a 250 reply to EHLO
// (RFC 5321 §4.1.1.1), upper-cased, in order: "PIPELINING", "STARTTLS".
func (r *Reply) Extensions() []string {
	if r.Code != 250 || len(r.Lines) < 2 {
		return nil
	}
	var out []string
	for _, l := range r.Lines[1:] {
		_, _, text, _ := parseLine(l)
		if kw, _, _ := strings.Cut(text, " "); kw != "" {
			out = append(out, strings.ToUpper(kw))
		}
	}
	return out
}

// Extension reports whether an EHLO reply lists the keyword (any case)
// and returns its parameters: Extension("AUTH") might give "PLAIN LOGIN".
func (r *Reply) Extension(keyword string) (params string, ok bool) {
	if r.Code != 250 || len(r.Lines) < 2 {
		return "", false
	}
	for _, l := range r.Lines[1:] {
		_, _, text, _ := parseLine(l)
		kw, params, _ := strings.Cut(text, " ")
		if strings.EqualFold(kw, keyword) {
			return strings.TrimSpace(params), true
		}
	}
	return "", false
}
