package session

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Who says a transcript line.
type Who int

const (
	Client Who = iota // the student's side
	Server            // the SMTP server (or whatever answers the door)
	TLS               // a TLS event: handshake result, certificate
	Note              // a remark of the client software, like telnet's
)

func (w Who) String() string {
	switch w {
	case Client:
		return "client"
	case Server:
		return "server"
	case TLS:
		return "tls"
	case Note:
		return "note"
	}
	return fmt.Sprintf("Who(%d)", int(w))
}

// Line is one transcript line.
type Line struct {
	Who  Who
	Text string
	// Secure is true for client and server lines that crossed the wire
	// inside TLS.
	Secure bool
	// Decoded is the base64 of an AUTH exchange decoded, for display on
	// hover; NUL bytes are shown as \0. Empty for other lines.
	Decoded string
	At      time.Time
}

// Config configures a Session.
type Config struct {
	// Host is the simulated host name: the TLS ServerName to verify, since
	// a tunnelled connection has no real remote address.
	Host string
	// RootCAs is the sandbox CA pool that server certificates must chain
	// to. Nil means the system pool, which will not know the sandbox CA.
	RootCAs *x509.CertPool
	// Now stamps transcript lines; nil means time.Now.
	Now func() time.Time
	// OnLine receives each transcript line; nil discards them.
	OnLine func(Line)
	// Timeout bounds each operation when the context has no earlier
	// deadline; zero means 30 seconds.
	Timeout time.Duration
	// Unverified encrypts without checking the server's certificate, as
	// an MTA's opportunistic TLS does (Postfix smtp_tls_security_level
	// may and encrypt; RFC 7435 §4). Only the relay's own delivery
	// between simulated hosts sets it; a student's client always verifies.
	Unverified bool
}

// Limits on what a server may send, so a hostile or broken peer cannot
// make the client buffer without end.
const (
	MaxLineLength = 4096 // bytes per reply line, CRLF included
	MaxReplyLines = 200  // lines per multi-line reply
)

// ErrTimeout is returned when an operation's deadline passes.
var ErrTimeout = fmt.Errorf("timed out: %w", os.ErrDeadlineExceeded)

// ErrClosed is returned when the server closed the connection.
var ErrClosed = errors.New("connection closed by foreign host")

// Session is an SMTP client conversation over one connection.
type Session struct {
	cfg      Config
	raw      net.Conn
	conn     net.Conn
	r        *bufio.Reader
	tlsState *tls.ConnectionState

	inData      bool   // after 354: lines are message content
	authPending bool   // after 334: the next client line is base64
	lastEHLO    *Reply // the last 250 answer to EHLO, forgotten at STARTTLS
	closed      bool
}

// New starts a session on conn, which is already connected. It reads
// nothing: call [Session.ReadReply] for the greeting, or
// [Session.Handshake] first for implicit TLS.
func New(conn net.Conn, cfg Config) *Session {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Session{cfg: cfg, raw: conn, conn: conn, r: bufio.NewReaderSize(conn, MaxLineLength)}
}

func (s *Session) emit(l Line) {
	if s.cfg.OnLine == nil {
		return
	}
	l.At = s.cfg.Now()
	if l.Who == Client || l.Who == Server {
		l.Secure = s.tlsState != nil
	}
	s.cfg.OnLine(l)
}

// Notef adds a note to the transcript.
func (s *Session) Notef(format string, args ...any) {
	s.emit(Line{Who: Note, Text: fmt.Sprintf(format, args...)})
}

// io runs f with the connection's deadline set from ctx (or the default
// timeout) and cancellation wired to it, and names the error.
func (s *Session) io(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { s.conn.SetDeadline(time.Unix(1, 0)) })
	err := f()
	stop()
	if err == nil {
		s.conn.SetDeadline(time.Time{})
		return nil
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case !time.Now().Before(deadline), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		s.closed = true
		return ErrClosed
	}
	return err
}

// ReadLine reads one raw line, for doors that do not speak SMTP (an IMAP
// or POP3 greeting) or to see whatever the server sends.
func (s *Session) ReadLine(ctx context.Context) (string, error) {
	var line string
	err := s.io(ctx, func() error {
		var err error
		line, err = s.readLine()
		return err
	})
	if err != nil {
		if errors.Is(err, ErrClosed) {
			s.Notef("Connection closed by foreign host.")
		}
		return "", err
	}
	s.emit(Line{Who: Server, Text: line})
	return line, nil
}

func (s *Session) readLine() (string, error) {
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", fmt.Errorf("server line longer than %d bytes", MaxLineLength)
	}
	if err != nil {
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// ReadReply reads one reply, single or multi-line.
func (s *Session) ReadReply(ctx context.Context) (*Reply, error) {
	r := &Reply{}
	err := s.io(ctx, func() error {
		for {
			line, err := s.readLine()
			if err != nil {
				return err
			}
			code, more, text, err := parseLine(line)
			d := Line{Who: Server, Text: line}
			if err == nil && code == 334 {
				d.Decoded = decode(text)
			}
			s.emit(d)
			if err != nil {
				return err
			}
			if len(r.Lines) == 0 {
				r.Code = code
				r.Enhanced, _ = splitEnhanced(code, text)
			} else if code != r.Code {
				return fmt.Errorf("%w: code %d inside a %d reply", ErrNotSMTP, code, r.Code)
			}
			r.Lines = append(r.Lines, line)
			if !more {
				return nil
			}
			if len(r.Lines) >= MaxReplyLines {
				return fmt.Errorf("reply longer than %d lines", MaxReplyLines)
			}
		}
	})
	if err != nil {
		if errors.Is(err, ErrClosed) {
			s.Notef("Connection closed by foreign host.")
		}
		return nil, err
	}
	s.authPending = r.Code == 334
	return r, nil
}

// Send writes one command line, adding CRLF. The line may not contain CR
// or LF: one call, one line.
func (s *Session) Send(ctx context.Context, line string) error {
	if strings.ContainsAny(line, "\r\n") {
		return errors.New("a command line cannot contain CR or LF")
	}
	d := Line{Who: Client, Text: line}
	if s.authPending {
		d.Decoded = decode(line)
	} else if f := strings.Fields(line); len(f) == 3 && strings.EqualFold(f[0], "AUTH") {
		d.Decoded = decode(f[2])
	}
	if !s.inData {
		s.authPending = false
	}
	s.emit(d)
	return s.io(ctx, func() error {
		_, err := io.WriteString(s.conn, line+"\r\n")
		return err
	})
}

// Cmd sends a command line and reads its reply.
func (s *Session) Cmd(ctx context.Context, line string) (*Reply, error) {
	if err := s.Send(ctx, line); err != nil {
		return nil, err
	}
	r, err := s.ReadReply(ctx)
	if err != nil {
		return nil, err
	}
	if verb(line) == "EHLO" && r.Code == 250 {
		s.lastEHLO = r
	}
	return r, nil
}

// Exec is what a terminal does with a typed line: outside DATA it sends
// the command and reads the reply, running the TLS handshake after a 220
// to STARTTLS; after a 354 it sends message lines as typed (no reply,
// nil Reply) until the lone "." whose reply it returns.
func (s *Session) Exec(ctx context.Context, line string) (*Reply, error) {
	if s.inData {
		if err := s.Send(ctx, line); err != nil {
			return nil, err
		}
		if line != "." {
			return nil, nil
		}
		s.inData = false
		return s.ReadReply(ctx)
	}
	if strings.EqualFold(strings.TrimSpace(line), "STARTTLS") {
		return s.StartTLS(ctx)
	}
	r, err := s.Cmd(ctx, line)
	if err == nil && r.Code == 354 {
		s.inData = true
	}
	return r, err
}

// InData reports whether the session is sending message content (after
// 354, before the final ".").
func (s *Session) InData() bool { return s.inData }

// StartTLS sends STARTTLS and, on 220, runs the TLS handshake
// (RFC 3207 §4). Any other reply is returned with no error: a stripped or
// refused STARTTLS is something the student must see.
func (s *Session) StartTLS(ctx context.Context) (*Reply, error) {
	r, err := s.Cmd(ctx, "STARTTLS")
	if err != nil || r.Code != 220 {
		return r, err
	}
	return r, s.Handshake(ctx)
}

// Handshake runs the TLS client handshake now: at once on connect for
// implicit TLS (465), or after the 220 to STARTTLS. It verifies the
// certificate against Config.RootCAs and Config.Host, requires TLS 1.2 or
// later, and reports version, cipher suite and certificate to the
// transcript. Whatever the server knew before is forgotten (RFC 3207
// §4.2): send EHLO again.
func (s *Session) Handshake(ctx context.Context) error {
	if s.tlsState != nil {
		return errors.New("TLS is already active")
	}
	if n := s.r.Buffered(); n > 0 {
		// Bytes that arrived before the handshake would be trusted as if
		// they came inside TLS (CVE-2011-0411, "STARTTLS command injection").
		return fmt.Errorf("server sent %d bytes of plaintext before the TLS handshake", n)
	}
	tc := tls.Client(s.raw, &tls.Config{
		ServerName:         s.cfg.Host,
		RootCAs:            s.cfg.RootCAs,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: s.cfg.Unverified,
	})
	s.emit(Line{Who: TLS, Text: "TLS handshake with " + s.cfg.Host})
	err := s.io(ctx, func() error { return tc.HandshakeContext(ctx) })
	if err != nil {
		herr := &HandshakeError{Host: s.cfg.Host, Err: err}
		s.emit(Line{Who: TLS, Text: "TLS handshake failed: " + herr.Words()})
		return herr
	}
	st := tc.ConnectionState()
	s.conn = tc
	s.r = bufio.NewReaderSize(tc, MaxLineLength)
	s.tlsState = &st
	s.lastEHLO = nil
	s.emit(Line{Who: TLS, Text: fmt.Sprintf("%s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))})
	if len(st.PeerCertificates) > 0 {
		c := st.PeerCertificates[0]
		s.emit(Line{Who: TLS, Text: fmt.Sprintf("certificate %s, issued by %s, valid until %s",
			c.Subject, c.Issuer, c.NotAfter.UTC().Format("2006-01-02"))})
	}
	return nil
}

// HandshakeError is a failed TLS handshake. Words says why in plain words,
// naming the certificate's fault where verification refused it: a careful
// client stops there, since an unverified server may be anyone
// (RFC 3207 §4.1, RFC 8314 §4.1, RFC 6125 §6).
type HandshakeError struct {
	Host string // the name the client asked for
	Err  error
}

func (e *HandshakeError) Error() string { return "TLS handshake: " + e.Words() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// Words is the failure as a student reads it; Err keeps Go's own words.
func (e *HandshakeError) Words() string {
	var host x509.HostnameError
	var ca x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(e.Err, &host) && host.Certificate != nil:
		return fmt.Sprintf("the certificate is for %s, not %s: this is not the server you asked for, so the client stops",
			certNames(host.Certificate), e.Host)
	case errors.As(e.Err, &ca):
		issuer := "an unknown issuer"
		if ca.Cert != nil {
			issuer = fmt.Sprintf("%q", ca.Cert.Issuer.CommonName)
		}
		return fmt.Sprintf("the certificate of %s was issued by %s, a certificate authority this client does not trust, so the client stops",
			e.Host, issuer)
	case errors.As(e.Err, &inv) && inv.Reason == x509.Expired:
		return fmt.Sprintf("the certificate of %s has expired or is not valid yet, so the client stops", e.Host)
	}
	return e.Err.Error()
}

// certNames lists the names a certificate is valid for.
func certNames(c *x509.Certificate) string {
	names := c.DNSNames
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = []string{c.Subject.CommonName}
	}
	return strings.Join(names, ", ")
}

// TLS returns the TLS connection state once a handshake succeeded.
func (s *Session) TLS() (tls.ConnectionState, bool) {
	if s.tlsState == nil {
		return tls.ConnectionState{}, false
	}
	return *s.tlsState, true
}

// LastEHLO returns the last successful EHLO reply since the connection or
// the TLS handshake began, or nil.
func (s *Session) LastEHLO() *Reply { return s.lastEHLO }

// AuthPlain authenticates with PLAIN (RFC 4616), sending the initial
// response with the command (RFC 4954 §4). It returns the final reply:
// 235 on success, or the refusal.
func (s *Session) AuthPlain(ctx context.Context, user, password string) (*Reply, error) {
	resp := PlainResponse(user, password)
	r, err := s.Cmd(ctx, "AUTH PLAIN "+resp)
	if err != nil || r.Code != 334 {
		return r, err
	}
	// A server that ignores initial responses asks with an empty 334.
	return s.Cmd(ctx, resp)
}

// AuthLogin authenticates with the LOGIN mechanism: the server asks
// "Username:" then "Password:" (base64), the client answers each in base64.
func (s *Session) AuthLogin(ctx context.Context, user, password string) (*Reply, error) {
	r, err := s.Cmd(ctx, "AUTH LOGIN")
	for i := 0; err == nil && r.Code == 334; i++ {
		if i == 2 {
			// Answer a third challenge with the SASL cancel (RFC 4954 §4).
			return s.Cmd(ctx, "*")
		}
		answer := user
		prompt := strings.ToLower(decode(r.Text()))
		if strings.HasPrefix(prompt, "password") || (i == 1 && !strings.HasPrefix(prompt, "user")) {
			answer = password
		}
		r, err = s.Cmd(ctx, Base64(answer))
	}
	return r, err
}

// Data sends DATA and, on 354, the message content. It returns the reply
// to DATA if it was not 354, otherwise the reply after the final dot.
func (s *Session) Data(ctx context.Context, msg []byte) (*Reply, error) {
	r, err := s.Cmd(ctx, "DATA")
	if err != nil || r.Code != 354 {
		return r, err
	}
	return s.SendBody(ctx, msg)
}

// SendBody sends message content after a 354: line endings become CRLF,
// lines starting with "." get another "." (RFC 5321 §4.5.2), and a lone
// "." ends the message. It returns the server's reply.
func (s *Session) SendBody(ctx context.Context, msg []byte) (*Reply, error) {
	lines := BodyLines(msg)
	for _, l := range lines {
		s.emit(Line{Who: Client, Text: l})
	}
	s.emit(Line{Who: Client, Text: "."})
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	s.inData = false
	err := s.io(ctx, func() error {
		_, err := io.WriteString(s.conn, b.String())
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.ReadReply(ctx)
}

// BodyLines splits message content into the dot-stuffed lines that go on
// the wire, without the final ".".
func BodyLines(msg []byte) []string {
	text := strings.ReplaceAll(string(msg), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if strings.HasPrefix(l, ".") {
			l = "." + l
		}
		lines[i] = l
	}
	return lines
}

// Mail sends one message: MAIL FROM, RCPT TO for each recipient, DATA and
// the content. It stops at the first refusal and returns that reply (after
// a RSET if MAIL had been accepted, as a real client would); otherwise it
// returns the reply after the final dot.
func (s *Session) Mail(ctx context.Context, from string, to []string, msg []byte) (*Reply, error) {
	r, err := s.Cmd(ctx, "MAIL FROM:<"+from+">")
	if err != nil || !r.Positive() {
		return r, err
	}
	fail := func(r *Reply) (*Reply, error) {
		if _, err := s.Cmd(ctx, "RSET"); err != nil {
			return r, err
		}
		return r, nil
	}
	for _, rcpt := range to {
		r, err = s.Cmd(ctx, "RCPT TO:<"+rcpt+">")
		if err != nil {
			return r, err
		}
		if !r.Positive() {
			return fail(r)
		}
	}
	r, err = s.Cmd(ctx, "DATA")
	if err != nil {
		return r, err
	}
	if r.Code != 354 {
		return fail(r)
	}
	// After the reply to the final dot the transaction is over either way.
	return s.SendBody(ctx, msg)
}

// Quit sends QUIT, reads the 221 and closes the connection. A connection
// the server closed right after 221 is a success.
func (s *Session) Quit(ctx context.Context) (*Reply, error) {
	r, err := s.Cmd(ctx, "QUIT")
	cerr := s.Close()
	if err != nil {
		return r, err
	}
	return r, cerr
}

// WaitClosed waits until the server closes the connection, as it must after
// 221 or 421. It returns nil on a close and an error if the server sends
// anything or ctx ends first.
func (s *Session) WaitClosed(ctx context.Context) error {
	if s.closed {
		return nil
	}
	line, err := s.ReadLine(ctx)
	if errors.Is(err, ErrClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("server still talking: %q", line)
}

// Close closes the connection without QUIT.
func (s *Session) Close() error {
	s.closed = true
	err := s.conn.Close()
	if err != nil && (errors.Is(err, net.ErrClosed) || s.tlsState != nil) {
		// After the server hung up, a TLS close_notify has nowhere to go.
		return nil
	}
	return err
}

func verb(line string) string {
	v, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	return strings.ToUpper(v)
}

// Base64 encodes s for an AUTH exchange.
func Base64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// PlainResponse is the base64 PLAIN response for user and password, with
// an empty authorization identity: base64("\0user\0password").
func PlainResponse(user, password string) string {
	return Base64("\x00" + user + "\x00" + password)
}

// LoginResponses are the two base64 answers of AUTH LOGIN.
func LoginResponses(user, password string) (u, p string) {
	return Base64(user), Base64(password)
}

// decode shows base64 text as readable text (NUL as \0) or "" if it is
// not base64.
func decode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" || s == "=" {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(string(b), "\x00", `\0`)
}

// Decode is the display form of a base64 AUTH argument: "AGZvbwBiYXJiYXo="
// gives `\0foo\0barbaz`; "" if s is not base64.
func Decode(s string) string { return decode(s) }
