package relay

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/policy"
)

// session is one SMTP session as go-smtp drives it; the rules come from
// the connection's policy (the server's, or its lab's own) and the door's
// listener in it.
type session struct {
	d        *door
	pol      *policy.Policy
	listener policy.Listener
	meta     Meta
	conn     *smtp.Conn
	link     link // the connection: its TLS state and the body it read
	tap      *tap // the connection's events, and its lab
	from     string
	fromSet  bool
	rcpts    []string
	relayed  bool
	authUser string
	// prepend holds headers a policy asked for at RCPT (postgrey's
	// X-Greylist), written before the Received header as Postfix's
	// smtpd writes access-table PREPEND headers.
	prepend []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (s *session) Reset() {
	s.from, s.fromSet, s.rcpts, s.relayed, s.prepend = "", false, nil, false, nil
}

func (s *session) Logout() error { return nil }

func (s *session) awaitingMail() bool { return !s.fromSet }

// lab is where the session's mail and events belong.
func (s *session) lab() string { return s.tap.lab() }

// AuthMechanisms is what EHLO advertises: nothing where AUTH is off, and
// nothing before TLS on a port that demands TLS first (RFC 4954 §4).
func (s *session) AuthMechanisms() []string {
	l := s.listener
	if l.Auth == policy.AuthNone {
		return nil
	}
	if l.RequireTLSBeforeAuth && s.link.tlsState() == nil {
		return nil
	}
	return l.Mechanisms
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	l := s.listener
	if l.Auth == policy.AuthNone {
		return nil, replyAuthNotEnabled
	}
	if l.RequireTLSBeforeAuth && s.link.tlsState() == nil {
		return nil, replyMustStartTLS // the wire answers first; kept as a guard
	}
	if d := s.d.r.clients.authDelay(s.meta); d > 0 {
		// Recent failures from this client: wait before even looking at
		// this try (limits.go). The answer stays Postfix's 535 or 235.
		s.d.r.sleep(d)
	}
	offered := false
	for _, m := range l.Mechanisms {
		offered = offered || m == mech
	}
	if !offered {
		return nil, replyAuthMechanism
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return s.authResult(user, "", false)
			}
			return s.check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: s.check}, nil
	case "CRAM-MD5":
		return newCRAMServer(s.d.host, s.d.r.now(), s.d.r.accounts.Lookup, s.authResult), nil
	}
	return nil, replyAuthMechanism
}

// check verifies a user's password (PLAIN, LOGIN) and records the outcome.
func (s *session) check(user, pass string) error {
	want, lab, ok := s.d.r.accounts.Lookup(user)
	return s.authResult(user, lab, ok && hmac.Equal([]byte(want), []byte(pass)))
}

// authResult records an AUTH outcome and gives go-smtp the reply; lab is
// the lab the account names, if any.
func (s *session) authResult(user, lab string, ok bool) error {
	s.tap.publish(events.Event{Kind: events.Auth, User: user, OK: ok, Text: map[bool]string{true: "AUTH succeeded for " + user, false: "AUTH failed for " + user}[ok]})
	if !ok {
		s.d.r.clients.authFailed(s.meta)
		return replyAuthFailed
	}
	s.authUser = user
	s.tap.moveTo(lab)
	return nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.fromSet {
		return replyNestedMail
	}
	s.from, s.fromSet = from, true
	return nil
}

// Rcpt decides relaying (docs/teaching-map.md L3): mail for the sandbox's own
// domains is taken from anyone; any other domain needs AUTH, a trusted
// source network or a listed relay domain. Submission ports take nothing
// without AUTH, as Postfix's submission service.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	_, domain, ok := strings.Cut(to, "@")
	if !ok || domain == "" {
		return replyBadRecipient
	}
	p, l := s.pol, s.listener
	authed := s.authUser != ""
	if l.Role == policy.RoleSubmission && l.Auth == policy.AuthRequired && !authed {
		return replyAccessDenied(s.meta.Client)
	}
	local := s.d.isLocal(p, domain)
	if local && p.UnknownRecipients != nil && p.UnknownRecipients.MatchString(to) {
		return replyUnknownUser(to)
	}
	if !local && !authed && !p.Trusted(s.meta.Client) && !p.MayRelayTo(to) {
		return replyRelayDenied(to)
	}
	// Greylisting comes last: postgrey's DEFER_IF_PERMIT defers only a
	// recipient that every other restriction would accept.
	if local && s.d.greylist > 0 {
		now := s.now()
		wait, delayed := s.d.r.grey.wait(s.lab(), s.d.host, s.meta.Client, s.from, to, now, s.d.greylist)
		if wait {
			return replyGreylisted(to)
		}
		if delayed > 0 && len(s.prepend) == 0 {
			s.prepend = append(s.prepend, greylistHeader(s.d.host, delayed, now))
		}
	}
	s.rcpts = append(s.rcpts, to)
	s.relayed = s.relayed || !local
	return nil
}

// now is the session's time: a queued attempt's simulated time, or the
// relay's clock.
func (s *session) now() time.Time {
	if !s.meta.At.IsZero() {
		return s.meta.At
	}
	return s.d.r.now()
}

// Data stores the message once it is complete. The wire has read the body
// to the final dot (go-smtp's reader sees only that dot); a client that
// goes away, stalls or sends a bare LF before it makes the read fail, and
// nothing is stored.
func (s *session) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		s.link.takeBody()
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se
		}
		return replyLost // never internal error text (addresses) to a client
	}
	body, tooLong, tooBig := s.link.takeBody()
	switch {
	case tooLong:
		return replyDataLineTooLong
	case tooBig:
		return replyTooBig
	}
	rl := s.d.r
	m := &mailbox.Message{
		Lab:      s.lab(),
		From:     s.from,
		To:       append([]string(nil), s.rcpts...),
		Host:     s.d.host,
		Port:     s.d.port,
		Helo:     s.conn.Hostname(),
		TLS:      s.link.tlsState() != nil,
		AuthUser: s.authUser,
		Relayed:  s.relayed,
	}
	if s.meta.Client.IsValid() {
		m.Client = s.meta.Client.String()
	}
	m.ID = rl.newID()
	if st := s.link.tlsState(); st != nil {
		m.TLSVersion = tls.VersionName(st.Version)
		m.TLSCipher = tls.CipherSuiteName(st.CipherSuite)
	}
	m.ReceivedAt = rl.now()
	trace := received(m, s.d.host)
	for i := len(s.prepend) - 1; i >= 0; i-- {
		trace = append([]byte(s.prepend[i]), trace...)
	}
	// Exactly as large as it must be: the store counts the buffer held.
	m.Raw = append(append(make([]byte, 0, len(trace)+len(body)), trace...), body...)
	s.link.recycle(body)
	switch err := rl.store.Deliver(m); {
	case errors.Is(err, mailbox.ErrTooBig):
		// Larger than a lab may ever hold: it never will fit, so the
		// refusal is permanent, as Postfix's for a message over its limit.
		return replyTooBig
	case err != nil:
		// Not stored, so not acknowledged: the client keeps the message.
		// So too for a lab deleted or expired while the client was still
		// connected (mailbox.ErrNoLab): its mailbox is gone for good.
		return replyQueueWrite
	}
	if s.relayed {
		s.forward(m.ID, m.Raw)
	}
	s.tap.publish(events.Event{Kind: events.Message, MessageID: m.ID, Text: fmt.Sprintf("message %s stored: %d bytes from <%s> to %s", m.ID, len(m.Raw), m.From, strings.Join(m.To, ", "))})
	return replyQueued(m.ID)
}

// received is the trace header every MTA prepends (RFC 5321 §4.4); the
// hop-by-hop lesson reads it.
func received(m *mailbox.Message, host string) []byte {
	with := "ESMTP"
	if m.TLS {
		with += "S"
	}
	if m.AuthUser != "" {
		with += "A"
	}
	tlsNote := ""
	if m.TLS {
		tlsNote = fmt.Sprintf("\r\n\t(using %s with cipher %s)", m.TLSVersion, m.TLSCipher)
	}
	for_ := ""
	if len(m.To) == 1 {
		for_ = " for <" + m.To[0] + ">"
	}
	client := m.Client
	if client == "" {
		client = "unknown"
	}
	return fmt.Appendf(nil, "Received: from %s (unknown [%s])%s\r\n\tby %s (portlab) with %s id %s%s;\r\n\t%s\r\n",
		printable(orUnknown(m.Helo)), client, tlsNote, host, with, m.ID, printable(for_), m.ReceivedAt.Format(time.RFC1123Z))
}

// printable is Postfix's printable(s, '?'), which it applies to the HELO
// name before it goes into a Received: header: a control octet (a NUL or a
// bare CR a client put in its command) never reaches a header, where it
// could end the line early or forge a header of its own.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// loginServer is the LOGIN mechanism (draft-murchison-sasl-login): go-sasl
// ships only its client side.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if len(response) == 0 { // no initial response: ask for it
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(response))
	}
}

// cramServer is CRAM-MD5 (RFC 2195), which the articles list; go-sasl has
// no server side for it.
type cramServer struct {
	challenge string
	lookup    func(user string) (password, lab string, ok bool)
	result    func(user, lab string, ok bool) error
	sent      bool
}

func newCRAMServer(host string, now time.Time, lookup func(string) (string, string, bool), result func(string, string, bool) error) *cramServer {
	var nonce [8]byte
	rand.Read(nonce[:])
	return &cramServer{
		challenge: fmt.Sprintf("<%s.%d@%s>", hex.EncodeToString(nonce[:]), now.Unix(), host),
		lookup:    lookup, result: result,
	}
}

func (c *cramServer) Next(response []byte) ([]byte, bool, error) {
	if !c.sent {
		c.sent = true
		return []byte(c.challenge), false, nil
	}
	user, digest, ok := bytes.Cut(response, []byte(" "))
	pass, lab, known := c.lookup(string(user))
	if !ok || !known {
		return nil, true, c.result(string(user), "", false)
	}
	mac := hmac.New(md5.New, []byte(pass))
	mac.Write([]byte(c.challenge))
	want := hex.EncodeToString(mac.Sum(nil))
	return nil, true, c.result(string(user), lab, hmac.Equal([]byte(want), bytes.ToLower(digest)))
}
