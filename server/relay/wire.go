package relay

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/policy"
)

// wire is the connection as go-smtp sees it: plain SMTP lines, with TLS
// done underneath. Owning TLS here, rather than leaving STARTTLS to
// go-smtp, lets the relay see every command and reply of a connection
// before and after the upgrade (the transcript events), and answer the
// lesson moments exactly as Postfix does: 530 before STARTTLS, EHLO again
// after it, 554 for a second STARTTLS.
type wire struct {
	raw  net.Conn // the transport: TCP or a gateway tunnel
	conn net.Conn // raw, or TLS over raw
	br   *bufio.Reader
	d    *door
	meta Meta
	id   uint64

	tls      *tls.ConnectionState
	implicit bool // TLS from the first byte (465); done lazily
	mode     int
	needEHLO bool   // TLS just started: RFC 3207 §4.2 wants EHLO again
	lastVerb string // the last command handed to go-smtp
	ehlo     []string
	out      []byte // a partial reply line from go-smtp
	in       []byte // bytes of a line not yet handed to go-smtp
	lineBuf  []byte
	body     []byte // the message being received in DATA
	dataBig  bool   // the body broke the size limit: refuse the message
	errors   int
	closing  bool   // the next Read ends the session
	reject   string // refuse at the greeting with this line (limits)
	dataLong bool   // a body line broke the line limit: refuse the message
	session  *session

	closeOnce sync.Once
	onClose   func()
}

const (
	modeCommand = iota
	modeData    // after 354: message lines until the lone dot
	modeAuth    // after 334: one SASL response line
)

// authLineLimit is RFC 4954 §4's minimum for AUTH command and response
// lines, which carry base64 and may exceed RFC 5321's 512 octets.
const authLineLimit = 12288

var errClosing = errors.New("relay: session ended by the server")

func (w *wire) limits() policy.Limits { return w.d.r.policy.Limits }

// Read hands go-smtp the client's input, one command line at a time (so a
// command the wire answers itself never reaches go-smtp). A message body
// never reaches go-smtp: the wire reads it whole to the final dot, by the
// one rule below, keeps it for the session, and hands go-smtp only the
// final ".\r\n", so go-smtp's own DATA reader cannot end the message
// anywhere else.
//
// The rule, in commands, AUTH responses and DATA alike: a line ends with
// CRLF; a bare LF is refused with 550 and the session ends (Postfix's
// smtpd_forbid_bare_newline = reject), so nothing after it is ever read as
// a command. A time-out ends the session the same way, with 421.
func (w *wire) Read(p []byte) (int, error) {
	if err := w.handshakeImplicit(); err != nil {
		return 0, err
	}
	for {
		if len(w.in) > 0 {
			n := copy(p, w.in)
			w.in = w.in[n:]
			return n, nil
		}
		if w.closing {
			return 0, io.EOF
		}
		limit := w.limits().MaxLineLength
		if w.mode != modeData {
			// RFC 4954 §4: AUTH lines and SASL responses may be 12,288
			// octets; other commands are held to the limit below.
			limit = max(limit, authLineLimit)
		}
		line, err := w.readLine(limit)
		switch {
		case errors.Is(err, errBareLF):
			w.writeLine(fmt.Sprintf(lineBareLFFm, w.d.host))
			w.closing = true
			w.body = nil
			return 0, io.EOF
		case isTimeout(err):
			// Postfix: "421 4.4.2 host Error: timeout exceeded", and the
			// session ends; in DATA nothing is stored.
			w.writeLine(fmt.Sprintf(lineTimeoutFm, w.d.host))
			w.closing = true
			w.body = nil
			return 0, io.EOF
		case errors.Is(err, errLineTooLong):
			if w.mode == modeData {
				w.dataLong = true // keep reading to the dot, store nothing
				continue
			}
			w.mode = modeCommand
			w.writeLine(lineLineTooLong)
			continue
		case err != nil:
			w.body = nil
			return 0, err
		}
		switch w.mode {
		case modeData:
			if string(line) == ".\r\n" {
				w.mode = modeCommand
				w.in = line
				continue
			}
			w.bodyLine(line)
			continue
		case modeAuth:
			w.mode = modeCommand
			w.event(events.Command, "<SASL response hidden>")
			w.in = line
			continue
		}
		if w.command(line) {
			w.in = line
		}
	}
}

// bodyLine keeps one message line, without the dot RFC 5321 §4.5.2 adds
// to lines that start with one, up to the size limit; past it the rest is
// read and dropped, and the message is refused after the final dot.
func (w *wire) bodyLine(line []byte) {
	if line[0] == '.' {
		line = line[1:]
	}
	if int64(len(w.body)+len(line)) > w.limits().MaxMessageBytes {
		w.dataBig = true
		return
	}
	w.body = append(w.body, line...)
}

// takeBody hands the session the message the wire read, and whether it
// broke a limit.
func (w *wire) takeBody() (body []byte, tooLong, tooBig bool) {
	body, tooLong, tooBig = w.body, w.dataLong, w.dataBig
	w.body, w.dataLong, w.dataBig = nil, false, false
	return body, tooLong, tooBig
}

// recycle takes back a body the session has copied, for the next message
// of the session; a large one is dropped, so an idle session holds little.
func (w *wire) recycle(body []byte) {
	if cap(body) <= 64<<10 {
		w.body = body[:0]
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var (
	errLineTooLong = errors.New("line too long")
	errBareLF      = errors.New("bare LF")
)

// readLine reads one line of at most limit octets, CRLF included. A longer
// line is consumed to its end and reported, so the session can go on; a
// line that ends in a bare LF is consumed and reported.
func (w *wire) readLine(limit int) ([]byte, error) {
	w.lineBuf = w.lineBuf[:0]
	tooLong := false
	var prev byte // the last octet of the previous fragment
	for {
		frag, err := w.br.ReadSlice('\n')
		if !tooLong {
			w.lineBuf = append(w.lineBuf, frag...)
			if len(w.lineBuf) > limit {
				tooLong, w.lineBuf = true, w.lineBuf[:0]
			}
		}
		if err == nil {
			beforeLF := prev
			if len(frag) >= 2 {
				beforeLF = frag[len(frag)-2]
			}
			switch {
			case beforeLF != '\r':
				return nil, errBareLF
			case tooLong:
				return nil, errLineTooLong
			}
			return w.lineBuf, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if len(frag) > 0 {
			prev = frag[len(frag)-1]
		}
	}
}

// timedReader is the transport as the wire reads it: every read sets the
// deadline afresh, so the time-out counts from the client's last activity
// (as Postfix's smtpd_timeout, per read) and a client that keeps sending,
// a long message included, is never cut.
type timedReader struct{ w *wire }

func (t timedReader) Read(p []byte) (int, error) {
	t.w.raw.SetReadDeadline(time.Now().Add(t.w.limits().IdleTimeout))
	return t.w.conn.Read(p)
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

// command inspects one command line and reports whether go-smtp should
// see it; otherwise the wire has answered it.
func (w *wire) command(line []byte) bool {
	text := strings.TrimRight(string(line), "\r\n")
	verb, _, _ := strings.Cut(text, " ")
	verb = strings.ToUpper(verb)
	shown := text
	if verb == "AUTH" {
		shown = maskAuth(text)
	}
	w.event(events.Command, shown)
	if len(line) > w.limits().MaxLineLength && verb != "AUTH" {
		w.writeLine(lineLineTooLong)
		return false
	}
	if verb == "QUIT" || verb == "NOOP" || verb == "EHLO" || verb == "HELO" {
		w.needEHLO = false
		w.lastVerb = verb
		return true
	}
	switch {
	case verb == "STARTTLS":
		w.startTLS()
		return false
	case w.needEHLO:
		w.writeLine(lineSendHelo)
		return false
	case !known[verb]:
		// Before the TLS gate, as in Postfix's command loop. BDAT lands
		// here too: CHUNKING is not offered (RFC 3030 §2).
		w.writeLine(lineNotRecognized)
		return false
	case w.tls == nil && w.d.listener.RequireTLSBeforeAuth && gatedBeforeTLS[verb]:
		w.writeLine(replyLine(replyMustStartTLS))
		return false
	case verb == "VRFY":
		_, arg, _ := strings.Cut(text, " ")
		if arg = strings.TrimSpace(arg); arg == "" {
			w.writeLine(lineVRFYSyntax)
		} else {
			w.writeLine(lineVRFYMaybe + arg)
		}
		return false
	case verb == "MAIL" && w.session != nil && !w.session.fromSet:
		// After go-smtp's own checks for HELO and a nested MAIL, as
		// Postfix orders them.
		if reply := w.checkSize(text); reply != "" {
			w.writeLine(reply)
			return false
		}
	}
	w.lastVerb = verb
	return true
}

// checkSize answers a MAIL whose SIZE= (RFC 1870) is not a number or is
// over the limit, as Postfix does; go-smtp would read it as a 32-bit
// number and answer 501 for a size it cannot hold. Sizes it can read and
// the rest of the command are left to go-smtp.
func (w *wire) checkSize(text string) string {
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
		case n > w.limits().MaxMessageBytes:
			return lineSizeTooBig
		}
	}
	return ""
}

// maskAuth keeps the mechanism and hides the credentials in events and
// logs; the student's own tab shows (and decodes) what it sent.
func maskAuth(text string) string {
	f := strings.Fields(text)
	if len(f) > 2 {
		return f[0] + " " + f[1] + " <credentials hidden>"
	}
	return text
}

// startTLS upgrades the connection (RFC 3207).
func (w *wire) startTLS() {
	switch {
	case w.tls != nil:
		w.writeLine(lineTLSActive)
		return
	case !w.d.offersSTARTTLS():
		w.writeLine(lineNoTLS)
		return
	}
	w.writeLine(lineReadyTLS)
	// RFC 3207 §4.2 (and CVE-2011-0411): anything the client pipelined
	// after STARTTLS arrived in the clear and must not be acted on.
	w.br.Discard(w.br.Buffered())
	tc := tls.Server(w.raw, w.d.tlsConfig)
	if err := w.handshake(tc); err != nil {
		w.closing = true
		return
	}
	w.needEHLO = true
}

func (w *wire) handshakeImplicit() error {
	if !w.implicit || w.tls != nil {
		return nil
	}
	w.implicit = false
	if err := w.handshake(tls.Server(w.raw, w.d.tlsConfig)); err != nil {
		w.closing = true
		return err
	}
	return nil
}

func (w *wire) handshake(tc *tls.Conn) error {
	w.raw.SetDeadline(time.Now().Add(w.limits().IdleTimeout))
	err := tc.Handshake()
	w.raw.SetDeadline(time.Time{})
	if err != nil {
		w.event(events.TLS, "TLS handshake failed: "+err.Error())
		return err
	}
	st := tc.ConnectionState()
	w.tls = &st
	w.conn = tc
	w.br.Reset(timedReader{w})
	w.publish(events.Event{
		Kind: events.TLS, Text: fmt.Sprintf("TLS established: %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)),
		TLSVersion: tls.VersionName(st.Version), TLSCipher: tls.CipherSuiteName(st.CipherSuite), Secure: true,
	})
	return nil
}

// Write takes go-smtp's replies, line by line, and sends them in Postfix's
// words; the EHLO reply is rebuilt whole.
func (w *wire) Write(p []byte) (int, error) {
	if err := w.handshakeImplicit(); err != nil {
		return 0, err
	}
	w.out = append(w.out, p...)
	for {
		i := bytes.IndexByte(w.out, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.out[:i+1]), "\r\n")
		w.out = w.out[i+1:]
		if err := w.reply(line); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (w *wire) reply(line string) error {
	if w.reject != "" {
		// Over a limit at connect: the greeting becomes the refusal.
		msg := w.reject
		w.reject, w.closing = "", true
		return w.writeLine(msg)
	}
	if w.closing {
		return errClosing
	}
	if w.lastVerb == "EHLO" && strings.HasPrefix(line, "250") {
		w.ehlo = append(w.ehlo, line[4:])
		if len(line) > 3 && line[3] == ' ' {
			caps := w.ehlo
			w.ehlo = nil
			return w.writeLines(w.ehloReply(caps))
		}
		return nil
	}
	line = rewrite(line, w.d.host)
	switch {
	case strings.HasPrefix(line, "354"):
		w.mode = modeData
	case strings.HasPrefix(line, "334"):
		w.mode = modeAuth
	}
	return w.writeLine(line)
}

// ehloReply lists the extensions as Postfix orders them. go-smtp's own list
// is used only for the AUTH line, which it builds from the session.
func (w *wire) ehloReply(caps []string) []string {
	l := w.d.r.policy.Limits
	out := []string{"250-" + w.d.host, "250-PIPELINING", fmt.Sprintf("250-SIZE %d", l.MaxMessageBytes)}
	if w.tls == nil && w.d.offersSTARTTLS() {
		out = append(out, "250-STARTTLS")
	}
	for _, c := range caps {
		if strings.HasPrefix(c, "AUTH ") {
			out = append(out, "250-"+c)
		}
	}
	out = append(out, "250-ENHANCEDSTATUSCODES", "250 8BITMIME")
	return out
}

func (w *wire) writeLines(lines []string) error {
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\r', '\n')
		w.event(events.Reply, l)
	}
	_, err := w.conn.Write(b)
	return err
}

// writeLine sends one reply line, counts errors against the session's
// limit (Postfix's smtpd_hard_error_limit) and ends the session there.
func (w *wire) writeLine(line string) error {
	if err := w.writeLines([]string{line}); err != nil {
		return err
	}
	if len(line) >= 4 && (line[0] == '4' || line[0] == '5') && line[3] == ' ' && !strings.HasPrefix(line, "421") {
		w.errors++
		if w.errors >= w.limits().MaxErrors {
			w.closing = true
			return w.writeLines([]string{fmt.Sprintf(lineTooManyErrorsFm, w.d.host)})
		}
	}
	if strings.HasPrefix(line, "421") {
		w.closing = true
	}
	return nil
}

// replyLine formats an SMTPError as the line go-smtp would write for it.
func replyLine(e *smtp.SMTPError) string {
	c := e.EnhancedCode
	return fmt.Sprintf("%d %d.%d.%d %s", e.Code, c[0], c[1], c[2], e.Message)
}

func (w *wire) event(kind events.Kind, text string) {
	w.publish(events.Event{Kind: kind, Text: text})
}

func (w *wire) publish(e events.Event) {
	bus := w.d.r.bus
	if !bus.HasSubscribers() {
		return
	}
	e.Time = w.d.r.now()
	e.Lab = w.lab()
	e.Conn = w.id
	e.Host = w.d.host
	e.Port = w.d.port
	if w.meta.Client.IsValid() {
		e.Client = w.meta.Client.String()
	}
	if w.tls != nil {
		e.Secure = true
	}
	bus.Publish(e)
}

// lab is where this connection's mail and events belong: an AUTH user that
// names a lab moves a real client's session there.
func (w *wire) lab() string {
	if w.session != nil && w.session.authLab != "" {
		return w.session.authLab
	}
	if w.meta.Lab != "" {
		return w.meta.Lab
	}
	return DefaultLab
}

// Close releases the client's connection slot before closing, so a client
// that has seen the close can connect again at once.
func (w *wire) Close() error {
	w.closeOnce.Do(func() {
		if w.onClose != nil {
			w.onClose()
		}
		w.event(events.Disconnect, "connection closed")
	})
	// Through TLS when it is up, so the client gets close_notify.
	return w.conn.Close()
}

func (w *wire) LocalAddr() net.Addr                { return w.raw.LocalAddr() }
func (w *wire) RemoteAddr() net.Addr               { return w.raw.RemoteAddr() }
func (w *wire) SetDeadline(t time.Time) error      { return w.raw.SetDeadline(t) }
func (w *wire) SetReadDeadline(t time.Time) error  { return w.raw.SetReadDeadline(t) }
func (w *wire) SetWriteDeadline(t time.Time) error { return w.raw.SetWriteDeadline(t) }
