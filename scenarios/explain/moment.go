package explain

import "strings"

// RoleFor is the role of a lesson port's door: "relay" on 25, where
// servers hand mail to servers (RFC 5321 §2.3.10), "submission" on 587 and
// 2525 (RFC 6409) and on 465 (RFC 8314 §3), "" on any other port.
func RoleFor(port int) string {
	switch port {
	case 25:
		return "relay"
	case 465, 587, 2525:
		return "submission"
	}
	return ""
}

// Moment follows one conversation, line by line, to know the [Context]
// of each reply: the command it answers and the door's role. The zero
// value knows neither; call Connect when a connection starts.
type Moment struct {
	role    string
	command string
	inData  bool // after 354: client lines are the message, until the lone dot
	authing bool // after 334: the next client line answers the AUTH challenge
}

// Connect starts a conversation with the door at port: the next reply is
// the greeting.
func (m *Moment) Connect(port int) {
	*m = Moment{role: RoleFor(port), command: "CONNECT"}
}

// Sent notes a line the client sent. A line of the message (after 354)
// and an answer to an AUTH challenge (after 334) are not commands: the
// reply that follows answers DATA or AUTH.
func (m *Moment) Sent(line string) {
	switch {
	case m.inData:
		if line == "." {
			m.inData = false
		}
		m.command = "DATA"
	case m.authing:
		m.authing = false
	default:
		v, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		m.command = strings.ToUpper(v)
	}
}

// Received returns the context of a server line and whether the line
// ends its reply: a multi-line reply's last line, the one with a space
// (or nothing) after the code, is the one to explain (RFC 5321 §4.2.1).
func (m *Moment) Received(line string) (ctx Context, last bool) {
	ctx = Context{Command: m.command, Role: m.role}
	code, _, _, ok := Parse(line)
	if !ok {
		return ctx, false
	}
	if len(line) > 3 && line[3] == '-' {
		return ctx, false
	}
	m.inData = code == 354
	m.authing = code == 334
	return ctx, true
}
