package relay

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/emersion/go-smtp"
)

// The lesson replies. Each is what Postfix 3.7 sends at the same moment
// (measured with the lessons' configuration), with the RFC 3463 enhanced
// code, and the section of the RFC that asks for it.
//
// Checked against Postfix 3.7 (../shared/tools/postfix-reference.sh)
// for every reply the lessons show: 220 2.0.0 Ready to start TLS, 221 2.0.0 Bye,
// 235 2.7.0, 250 2.1.0 / 2.1.5 / 2.0.0 Ok: queued as, 354, 500 5.5.2 for
// every unknown verb (HELP and XXXXXXXX included, in any case, with
// arguments, inside a transaction), 503 5.5.1 authentication not enabled,
// 530 5.7.0 to AUTH, MAIL, RCPT, VRFY and RSET before TLS, 535 5.7.8, 550
// 5.1.1 User unknown in local recipient table, 552 5.3.4 for SIZE= over
// the limit (fixed limit up to 2^63-1, also past 32 bits; file system
// imposed limit from 2^63) and 554 5.7.1 Relay access denied: the same
// codes and words. The exceptions, each on purpose:
//   - The greeting ends "ESMTP portlab sandbox" where Postfix's default
//     smtpd_banner says "ESMTP Postfix": a student should know which
//     server answers (the banner is configurable in Postfix too).
//   - EHLO lists only what the sandbox implements (PIPELINING, SIZE,
//     STARTTLS, AUTH, ENHANCEDSTATUSCODES, 8BITMIME), in Postfix's order;
//     Postfix adds VRFY, ETRN, DSN, SMTPUTF8 and CHUNKING.
//   - AUTH lists PLAIN LOGIN CRAM-MD5 (the policy's mechanisms); the
//     reference's Cyrus setup lists PLAIN LOGIN.
//   - lineLineTooLong is portlab's own text, not one of Postfix's.
//   - lineAllPortsBusy is postscreen's words; smtpd has no overall cap.
var (
	// RFC 3207 §4 and RFC 4954 §4: a server may demand TLS before AUTH;
	// Postfix with smtpd_tls_security_level=encrypt answers every mail
	// command so until STARTTLS.
	replyMustStartTLS = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	// RFC 4954 §4: AUTH where it is not offered.
	replyAuthNotEnabled = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: authentication not enabled"}
	// RFC 4954 §6: bad credentials.
	replyAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed: authentication failure"}
	// RFC 4954 §4: a mechanism the server does not offer.
	replyAuthMechanism = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Error: authentication failed: Invalid authentication mechanism"}
	// RFC 5321 §4.1.4: MAIL inside a transaction.
	replyNestedMail = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Error: nested MAIL command"}
	// RFC 5321 §4.1.1.3: a recipient must be a mailbox with a domain here.
	replyBadRecipient = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	// RFC 5321 §4.5.3.1.6: text lines are at most 1000 octets; the message
	// is refused whole rather than stored with a line cut in two.
	replyDataLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Error: message line too long (RFC 5321 4.5.3.1.6)"}
	// RFC 1870 §6.3: a body over the limit, refused after the final dot
	// in Postfix's words.
	replyTooBig = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message size exceeds fixed limit"}
	// Postfix's cleanup could not write the queue file: the message is
	// not acknowledged, so the client keeps it (RFC 5321 §4.2.5).
	replyQueueWrite = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Error: queue file write error"}
	// Never written (the wire ends the session first, with its own 421):
	// returned where a read failed, so no internal error text can reach a
	// client.
	replyLost = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Error: lost connection"}
)

// Replies the connection layer writes itself, as raw lines. Those with %s
// take the door's host name first, as Postfix puts $myhostname there.
// Every text here but lineLineTooLong stands in Postfix 3.7's smtpd as
// written (`strings /usr/lib/postfix/sbin/smtpd` on the reference that
// ../shared/tools/postfix-reference.sh installs).
const (
	lineReadyTLS      = "220 2.0.0 Ready to start TLS"             // RFC 3207 §4
	lineTLSActive     = "554 5.5.1 Error: TLS already active"      // RFC 3207 §4
	lineNoTLS         = "502 5.5.1 Error: command not implemented" // STARTTLS where TLS is not offered
	lineNotRecognized = "500 5.5.2 Error: command not recognized"  // RFC 5321 §4.2.4; Postfix for every unknown verb (HELP, EXPN, XXXXXXXX)
	lineSendHelo      = "503 5.5.1 Error: send HELO/EHLO first"    // RFC 3207 §4.2: after TLS, EHLO again
	lineLineTooLong   = "500 5.5.2 Error: line too long"           // RFC 5321 §4.5.3.1.4; portlab's words, not in Postfix's smtpd
	// DATA after MAIL when every RCPT was refused (RFC 5321 §3.3: 554
	// "no valid recipients"); without MAIL Postfix says "need RCPT
	// command" (503). Measured on the reference Postfix 3.7, port 10025.
	lineNoValidRcpts = "554 5.5.1 Error: no valid recipients"
	lineNeedRcpt     = "503 5.5.1 Error: need RCPT command"
	// Postfix smtpd_hard_error_limit.
	lineTooManyErrorsFm = "421 4.7.0 %s Error: too many errors"
	// Postfix smtpd_client_connection_count_limit (anvil), per client address.
	lineTooManyConnsFm = "421 4.7.0 %s Error: too many connections from %s"
	// The overall cap: Postfix's postscreen answers so when every smtpd
	// process is busy (postscreen_post_queue_limit, postscreen.c); RFC 3463
	// 4.3.2 "system not accepting network messages".
	lineAllPortsBusy = "421 4.3.2 All server ports are busy"
	// The server is shutting down (SIGTERM): RFC 5321 §3.8 lets a server
	// that must shut down send 421 and close, "asynchronously from
	// command receipt" if need be; §4.2.3 words 421 as the domain, then
	// service not available, closing transmission channel; RFC 3463 X.3.2 "system
	// not accepting network messages". Postfix 3.7's smtpd has no such
	// reply (it is stopped by a signal and just closes; the nearest
	// words are postscreen's "421 4.3.2 Service currently unavailable"),
	// so these are portlab's words, in Postfix's form.
	lineShuttingDownFm = "421 4.3.2 %s Service shutting down"
	// Postfix smtpd_timeout, per read, in commands and in DATA (smtpd.c
	// smtpd_proto); the session ends.
	lineTimeoutFm = "421 4.4.2 %s Error: timeout exceeded"
	// Postfix smtpd_forbid_bare_newline = reject, with the default
	// smtpd_forbid_bare_newline_reject_code 550 (smtpd.c, mail_params.h);
	// RFC 5321 §2.3.8: CRLF is the only line ending. The session ends.
	lineBareLFFm = "550 5.5.2 %s Error: bare <LF> received"
	// VRFY: Postfix without a recipient table to consult answers "252
	// 2.0.0 arg" (RFC 5321 §3.5.3: 252 when it cannot verify but will
	// try); with no argument, its syntax reply.
	lineVRFYMaybe  = "252 2.0.0 "
	lineVRFYSyntax = "501 5.5.4 Syntax: VRFY address"
	// Postfix's mail_cmd and rcpt_cmd without an address after the
	// colon (RFC 5321 §4.1.1.2, §4.1.1.3); with one it cannot read,
	// lineBadSender or replyBadRecipient (address.go). Measured on the
	// reference Postfix 3.7, port 10025: "MAIL FROM:" and "RCPT TO:"
	// get these; "MAIL FROM:<alice@x" and "MAIL FROM:alice@" get 501
	// 5.1.7, "RCPT TO:<>", "RCPT TO:bob@" and "RCPT TO:<bob@x" 501 5.1.3.
	lineMailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>"
	lineRcptSyntax = "501 5.5.4 Syntax: RCPT TO:<address>"
	// RFC 3463 X.1.7 "bad sender's mailbox address syntax", in Postfix's
	// words (mail_cmd).
	lineBadSender = "501 5.1.7 Bad sender address syntax"
	// Postfix mail_cmd: SIZE= not a number.
	lineBadSize = "501 5.5.4 Bad message size syntax"
	// Postfix mail_cmd: SIZE= above message_size_limit (RFC 1870 §6.1).
	lineSizeTooBig = "552 5.3.4 Message size exceeds fixed limit"
	// Postfix mail_cmd: SIZE= beyond what an off_t holds (measured, 3.7).
	lineSizeOverflow = "552 5.3.4 Message size exceeds file system imposed limit"
)

// A delivery that requires TLS (smtp_tls_security_level = encrypt) to a
// server that does not offer STARTTLS: Postfix's smtp(8) fails it with
// these words and the enhanced status 4.7.4 (smtp_proto.c, smtp_helo:
// smtp_site_fail with SMTP_RESP_FAKE "4.7.4"; RFC 3463 X.7.4 "security
// features not supported"). Postfix defers the message; when
// maximal_queue_lifetime runs out it bounces it from the defer log, whose
// status it writes unchanged beside "Action: failed" (bounce_notify_util.c,
// bounce_recipient_dsn; defer_append keeps only 4.X.X codes). The sandbox's
// queue does the same on simulated time (queue.go). Not X.7.10 ("encryption
// needed", an AUTH mechanism's) nor RFC 8689's X.7.30 (REQUIRETLS).
const (
	whyTLSNotOfferedFm  = "TLS is required, but was not offered by host %s"
	statusTLSNotOffered = "4.7.4"
)

// replyRelayDenied is RFC 5321 §3.6.2's refusal to be an open relay, in
// Postfix's words (docs/teaching-map.md L3).
func replyRelayDenied(rcpt string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: fmt.Sprintf("<%s>: Relay access denied", rcpt)}
}

// replyUnknownUser is RFC 5321 §3.3's "no such user" in Postfix's words.
func replyUnknownUser(rcpt string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: fmt.Sprintf("<%s>: Recipient address rejected: User unknown in local recipient table", rcpt)}
}

// replyGreylisted is a greylisting door's first answer to a new triplet
// (RFC 5321 §4.2.1: 4yz, "the same request may succeed later"), in the
// words Postfix sends for postgrey's default answer. postgrey (1.37,
// github.com/schweikert/postgrey, sub smtpd_access_policy) returns
// "DEFER_IF_PERMIT 4.2.0 Greylisted, see
// http://postgrey.schweikert.ch/help/%r.html", %r the recipient's domain;
// it puts 4.2.0 before its text instead of Postfix's default 4.7.1 to work
// around an Exchange bug. Postfix turns DEFER_IF_PERMIT into
// access_map_defer_code (450) with "<rcpt>: Recipient address rejected: "
// before the text (access(5), smtpd_check.c; on the reference Postfix 3.7,
// `postconf -d access_map_defer_code` is 450 and its smtpd holds
// "<%s>: %s rejected: %s" and "Recipient address").
func replyGreylisted(rcpt string) *smtp.SMTPError {
	_, domain, _ := strings.Cut(rcpt, "@")
	return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: fmt.Sprintf("<%s>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/%s.html", rcpt, domain)}
}

// replyAccessDenied is how Postfix's submission service (restrictions
// permit_sasl_authenticated, reject) refuses a recipient from a client that
// did not authenticate. RFC 6409 §4.3 would also allow 530 at MAIL.
func replyAccessDenied(client netip.Addr) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: fmt.Sprintf("<unknown[%s]>: Client host rejected: Access denied", client)}
}

// replyQueued acknowledges a stored message; go-smtp writes an SMTPError's
// code as given, so a 250 here carries the queue id like Postfix's.
func replyQueued(id string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as " + id}
}

// replyLine formats an SMTPError as the line go-smtp would write for it.
func replyLine(e *smtp.SMTPError) string {
	c := e.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s", e.Code, c[0], c[1], c[2], e.Message)
}

// ehloReply is the EHLO reply (RFC 5321 §4.1.1.1) with the extensions in
// Postfix's order: SIZE (RFC 1870), STARTTLS before TLS where it is
// offered (RFC 3207), AUTH as go-smtp lists it from the session (RFC 4954;
// caps is go-smtp's list, used only for that line), ENHANCEDSTATUSCODES
// (RFC 2034) and 8BITMIME (RFC 6152).
func ehloReply(host string, size int64, starttls bool, caps []string) []string {
	out := []string{"250-" + host, "250-PIPELINING", fmt.Sprintf("250-SIZE %d", size)}
	if starttls {
		out = append(out, "250-STARTTLS")
	}
	for _, c := range caps {
		if strings.HasPrefix(c, "AUTH ") {
			out = append(out, "250-"+c)
		}
	}
	return append(out, "250-ENHANCEDSTATUSCODES", "250 8BITMIME")
}

// brokenAuth reports go-smtp's reply to an AUTH exchange it could not
// follow: a response (the initial one included) that is not base64, or
// one the mechanism cannot parse. go-smtp answers those, and only those,
// with 454 4.7.0; the rewrite below gives Postfix's words.
func brokenAuth(line string) bool { return strings.HasPrefix(line, authBrokenPrefix) }

const authBrokenPrefix = "454 4.7.0 "

// rewrite turns go-smtp's wording of a reply into Postfix's where they
// differ, so every reply a student reads is a real server's. Lines not
// listed pass unchanged. host is the simulated host the door plays.
func rewrite(line, host string) string {
	for _, r := range rewrites {
		if strings.HasPrefix(line, r.from) {
			if strings.Contains(r.to, "%s") {
				return fmt.Sprintf(r.to, host)
			}
			return r.to
		}
	}
	return line
}

var rewrites = []struct{ from, to string }{
	{"220 " /* greeting */, "220 %s ESMTP portlab sandbox"},
	{"250 2.0.0 Hello ", "250 %s"},
	{"235 2.0.0 Authentication succeeded", "235 2.7.0 Authentication successful"},
	{"250 2.0.0 Roger, accepting mail from", "250 2.1.0 Ok"},
	{"250 2.0.0 I'll make sure", "250 2.1.5 Ok"},
	{"250 2.0.0 I have successfully done nothing", "250 2.0.0 Ok"},
	{"250 2.0.0 Session reset", "250 2.0.0 Ok"},
	{"354 ", "354 End data with <CR><LF>.<CR><LF>"},
	{"421 4.4.2 Idle timeout", "421 4.4.2 %s Error: timeout exceeded"},
	{"500 5.5.1 Too many errors", "421 4.7.0 %s Error: too many errors"},
	{"501 5.5.2 Bad command", "500 5.5.2 Error: bad syntax"},
	{"501 5.5.2 Domain/address argument required", "501 5.5.4 Syntax: EHLO hostname"},
	{"501 5.5.2 Was expecting MAIL", lineMailSyntax},
	{"501 5.5.2 Was expecting RCPT", lineRcptSyntax},
	{"502 5.5.1 Please introduce yourself first", "503 5.5.1 Error: send HELO/EHLO first"},
	{"502 5.5.1 Missing MAIL FROM", "503 5.5.1 Error: need MAIL command"},
	{"502 5.5.1 Missing RCPT TO", lineNeedRcpt},
	{"503 5.5.1 Already authenticated", "503 5.5.1 Error: already authenticated"},
	{"502 5.5.4 Missing parameter", "501 5.5.4 Syntax: AUTH mechanism"},
	// Postfix with Cyrus SASL (the reference's) answers a response it
	// cannot decode or parse with SASL_BADPROT's words
	// (xsasl_cyrus_server.c; measured on 3.7, 2,000-octet lines included).
	// A response that is not base64, or that the mechanism cannot parse
	// (go-smtp and go-sasl say 454 4.7.0 with their own words).
	{authBrokenPrefix, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
	{"501 5.0.0 Negotiation cancelled", "501 5.7.0 Authentication aborted"},
	{"552 5.3.4 Max", lineSizeTooBig},
	{"452 4.5.3 Maximum limit", "452 4.5.3 Error: too many recipients"},
	{"502 5.5.1 ", "502 5.5.1 Error: command not implemented"},
	{"500 5.5.2 Syntax errors", lineNotRecognized},
}
