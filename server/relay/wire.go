package relay

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/policy"
)

// wire is the connection as go-smtp sees it: plain SMTP lines in, replies
// out. It puts together the parts of the connection layer, each in its
// own file: the transport and its TLS upgrade (tls.go), the line rule
// (lines.go), the message body (body.go), the commands answered before
// go-smtp (gate.go), the error limit (errlimit.go) and the events (tap.go);
// reply texts and their rewriting live in replies.go.
//
// The session and the wire meet at two small interfaces: the session
// reads its connection's TLS state and message body through [link] and
// publishes on the shared tap (which it also tells of a lab named by AUTH);
// the wire asks its session only whether a MAIL is awaited
// ([transaction]).
type wire struct {
	t     *transport
	lines lineReader
	body  messageBody
	gate  gate
	errs  errorLimit
	tap   *tap
	d     *door
	meta  Meta
	// pol and listener are the rules this connection follows, chosen
	// when it opens (LabPolicies).
	pol      *policy.Policy
	listener policy.Listener
	txn      transaction // nil until go-smtp starts the session (HELO)

	mode    int
	in      []byte         // bytes of a line not yet handed to go-smtp
	out     []byte         // a partial reply line from go-smtp
	ehlo    []string       // the EHLO reply's lines so far
	closing bool           // the next Read ends the session
	addr    addressCommand // the MAIL or RCPT go-smtp is answering
	reject  string         // refuse at the greeting with this line (limits)

	closeOnce sync.Once
	onClose   func()
	// inData mirrors mode == modeData for Relay.Shutdown, which runs on
	// another goroutine: a message being received is let finish.
	inData atomic.Bool
}

func (w *wire) setMode(m int) {
	w.mode = m
	w.inData.Store(m == modeData)
}

// stopping reports whether the relay is shutting down and the session
// is between commands, where it ends with 421 at its next read.
func (w *wire) stopping() bool { return w.d.r.draining.Load() && w.mode != modeData }

const (
	modeCommand = iota
	modeData    // after 354: message lines until the lone dot
	modeAuth    // after 334: one SASL response line
)

// authLineLimit is RFC 4954 §4's minimum for AUTH command and response
// lines, which carry base64 and may exceed RFC 5321's 512 octets.
const authLineLimit = 12288

var errClosing = errors.New("relay: session ended by the server")

// transaction is what the wire needs of its session.
type transaction interface {
	awaitingMail() bool // greeted, and no MAIL yet
}

// link is what a session needs of its connection.
type link interface {
	tlsState() *tls.ConnectionState // nil in the clear
	takeBody() (body []byte, tooLong, tooBig bool)
	recycle(body []byte)
}

var _ link = (*wire)(nil)

// newWire makes the wire for a new connection on door d, offering TLS
// with cfg (nil where the door has none).
func newWire(c net.Conn, d *door, meta Meta, id uint64, cfg *tls.Config) *wire {
	pol, l := d.rules(meta.Lab)
	lim := d.r.policy.Limits // the server's: a lab's policy carries them too
	t := &transport{raw: c, conn: c, config: cfg, timeout: lim.IdleTimeout, implicit: d.implicitTLS()}
	w := &wire{
		t:     t,
		lines: newLineReader(t),
		body:  messageBody{max: d.r.maxMessage},
		// A door that plays a server without STARTTLS cannot demand it,
		// whatever a lab's listener says (RFC 3207 §4: the client could
		// never comply).
		gate: gate{offersTLS: d.offersSTARTTLS(), tlsFirst: l.RequireTLSBeforeAuth && d.offersSTARTTLS(),
			maxLine: lim.MaxLineLength, maxMessage: d.r.maxMessage},
		errs:     errorLimit{max: lim.MaxErrors},
		tap:      &tap{bus: d.r.bus, now: d.r.now, conn: id, host: d.host, port: d.port, client: meta.Client, home: meta.Lab},
		d:        d,
		meta:     meta,
		pol:      pol,
		listener: l,
	}
	t.stop = w.stopping
	return w
}

// Read hands go-smtp the client's input, one command line at a time (so a
// command the gate answers never reaches go-smtp). A message body never
// reaches go-smtp: the wire reads it whole to the final dot and keeps it
// for the session (body.go), and hands go-smtp only the final ".\r\n".
//
// The line rule, in commands, AUTH responses and DATA alike: a line ends
// with CRLF; a bare LF is refused with 550 and the session ends (Postfix's
// smtpd_forbid_bare_newline = reject), so nothing after it is ever read as
// a command. A time-out ends the session the same way, with 421.
func (w *wire) Read(p []byte) (int, error) {
	if err := w.startImplicitTLS(); err != nil {
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
		limit := w.d.r.policy.Limits.MaxLineLength
		if w.mode != modeData {
			// RFC 4954 §4: AUTH lines and SASL responses may be 12,288
			// octets; other commands are held to the limit by the gate.
			limit = max(limit, authLineLimit)
		}
		line, err := w.lines.read(limit)
		switch {
		case errors.Is(err, errBareLF):
			return 0, w.end(fmt.Sprintf(lineBareLFFm, w.d.host))
		case isTimeout(err) && w.d.r.draining.Load():
			// Relay.Shutdown woke the read: RFC 5321 §3.8's 421.
			return 0, w.end(fmt.Sprintf(lineShuttingDownFm, w.d.host))
		case isTimeout(err):
			// Postfix's smtpd_timeout: the session ends; in DATA
			// nothing is stored.
			return 0, w.end(fmt.Sprintf(lineTimeoutFm, w.d.host))
		case errors.Is(err, errLineTooLong):
			if w.mode == modeData {
				w.body.lineTooLong() // keep reading to the dot, store nothing
				continue
			}
			w.setMode(modeCommand)
			w.writeLine(lineLineTooLong)
			continue
		case err != nil:
			w.body.drop()
			return 0, err
		}
		switch w.mode {
		case modeData:
			if string(line) == ".\r\n" {
				w.setMode(modeCommand)
				w.in = line
				continue
			}
			w.body.add(line)
			continue
		case modeAuth:
			w.setMode(modeCommand)
			w.tap.event(events.Command, "<SASL response hidden>")
			w.in = line
			continue
		}
		if w.command(line) {
			w.in = line
		}
		if len(w.in) > 0 {
			_, verb := command(w.in)
			w.in, w.addr = completeAddress(w.in, verb, w.d.origin(w.pol))
		}
	}
}

// end answers with line, drops any message being received and ends the
// session.
func (w *wire) end(line string) error {
	w.writeLine(line)
	w.closing = true
	w.body.drop()
	return io.EOF
}

// command shows one command line on the event tap and lets the gate
// decide it; it reports whether go-smtp should see it.
func (w *wire) command(line []byte) bool {
	w.tap.event(events.Command, shownCommand(command(line)))
	v := w.gate.check(line, w.t.secure() != nil, w.txn != nil && w.txn.awaitingMail())
	switch {
	case v.pass:
		return true
	case v.startTLS:
		w.startTLS()
	default:
		w.writeLine(v.reply)
	}
	return false
}

// startTLS upgrades the connection (RFC 3207).
func (w *wire) startTLS() {
	w.writeLine(lineReadyTLS)
	// RFC 3207 §4.2 (and CVE-2011-0411): anything the client pipelined
	// after STARTTLS arrived in the clear and must not be acted on.
	w.lines.discard()
	if err := w.handshake(); err != nil {
		w.closing = true
		return
	}
	w.gate.tlsStarted()
}

func (w *wire) startImplicitTLS() error {
	if !w.t.pendingImplicit() {
		return nil
	}
	if err := w.handshake(); err != nil {
		w.closing = true
		return err
	}
	return nil
}

func (w *wire) handshake() error {
	st, err := w.t.upgrade()
	if err != nil {
		w.tap.event(events.TLS, "TLS handshake failed: "+err.Error())
		return err
	}
	w.tap.secure = true
	w.lines.reset(w.t)
	version, cipher := tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
	w.tap.publish(events.Event{
		Kind: events.TLS, Text: fmt.Sprintf("TLS established: %s, %s", version, cipher),
		TLSVersion: version, TLSCipher: cipher, Secure: true,
	})
	return nil
}

// Write takes go-smtp's replies, line by line, and sends them in Postfix's
// words; the EHLO reply is rebuilt whole.
func (w *wire) Write(p []byte) (int, error) {
	if err := w.startImplicitTLS(); err != nil {
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
	if w.gate.lastVerb == "EHLO" && strings.HasPrefix(line, "250") {
		w.ehlo = append(w.ehlo, line[4:])
		if len(line) > 3 && line[3] == ' ' {
			caps := w.ehlo
			w.ehlo = nil
			return w.writeLines(ehloReply(w.d.host, w.gate.maxMessage, w.t.secure() == nil && w.gate.offersTLS, caps)...)
		}
		return nil
	}
	if brokenAuth(line) {
		// Postfix counts a broken exchange as an error like a wrong
		// password (its command loop counts every failed AUTH), so it
		// slows the client's next AUTH down as well (limits.go).
		w.d.r.clients.authFailed(w.meta)
	}
	line = rewrite(line, w.d.host)
	line = w.addr.answer(line)
	if line == lineNeedRcpt && w.txn != nil && !w.txn.awaitingMail() {
		line = lineNoValidRcpts
	}
	switch {
	case strings.HasPrefix(line, "354"):
		w.setMode(modeData)
	case strings.HasPrefix(line, "334"):
		w.setMode(modeAuth)
	}
	return w.writeLine(line)
}

func (w *wire) writeLines(lines ...string) error {
	var b []byte
	for _, l := range lines {
		b = append(b, l...)
		b = append(b, '\r', '\n')
		w.tap.event(events.Reply, l)
	}
	_, err := w.t.Write(b)
	return err
}

// writeLine sends one reply line, counts errors against the session's
// limit and ends the session there, or at a 421.
func (w *wire) writeLine(line string) error {
	if err := w.writeLines(line); err != nil {
		return err
	}
	if w.errs.count(line) {
		w.closing = true
		return w.writeLines(fmt.Sprintf(lineTooManyErrorsFm, w.d.host))
	}
	if endsSession(line) {
		w.closing = true
	}
	return nil
}

func (w *wire) tlsState() *tls.ConnectionState { return w.t.secure() }

func (w *wire) takeBody() (body []byte, tooLong, tooBig bool) { return w.body.take() }

func (w *wire) recycle(body []byte) { w.body.recycle(body) }

// Close releases the client's connection slot before closing, so a client
// that has seen the close can connect again at once.
func (w *wire) Close() error {
	w.closeOnce.Do(func() {
		if w.onClose != nil {
			w.onClose()
		}
		w.d.r.forget(w)
		w.tap.event(events.Disconnect, "connection closed")
	})
	return w.t.Close()
}

func (w *wire) LocalAddr() net.Addr                { return w.t.raw.LocalAddr() }
func (w *wire) RemoteAddr() net.Addr               { return w.t.raw.RemoteAddr() }
func (w *wire) SetDeadline(t time.Time) error      { return w.t.raw.SetDeadline(t) }
func (w *wire) SetReadDeadline(t time.Time) error  { return w.t.raw.SetReadDeadline(t) }
func (w *wire) SetWriteDeadline(t time.Time) error { return w.t.raw.SetWriteDeadline(t) }
