package relay

import (
	"crypto/tls"
	"net"
	"time"
)

// transport is the connection under the SMTP lines: the client's own
// (TCP or a gateway tunnel), with TLS over it once the client has asked
// for it with STARTTLS (RFC 3207) or from the first byte on an implicit
// TLS port (RFC 8314 §3). The relay upgrades the connection itself rather
// than leaving STARTTLS to go-smtp, so it sees every command and reply of
// a connection before and after the upgrade (the transcript events), and
// answers the lesson moments as Postfix does.
type transport struct {
	raw     net.Conn // the client's transport
	conn    net.Conn // raw, or TLS over raw
	config  *tls.Config
	timeout time.Duration
	state   *tls.ConnectionState // nil until TLS is up
	// implicit: TLS from the first byte, handshake not yet run; it runs
	// on the first read or write (465).
	implicit bool
	// stop, when it says so, makes every read time out at once: the
	// relay is shutting down (Relay.Shutdown).
	stop func() bool
}

// Read reads the client with a fresh deadline for every read, so the
// time-out counts from the client's last activity (Postfix's
// smtpd_timeout, per read) and a client that keeps sending, a long
// message included, is never cut.
func (t *transport) Read(p []byte) (int, error) {
	t.raw.SetReadDeadline(time.Now().Add(t.timeout))
	// Checked after the deadline is set, so a Shutdown that set its own
	// deadline before this read is not undone by the line above.
	if t.stop != nil && t.stop() {
		t.raw.SetReadDeadline(time.Now())
	}
	return t.conn.Read(p)
}

func (t *transport) Write(p []byte) (int, error) { return t.conn.Write(p) }

// secure is the TLS state, nil in the clear.
func (t *transport) secure() *tls.ConnectionState { return t.state }

// pendingImplicit reports, once, that an implicit TLS handshake is due.
func (t *transport) pendingImplicit() bool {
	if !t.implicit || t.state != nil {
		return false
	}
	t.implicit = false
	return true
}

// upgrade runs the server side of a TLS handshake on the raw transport,
// within the time-out; afterwards the connection reads and writes
// through TLS.
func (t *transport) upgrade() (*tls.ConnectionState, error) {
	tc := tls.Server(t.raw, t.config)
	t.raw.SetDeadline(time.Now().Add(t.timeout))
	err := tc.Handshake()
	t.raw.SetDeadline(time.Time{})
	if err != nil {
		return nil, err
	}
	st := tc.ConnectionState()
	t.state, t.conn = &st, tc
	return &st, nil
}

// Close closes through TLS when it is up, so the client gets
// close_notify.
func (t *transport) Close() error { return t.conn.Close() }
