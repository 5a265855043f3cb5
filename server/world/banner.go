package world

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Limits of a retrieval door. It only greets, so a handful of lines and a
// short life are plenty, and a client that loops cannot hold it.
const (
	bannerMaxLine  = 1024 // bytes, CRLF included
	bannerMaxLines = 20
	bannerLifetime = 2 * time.Minute
)

// ServeBanner plays an IMAP or POP3 door on conn for the "wrong door"
// lessons (docs/teaching-map.md L1): it sends the protocol's greeting, then answers
// every line with the protocol's error, saying that this door is for
// reading mail and that SMTP lives elsewhere. An SMTP command (EHLO, HELO,
// MAIL, ...) gets an answer that names it. IMAP LOGOUT and POP3 QUIT end
// the session politely.
//
// For IMAPS and POP3S it first runs the TLS server handshake with tlsConf,
// as a real server on 993 or 995 does (RFC 8314): a plaintext client sees no
// greeting at all. hostname is the name in the greeting (d.Host if empty).
//
// ServeBanner returns nil when the client leaves, ends the session or hits
// a limit (1 KiB lines, 20 lines, two minutes), and ctx.Err() when ctx ends
// first. It does not close conn: the caller owns it (after a cancelled ctx,
// conn keeps a deadline in the past).
func ServeBanner(ctx context.Context, conn net.Conn, d Door, tlsConf *tls.Config, hostname string) error {
	if hostname == "" {
		hostname = d.Host
	}
	var proto bannerProtocol
	switch d.Service {
	case IMAP, IMAPS:
		proto = imapDoor{host: hostname, port: d.Port, tls: d.Service == IMAPS}
	case POP3, POP3S:
		proto = pop3Door{host: hostname, port: d.Port}
	default:
		return fmt.Errorf("world: ServeBanner serves IMAP and POP3 doors, not %q", d.Service)
	}

	// One deadline for the whole session; ctx ending moves it to the past,
	// which unblocks any Read or Write in progress.
	if err := conn.SetDeadline(time.Now().Add(bannerLifetime)); err != nil {
		return err
	}
	var mu sync.Mutex
	stopped := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			conn.SetDeadline(time.Unix(1, 0))
		}
	})
	defer func() {
		if !stop() {
			// The AfterFunc ran or is running: wait for it, so that it
			// does not touch conn after we hand it back to the caller.
			mu.Lock()
			stopped = true
			mu.Unlock()
			return
		}
		conn.SetDeadline(time.Time{}) // lift the session deadline for the caller
	}()
	err := serveBanner(ctx, conn, proto, d.Service.ImplicitTLS(), tlsConf)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func serveBanner(ctx context.Context, conn net.Conn, proto bannerProtocol, implicitTLS bool, tlsConf *tls.Config) error {
	rw := io.ReadWriter(conn)
	if implicitTLS {
		if tlsConf == nil {
			return errors.New("world: an implicit TLS door needs a tls.Config")
		}
		tc := tls.Server(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("world: TLS handshake: %w", err)
		}
		// close_notify tells the client the session ended on purpose, not
		// by truncation; the caller still closes conn.
		defer tc.CloseWrite()
		rw = tc
	}

	send := func(lines ...string) error {
		var b bytes.Buffer
		for _, l := range lines {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
		_, err := rw.Write(b.Bytes())
		return err
	}
	if err := send(proto.greeting()); err != nil {
		return ignoreEnd(err)
	}
	r := bufio.NewReaderSize(rw, bannerMaxLine)
	for n := 1; ; n++ {
		line, err := readLine(r)
		if errors.Is(err, errLineTooLong) {
			return ignoreEnd(send(proto.tooLong()...))
		}
		if err != nil {
			return ignoreEnd(err)
		}
		if n > bannerMaxLines {
			return ignoreEnd(send(proto.tooMany()...))
		}
		reply, done := proto.answer(line)
		if err := send(reply...); err != nil || done {
			return ignoreEnd(err)
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line of at most bannerMaxLine bytes and returns it
// without its line ending.
func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// ignoreEnd turns a client hanging up into a normal end of session.
func ignoreEnd(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// bannerProtocol is what differs between the IMAP and POP3 doors.
type bannerProtocol interface {
	greeting() string
	// answer returns the reply lines to one client line, and whether the
	// session ends after them.
	answer(line string) (reply []string, done bool)
	tooLong() []string
	tooMany() []string
}

// smtpVerbs are the commands a student who expected SMTP would type first.
var smtpVerbs = map[string]bool{
	"EHLO": true, "HELO": true, "MAIL": true, "RCPT": true, "DATA": true,
	"AUTH": true, "STARTTLS": true, "RSET": true, "NOOP": true, "VRFY": true,
}

// wrongDoor is the sentence every answer carries: what this door is, and
// where SMTP is.
func wrongDoor(proto string, port int) string {
	return fmt.Sprintf("portlab: this is the %s door (port %d), for reading mail; sending is SMTP, on port 25, 465, 587 or 2525", proto, port)
}

// imapDoor answers like an IMAP server (RFC 9051) that accepts no login.
type imapDoor struct {
	host string
	port int
	tls  bool
}

func (d imapDoor) greeting() string {
	// RFC 9051 section 7.1.1: a greeting may carry the capabilities.
	// LOGINDISABLED is true here: this door logs no one in.
	caps := "IMAP4rev1 STARTTLS LOGINDISABLED"
	if d.tls {
		caps = "IMAP4rev1 LOGINDISABLED"
	}
	return fmt.Sprintf("* OK [CAPABILITY %s] %s IMAP4 ready (portlab: this is a mailbox retrieval door, not SMTP)", caps, d.host)
}

func (d imapDoor) answer(line string) ([]string, bool) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return []string{"* BAD empty command line; " + wrongDoor("IMAP", d.port)}, false
	}
	// An SMTP command has no IMAP tag, so its verb comes first.
	if verb := strings.ToUpper(fields[0]); smtpVerbs[verb] {
		return []string{fmt.Sprintf("* BAD %s is an SMTP command, but %s", verb, wrongDoor("IMAP", d.port))}, false
	}
	tag := fields[0]
	if !validTag(tag) {
		tag = "*"
	}
	cmd := ""
	if len(fields) > 1 {
		cmd = strings.ToUpper(fields[1])
	}
	switch cmd {
	case "LOGOUT":
		// RFC 9051 section 6.1.3: BYE first, then the tagged OK.
		return []string{"* BYE " + d.host + " IMAP4 server logging out", tag + " OK LOGOUT completed"}, true
	case "":
		return []string{tag + " BAD missing command; " + wrongDoor("IMAP", d.port)}, false
	}
	return []string{fmt.Sprintf("%s BAD %s is not available here: %s", tag, sanitize(cmd), wrongDoor("IMAP", d.port))}, false
}

func (d imapDoor) tooLong() []string {
	return []string{"* BYE line too long (the limit is 1024 bytes); " + wrongDoor("IMAP", d.port)}
}

func (d imapDoor) tooMany() []string {
	return []string{fmt.Sprintf("* BYE %d commands is enough; %s", bannerMaxLines, wrongDoor("IMAP", d.port))}
}

// pop3Door answers like a POP3 server (RFC 1939) that accepts no login.
type pop3Door struct {
	host string
	port int
}

func (d pop3Door) greeting() string {
	return "+OK " + d.host + " POP3 ready (portlab: this is a mailbox retrieval door, not SMTP)"
}

func (d pop3Door) answer(line string) ([]string, bool) {
	fields := strings.Fields(line)
	verb := ""
	if len(fields) > 0 {
		verb = strings.ToUpper(fields[0])
	}
	switch {
	case verb == "QUIT":
		return []string{"+OK " + d.host + " POP3 server signing off"}, true
	case smtpVerbs[verb]:
		return []string{fmt.Sprintf("-ERR %s is an SMTP command, but %s", verb, wrongDoor("POP3", d.port))}, false
	case verb == "":
		return []string{"-ERR empty command line; " + wrongDoor("POP3", d.port)}, false
	}
	return []string{fmt.Sprintf("-ERR %s is not available here: %s", sanitize(verb), wrongDoor("POP3", d.port))}, false
}

func (d pop3Door) tooLong() []string {
	return []string{"-ERR line too long (the limit is 1024 bytes); " + wrongDoor("POP3", d.port)}
}

func (d pop3Door) tooMany() []string {
	return []string{fmt.Sprintf("-ERR %d commands is enough; %s", bannerMaxLines, wrongDoor("POP3", d.port))}
}

// validTag accepts a plausible IMAP tag (RFC 9051 section 9, "tag"), so
// that the door only echoes short printable ASCII back.
func validTag(t string) bool {
	if len(t) > 32 {
		return false
	}
	for _, c := range []byte(t) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\+]`, c) >= 0 {
			return false
		}
	}
	return true
}

// sanitize shortens an echoed command and replaces non-printable bytes, so
// the reply stays one short line of ASCII.
func sanitize(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
