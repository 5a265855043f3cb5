package relay

import (
	"strings"

	"github.com/portlab/portlab/server/policy"
)

// Postfix 3.7, with Debian's strict_rfc821_envelopes = no, takes MAIL
// FROM and RCPT TO addresses without angle brackets, and an address
// without a domain, which it completes with $myorigin (append_at_myorigin
// = yes) and quotes as typed in a refusal: "RCPT TO:bob" answers "550
// 5.1.1 <bob>: Recipient address rejected: ..." where bob is unknown
// (measured on the reference Postfix, ports 10025 and 10587; RFC 5321
// §4.1.2 asks for brackets and a domain, §4.1.1.3 lets a server be
// lenient). go-smtp already takes a bracketless address that has a
// domain; one without a domain it refuses with 501 before the session
// sees it, so the wire completes it here and puts it back as typed in
// the reply (wire.reply).
//
// An address Postfix cannot read at all gets 501 5.1.3 (RCPT) or 501
// 5.1.7 (MAIL); only a missing one gets its "Syntax:" reply. go-smtp
// says "Syntax" for both, so the wire tells them apart by what followed
// the colon.

// addressCommand is what the wire knows of the MAIL or RCPT command
// go-smtp is answering.
type addressCommand struct {
	verb        string // "MAIL" or "RCPT"; "" for any other command
	given       bool   // something follows FROM: or TO:
	typed, full string // a name without a domain, as typed and as completed
}

// completeAddress returns line with a MAIL FROM or RCPT TO address that
// has no domain completed with "@"+origin, in brackets, and what it found
// in the command. Any other line comes back unchanged.
func completeAddress(line []byte, verb, origin string) ([]byte, addressCommand) {
	var prefix string
	switch verb {
	case "MAIL":
		prefix = "FROM:"
	case "RCPT":
		prefix = "TO:"
	default:
		return line, addressCommand{}
	}
	text := string(line)
	if len(text) < 5 || text[4] != ' ' {
		return line, addressCommand{} // go-smtp's parseCmd refuses it
	}
	arg := strings.TrimLeft(text[5:], " ")
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return line, addressCommand{verb: verb}
	}
	head := text[:5] + arg[:len(prefix)]
	arg = strings.TrimLeft(arg[len(prefix):], " ")
	cmd := addressCommand{verb: verb, given: strings.TrimRight(arg, " \r\n") != ""}
	bracket := strings.HasPrefix(arg, "<")
	addr := strings.TrimPrefix(arg, "<")
	end := strings.IndexAny(addr, " \r\n>")
	if end < 0 {
		return line, cmd
	}
	local, params := addr[:end], addr[end:]
	if bracket {
		if !strings.HasPrefix(params, ">") {
			return line, cmd // go-smtp's 501, as Postfix's
		}
		params = params[1:]
	}
	if !isDotString(local) {
		return line, cmd
	}
	cmd.typed, cmd.full = local, local+"@"+origin
	return []byte(head + "<" + cmd.full + ">" + params), cmd
}

// answer puts go-smtp's reply to the command in Postfix's words where
// they depend on the address: a completed one is quoted as typed, and an
// address go-smtp could not read is "bad", not a "Syntax" error, when
// one was given.
func (a addressCommand) answer(line string) string {
	if a.full != "" {
		return strings.Replace(line, "<"+a.full+">", "<"+a.typed+">", 1)
	}
	switch {
	case !a.given:
	case a.verb == "RCPT" && line == lineRcptSyntax:
		return replyLine(replyBadRecipient)
	case a.verb == "MAIL" && line == lineMailSyntax:
		return lineBadSender
	}
	return line
}

// isDotString reports whether s is an RFC 5321 §4.1.2 Dot-string local
// part, the only kind completed: anything else (a domain, a quoted or
// empty local part) is left to go-smtp.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0: // atext and the dots
		default:
			return false
		}
	}
	return true
}

// origin is the domain a bare name is completed with: Postfix's $myorigin.
// A host with its own local domain (mx.example.org) uses it; the sandbox's
// hosts use the policy's first local domain (sandbox.test, as the
// reference's myorigin); a door with neither its host name, $myorigin's
// default ($myhostname).
func (d *door) origin(p *policy.Policy) string {
	switch {
	case len(d.local) > 0:
		return d.local[0]
	case len(p.LocalDomains) > 0:
		return p.LocalDomains[0]
	}
	return d.host
}
