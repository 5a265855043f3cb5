// Package relay is the sandbox's SMTP server: go-smtp on ports 25, 465, 587
// and 2525 (and every simulated host's doors), each with the policy a real
// server has there, answering as Postfix does at the moments the lessons
// show. It never delivers mail anywhere: it has no SMTP client at all, and
// what it accepts, relayed mail included, goes to the sandbox mailbox.
// Between simulated hosts it delivers hop by hop with a real SMTP client,
// but that client only ever talks through net.Pipe to another door of this
// same relay (outbound.go): nothing is dialled.
//
// RFCs: 5321 (SMTP), 3207 (STARTTLS), 4954 (AUTH), 6409 (submission),
// 8314 (implicit TLS), 3463 (enhanced status codes), 2195 (CRAM-MD5).
package relay

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/policy"
)

// DefaultLab is where mail from real TCP clients lands unless their AUTH
// user names a lab: the shared classroom.
const DefaultLab = "classroom"

// Store is where accepted messages go.
type Store interface {
	Deliver(*mailbox.Message) error
	// MessageLimit is the largest message, trace headers included, the
	// store can ever take for a lab.
	MessageLimit() int64
}

// Accounts resolves an AUTH user to its password and, for a lab's own
// account, the lab it names ("" keeps the connection's lab).
type Accounts interface {
	Lookup(user string) (password, lab string, ok bool)
}

// Certs issues the TLS configuration for a simulated host.
type Certs interface {
	ServerConfig(host string, extra ...string) (*tls.Config, error)
	// UntrustedServerConfig is a configuration whose certificate for
	// host is signed by a CA that no client trusts.
	UntrustedServerConfig(host string) (*tls.Config, error)
}

// Config is what a Relay needs.
type Config struct {
	Policy   *policy.Policy
	Certs    Certs
	Store    Store
	Bus      *events.Bus      // may be nil
	Accounts Accounts         // nil: the policy's accounts
	Now      func() time.Time // nil: time.Now
	// Sleep waits before a slowed-down AUTH (limits.go); nil: time.Sleep.
	Sleep    func(time.Duration)
	ErrorLog *log.Logger // go-smtp's internal errors; nil discards
	// Log receives what an operator should see (a full greylist store);
	// nil discards.
	Log *slog.Logger
	// ExtraNames are added to the certificate a door shows on a real
	// listener (Serve): its address, localhost, so real clients that
	// verify can connect by address. Simulated connections (ServeConn)
	// see the host's name alone.
	ExtraNames []string
	// Routes finds simulated MXs for onward delivery; nil keeps every
	// relayed message where it was accepted.
	Routes Routes
	// Roots are the CAs the relay trusts when it delivers over STARTTLS
	// to another simulated host (the sandbox CA).
	Roots *x509.CertPool
	// QueueWait replaces the queue's real waits between simulated
	// attempts (queue.go); nil waits them. Tests pass a no-op.
	QueueWait func(time.Duration)
	// Labs holds the labs' own policies; nil: every connection follows
	// Policy.
	Labs LabPolicies
}

// LabPolicies gives a lab's own policy (docs/teaching-map.md L27), nil
// when the lab follows the server's. A connection follows the policy of
// the lab it is tagged with when it opens (Meta.Lab: a tunnel's lab, and
// the relay's own hops on behalf of a lab), for its whole life: AUTH as a
// lab's account moves where its mail goes, not the rules it was greeted
// under. Real TCP clients are the classroom's, which follows the server's.
type LabPolicies interface {
	PolicyFor(lab string) *policy.Policy
}

// Meta tags a connection with what the relay cannot see on the wire.
type Meta struct {
	Lab    string     // the student's lab ("" for the classroom)
	Client netip.Addr // the client's address, simulated for tunnels
	// Tunnel marks connections from the gateway, which enforces its own
	// per-client limits; the relay's per-address limits are for TCP.
	Tunnel bool
	// Peer is a tunnel's real client: the address the browser's WebSocket
	// came from. AUTH failures count against it and the lab, never
	// against Client, which is simulated.
	Peer netip.Addr
	// At, when set, is the simulated time of a queued delivery attempt
	// (queue.go): the receiving door judges greylisting by it.
	At time.Time
}

// Door names one simulated host's SMTP port.
type Door struct {
	Host string
	// Port is the lesson port whose listener policy applies (25, 465,
	// 587, 2525).
	Port int
	// NoSTARTTLS plays a server that does not offer STARTTLS.
	NoSTARTTLS bool
	// LocalDomains are extra domains this host is final for, lower
	// case (the world file's local-domain, parsed once).
	LocalDomains []string
	// Greylist, when not zero, defers a new (client network, sender,
	// recipient) triplet at RCPT until this long has passed (greylist.go).
	Greylist time.Duration
	// UntrustedCert plays a server whose certificate comes from a CA no
	// client trusts (Certs.UntrustedServerConfig).
	UntrustedCert bool
}

// doorKey identifies the running server of a Door, which holds a slice and
// so cannot be a map key itself.
type doorKey struct {
	host       string
	port       int
	noSTARTTLS bool
	local      string // LocalDomains joined: a domain holds no space
	greylist   time.Duration
	untrusted  bool
}

func (d Door) key() doorKey {
	return doorKey{d.Host, d.Port, d.NoSTARTTLS, strings.Join(d.LocalDomains, " "), d.Greylist, d.UntrustedCert}
}

// Relay serves every door.
type Relay struct {
	policy   *policy.Policy
	certs    Certs
	store    Store
	bus      *events.Bus
	accounts Accounts
	now      func() time.Time
	sleep    func(time.Duration)
	// queueWait: Config.QueueWait.
	queueWait func(time.Duration)
	errorLog  *log.Logger
	extra     []string
	routes    Routes
	roots     *x509.CertPool
	labs      LabPolicies
	clients   *clientLimits
	grey      greylist
	queue     queue
	connID    atomic.Uint64
	// maxMessage is the SIZE limit (RFC 1870) every door advertises and
	// holds a message body to: the policy's, or less where the store
	// could not keep a message that large.
	maxMessage int64

	// draining: Shutdown has begun; live: the open sessions it waits for.
	draining atomic.Bool
	live     map[*wire]struct{}
	liveGone chan struct{} // closed when live empties while draining

	mu     sync.Mutex
	doors  map[doorKey]*door
	closed bool
}

// New returns a relay; it listens nowhere until Serve or ServeConn.
func New(cfg Config) (*Relay, error) {
	if cfg.Policy == nil || cfg.Certs == nil || cfg.Store == nil {
		return nil, errors.New("relay: Policy, Certs and Store are required")
	}
	r := &Relay{
		policy: cfg.Policy, certs: cfg.Certs, store: cfg.Store, bus: cfg.Bus,
		accounts: cfg.Accounts, now: cfg.Now, sleep: cfg.Sleep, errorLog: cfg.ErrorLog, extra: cfg.ExtraNames,
		routes: cfg.Routes, roots: cfg.Roots, labs: cfg.Labs, queueWait: cfg.QueueWait,
		doors: map[doorKey]*door{},
	}
	if r.accounts == nil {
		r.accounts = policyAccounts(cfg.Policy.Accounts)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.sleep == nil {
		r.sleep = time.Sleep
	}
	if r.errorLog == nil {
		r.errorLog = log.New(io.Discard, "", 0)
	}
	r.grey.log = cfg.Log
	if r.grey.log == nil {
		r.grey.log = slog.New(slog.DiscardHandler)
	}
	r.clients = newClientLimits(cfg.Policy.Limits, r.now)
	r.maxMessage = messageLimit(cfg.Policy.Limits, cfg.Store)
	return r, nil
}

// messageLimit is the SIZE a door may promise: the policy's, unless a lab
// can hold less. SIZE is the fixed maximum the server accepts (RFC 1870
// §4); advertising more than a lab holds would refuse a message within it
// after every DATA. The body limit leaves room for the Received header the
// relay adds: its longest parts are the HELO name and a recipient, each at
// most a command line. Never 0, which RFC 1870 reads as "no limit".
func messageLimit(lim policy.Limits, store Store) int64 {
	trace := int64(2*lim.MaxLineLength + 1024)
	return max(min(lim.MaxMessageBytes, store.MessageLimit()-trace), 1)
}

type policyAccounts map[string]string

func (p policyAccounts) Lookup(user string) (string, string, bool) {
	pass, ok := p[user]
	return pass, "", ok
}

// door is one running go-smtp server playing a host on a lesson port.
type door struct {
	r         *Relay
	host      string
	port      int
	listener  policy.Listener
	noTLS     bool
	local     []string
	greylist  time.Duration
	tlsConfig *tls.Config
	srv       *smtp.Server
	inproc    *connListener
}

func (d *door) offersSTARTTLS() bool {
	return d.listener.TLS == policy.TLSStartTLS && !d.noTLS
}

func (d *door) implicitTLS() bool { return d.listener.TLS == policy.TLSImplicit }

// isLocal reports whether this host is final for domain under p, the
// connection's policy.
func (d *door) isLocal(p *policy.Policy, domain string) bool {
	return p.IsLocal(domain) || policy.InDomains(d.local, domain)
}

// rules are the policy a new connection of lab follows, and this door's
// listener in it (a lab's policy has the server's doors: policy.ParseLab).
func (d *door) rules(lab string) (*policy.Policy, policy.Listener) {
	if d.r.labs != nil && lab != "" {
		if p := d.r.labs.PolicyFor(lab); p != nil {
			if l, ok := p.Listener(d.port); ok {
				return p, l
			}
		}
	}
	return d.r.policy, d.listener
}

// door returns the running server for d, starting it on first use.
func (r *Relay) door(d Door) (*door, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, net.ErrClosed
	}
	if dr, ok := r.doors[d.key()]; ok {
		return dr, nil
	}
	l, ok := r.policy.Listener(d.Port)
	if !ok {
		return nil, fmt.Errorf("relay: no listener policy for port %d", d.Port)
	}
	dr := &door{r: r, host: d.Host, port: d.Port, listener: l, noTLS: d.NoSTARTTLS, local: slices.Clone(d.LocalDomains), greylist: d.Greylist}
	if l.TLS != policy.TLSNone {
		// Only the host's own name: a student whose client refuses it
		// reads the names it holds, so the certificate of a simulated
		// host names that host alone (the real listeners add theirs in
		// Serve).
		cfg, err := r.certs.ServerConfig(d.Host)
		if d.UntrustedCert {
			cfg, err = r.certs.UntrustedServerConfig(d.Host)
		}
		if err != nil {
			return nil, fmt.Errorf("relay: certificate for %s: %w", d.Host, err)
		}
		dr.tlsConfig = cfg
	}
	srv := smtp.NewServer(smtp.BackendFunc(dr.newSession))
	srv.Domain = d.Host
	lim := r.policy.Limits
	srv.ReadTimeout = 0 // the wire times out every read itself (transport.Read, tls.go)
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = r.maxMessage
	srv.MaxRecipients = lim.MaxRecipients
	srv.MaxLineLength = 0        // the wire enforces RFC 5321's limits itself
	srv.AllowInsecureAuth = true // the wire and the session decide, per policy
	srv.ErrorLog = r.errorLog
	dr.srv = srv
	dr.inproc = newConnListener()
	go srv.Serve(dr.inproc)
	r.doors[d.key()] = dr
	return dr, nil
}

func (d *door) newSession(c *smtp.Conn) (smtp.Session, error) {
	w, ok := c.Conn().(*wire)
	if !ok {
		return nil, errors.New("relay: connection did not come through the relay")
	}
	s := &session{d: d, pol: w.pol, listener: w.listener, meta: w.meta, conn: c, link: w, tap: w.tap}
	w.txn = s
	return s, nil
}

// wrap makes the wire for a new connection, which offers TLS with cfg,
// and applies the connection limits; over a limit, the greeting becomes
// the refusal.
func (d *door) wrap(c net.Conn, meta Meta, cfg *tls.Config) *wire {
	w := newWire(c, d, meta, d.r.connID.Add(1), cfg)
	d.r.remember(w)
	if !meta.Tunnel {
		release, why := d.r.clients.connect(meta.Client)
		switch why {
		case admitted:
			w.onClose = release
		case tooManyFromClient:
			w.reject = fmt.Sprintf(lineTooManyConnsFm, d.host, meta.Client)
		case tooManyOverall:
			w.reject = lineAllPortsBusy
		}
	}
	w.tap.publish(events.Event{Kind: events.Connect, Text: "connection from " + clientText(meta.Client)})
	return w
}

func clientText(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	return a.String()
}

// Serve accepts real TCP clients on l for a door until l is closed.
func (r *Relay) Serve(l net.Listener, d Door) error {
	dr, err := r.door(d)
	if err != nil {
		return err
	}
	cfg := dr.tlsConfig
	if cfg != nil && len(r.extra) > 0 && !d.UntrustedCert {
		if cfg, err = r.certs.ServerConfig(d.Host, r.extra...); err != nil {
			return fmt.Errorf("relay: certificate for %s: %w", d.Host, err)
		}
	}
	return dr.srv.Serve(&tcpListener{Listener: l, d: dr, tls: cfg})
}

// ServeConn runs one SMTP session for a door on c (a gateway tunnel) and
// returns at once; the session ends when c closes.
func (r *Relay) ServeConn(c net.Conn, d Door, meta Meta) error {
	dr, err := r.door(d)
	if err != nil {
		return err
	}
	meta.Tunnel = true
	return dr.inproc.push(dr.wrap(c, meta, dr.tlsConfig))
}

// Close stops every door and ends their sessions.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	doors := r.doors
	r.doors = map[doorKey]*door{}
	r.mu.Unlock()
	r.queue.close()
	for _, d := range doors {
		// Closing the in-process listener too ends a Serve that had not
		// yet registered it with the server when Close ran.
		d.inproc.Close()
		d.srv.Close()
	}
	return nil
}

// remember and forget keep the open sessions for Shutdown.
func (r *Relay) remember(w *wire) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = map[*wire]struct{}{}
	}
	r.live[w] = struct{}{}
}

func (r *Relay) forget(w *wire) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, w)
	if len(r.live) == 0 && r.liveGone != nil {
		close(r.liveGone)
		r.liveGone = nil
	}
}

// Shutdown ends every session gracefully, then closes the relay. A
// session between commands gets "421 4.3.2 Service shutting down" at
// once (RFC 5321 §3.8); one receiving a message is let finish it, so a
// message it is acknowledged with 250 is stored, and gets the 421 at its
// next read. Shutdown waits for the sessions to end until ctx is done,
// then closes what is left. The caller closes the listeners first.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.draining.Store(true)
	r.mu.Lock()
	gone := make(chan struct{})
	if len(r.live) == 0 {
		close(gone)
	} else {
		r.liveGone = gone
	}
	var wake []*wire
	for w := range r.live {
		if !w.inData.Load() {
			wake = append(wake, w)
		}
	}
	r.mu.Unlock()
	// Wake the sessions waiting for a command: their read fails with a
	// time-out, which the wire answers with the 421 (wire.Read).
	for _, w := range wake {
		w.t.raw.SetReadDeadline(time.Now())
	}
	var err error
	select {
	case <-gone:
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.Close()
	return err
}

// tcpListener turns accepted TCP connections into wires.
type tcpListener struct {
	net.Listener
	d   *door
	tls *tls.Config // the real listener's certificate (Config.ExtraNames)
}

func (l *tcpListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		addr = ap.Addr().Unmap()
	}
	return l.d.wrap(c, Meta{Client: addr}, l.tls), nil
}

// connListener is a listener fed by ServeConn, so in-process tunnels go
// through the same go-smtp server as TCP clients.
type connListener struct {
	c    chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{c: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) error {
	select {
	case l.c <- c:
		return nil
	case <-l.done:
		c.Close()
		return net.ErrClosed
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return inprocAddr{} }

type inprocAddr struct{}

func (inprocAddr) Network() string { return "inproc" }
func (inprocAddr) String() string  { return "inproc" }

func (r *Relay) newID() string {
	var b [5]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
