package relay

import "strings"

// errorLimit counts the error replies of a session, Postfix's
// smtpd_hard_error_limit: at the limit the session ends with 421.
type errorLimit struct {
	n, max int
}

// count records one reply line and reports whether the session has now
// reached the limit. A 421 is not counted: it ends the session anyway.
func (e *errorLimit) count(line string) bool {
	if len(line) < 4 || (line[0] != '4' && line[0] != '5') || line[3] != ' ' || endsSession(line) {
		return false
	}
	e.n++
	return e.n >= e.max
}

// endsSession: RFC 5321 §3.8, a 421 reply closes the transmission channel.
func endsSession(line string) bool { return strings.HasPrefix(line, "421") }
