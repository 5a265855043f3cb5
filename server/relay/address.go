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

// bareAddress is a MAIL or RCPT address the wire completed with a domain.
type bareAddress struct {
	typed, full string // "bob", "bob@sandbox.test"
}

// completeAddress returns line with a MAIL FROM or RCPT TO address that
// has no domain completed with "@"+origin, in brackets, and the address
// as typed and as completed. Any other line comes back unchanged, with a
// zero bareAddress.
func completeAddress(line []byte, verb, origin string) ([]byte, bareAddress) {
	var prefix string
	switch verb {
	case "MAIL":
		prefix = "FROM:"
	case "RCPT":
		prefix = "TO:"
	default:
		return line, bareAddress{}
	}
	text := string(line)
	if len(text) < 5 || text[4] != ' ' {
		return line, bareAddress{} // go-smtp's parseCmd refuses it
	}
	arg := strings.TrimLeft(text[5:], " ")
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return line, bareAddress{}
	}
	head := text[:5] + arg[:len(prefix)]
	arg = strings.TrimLeft(arg[len(prefix):], " ")
	bracket := strings.HasPrefix(arg, "<")
	addr := strings.TrimPrefix(arg, "<")
	end := strings.IndexAny(addr, " \r\n>")
	if end < 0 {
		return line, bareAddress{}
	}
	local, params := addr[:end], addr[end:]
	if bracket {
		if !strings.HasPrefix(params, ">") {
			return line, bareAddress{} // go-smtp's 501, as Postfix's
		}
		params = params[1:]
	}
	if !isDotString(local) {
		return line, bareAddress{}
	}
	full := local + "@" + origin
	return []byte(head + "<" + full + ">" + params), bareAddress{typed: local, full: full}
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
