package relay

import (
	"strconv"
	"strings"
)

// gate decides which commands the relay answers itself, before go-smtp
// sees them: STARTTLS (the relay owns TLS), unknown verbs, the TLS-first
// rule of a submission port, VRFY, and a MAIL whose SIZE= go-smtp would
// misread. Everything else goes to go-smtp, whose replies the wire then
// puts in Postfix's words.
type gate struct {
	offersTLS  bool  // STARTTLS is offered here
	tlsFirst   bool  // the port refuses mail commands before TLS (587)
	maxLine    int   // octets in a command line, CRLF included
	maxMessage int64 // the SIZE limit

	needEHLO bool   // TLS just started: RFC 3207 §4.2 wants EHLO again
	lastVerb string // the last command handed to go-smtp
}

// verdict is what the gate made of one command line.
type verdict struct {
	pass     bool   // hand the line to go-smtp
	reply    string // otherwise this line answers it
	startTLS bool   // or: 220, then the TLS handshake (RFC 3207 §4)
}

// gatedBeforeTLS are the commands Postfix refuses with 530 on a port that
// demands TLS first; EHLO, HELO, NOOP, QUIT and STARTTLS still work.
var gatedBeforeTLS = map[string]bool{
	"AUTH": true, "MAIL": true, "RCPT": true, "DATA": true, "VRFY": true,
	"RSET": true, "ETRN": true, "EXPN": true, "BDAT": true,
}

// known are the commands go-smtp answers; anything else is refused here
// with Postfix's wording and counted against the error limit. Postfix 3.7
// knows neither HELP nor EXPN: both get 500 (measured).
var known = map[string]bool{
	"HELO": true, "EHLO": true, "MAIL": true, "RCPT": true, "DATA": true,
	"RSET": true, "NOOP": true, "QUIT": true, "VRFY": true, "AUTH": true,
}

// command splits a command line into its text (without CRLF) and its
// verb, in upper case.
func command(line []byte) (text, verb string) {
	text = strings.TrimRight(string(line), "\r\n")
	verb, _, _ = strings.Cut(text, " ")
	return text, strings.ToUpper(verb)
}

// check decides one command line. secure: TLS is up; awaitingMail: the
// session has been greeted and has no MAIL yet.
func (g *gate) check(line []byte, secure, awaitingMail bool) verdict {
	text, verb := command(line)
	if len(line) > g.maxLine && verb != "AUTH" {
		return verdict{reply: lineLineTooLong}
	}
	if verb == "QUIT" || verb == "NOOP" || verb == "EHLO" || verb == "HELO" {
		g.needEHLO = false
		g.lastVerb = verb
		return verdict{pass: true}
	}
	switch {
	case verb == "STARTTLS":
		switch {
		case secure:
			return verdict{reply: lineTLSActive}
		case !g.offersTLS:
			return verdict{reply: lineNoTLS}
		}
		return verdict{startTLS: true}
	case g.needEHLO:
		return verdict{reply: lineSendHelo}
	case !known[verb]:
		// Before the TLS gate, as in Postfix's command loop. BDAT lands
		// here too: CHUNKING is not offered (RFC 3030 §2).
		return verdict{reply: lineNotRecognized}
	case !secure && g.tlsFirst && gatedBeforeTLS[verb]:
		return verdict{reply: replyLine(replyMustStartTLS)}
	case verb == "VRFY":
		_, arg, _ := strings.Cut(text, " ")
		if arg = strings.TrimSpace(arg); arg == "" {
			return verdict{reply: lineVRFYSyntax}
		}
		return verdict{reply: lineVRFYMaybe + arg}
	case verb == "MAIL" && awaitingMail:
		// After go-smtp's own checks for HELO and a nested MAIL, as
		// Postfix orders them.
		if reply := g.checkSize(text); reply != "" {
			return verdict{reply: reply}
		}
	}
	g.lastVerb = verb
	return verdict{pass: true}
}

// tlsStarted records a TLS upgrade: the client must greet again.
func (g *gate) tlsStarted() { g.needEHLO = true }

// checkSize answers a MAIL whose SIZE= (RFC 1870) is not a number or is
// over the limit, as Postfix does; go-smtp would read it as a 32-bit
// number and answer 501 for a size it cannot hold. Sizes it can read and
// the rest of the command are left to go-smtp.
func (g *gate) checkSize(text string) string {
	for _, f := range strings.Fields(text) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !strings.EqualFold(k, "SIZE") {
			continue
		}
		if v == "" || strings.Trim(v, "0123456789") != "" {
			return lineBadSize
		}
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return lineSizeOverflow
		case n > g.maxMessage:
			return lineSizeTooBig
		}
	}
	return ""
}

// shownCommand is a command as events and logs show it: AUTH keeps its
// mechanism and hides the credentials (the student's own tab shows, and
// decodes, what it sent).
func shownCommand(text, verb string) string {
	if verb != "AUTH" {
		return text
	}
	f := strings.Fields(text)
	if len(f) > 2 {
		return f[0] + " " + f[1] + " <credentials hidden>"
	}
	return text
}
