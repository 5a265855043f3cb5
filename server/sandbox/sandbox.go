// Package sandbox assembles one running portlab: the relay and its real
// listeners, the simulated world and network, the labs, the WebSocket
// gateway, the API and the pages, behind one HTTP server. `portlab serve`
// adds flags and printing; every test that needs a server starts the real
// one here, on loopback with free ports.
package sandbox

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/api"
	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/classroom"
	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/gateway"
	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/internal/metrics"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/policy"
	"github.com/portlab/portlab/server/relay"
	"github.com/portlab/portlab/server/replica"
	"github.com/portlab/portlab/server/world"
	"github.com/portlab/portlab/web"
)

// Config is one sandbox's settings. The zero value is a sandbox for a
// test: pages and gateway on a free loopback port, no real SMTP
// listeners, a CA in memory, the built-in policy, world and profiles.
type Config struct {
	// HTTP is the address of the pages, the API and the gateway
	// (default 127.0.0.1:0).
	HTTP string
	// SMTPHost is the address the real SMTP listeners bind (default
	// 127.0.0.1).
	SMTPHost string
	// PortOffset places lesson port P at P+N: "auto" (0 where the
	// process may bind ports below 1024, else 10000), "-1" (any free
	// port) or a number. Empty opens no real SMTP listeners (the browser
	// gateway only).
	PortOffset string
	// Data keeps the CA and certificates across restarts; empty keeps
	// them in memory.
	Data string
	// Policy, Hosts and Profiles are files replacing the built-in relay
	// policy, world and network profiles.
	Policy, Hosts, Profiles string
	// Origins are extra sites allowed to embed pages and open tunnels.
	Origins []string
	// AllowHosts are names the pages are reached by besides the HTTP
	// host and localhost (another Host header gets 421, against DNS
	// rebinding).
	AllowHosts []string
	// TrustedProxies are the reverse proxies (an Ingress) whose
	// X-Forwarded-For names the client every per-client limit counts
	// (see httpguard.Forwarded); none by default, as the header is
	// anyone's to write.
	TrustedProxies httpguard.Proxies
	// LabTTL is the idle time after which a lab expires (default 2h).
	LabTTL time.Duration
	// LabsPerClient is how many labs one client address may hold
	// (default 10).
	LabsPerClient int
	// DropTimeout overrides the profiles' drop timeouts (0 keeps them).
	DropTimeout time.Duration
	// TunnelsPerClient bounds one address's open tunnels (0: the
	// gateway's default).
	TunnelsPerClient int
	// MaxMessage bounds one WebSocket message (0: the gateway's default).
	MaxMessage int64
	// HTTPTimeouts bound each phase of an HTTP request (zero: the
	// defaults of portlab serve).
	HTTPTimeouts httpguard.Timeouts
	// HTTPConns and HTTPConnsPerClient cap HTTP connections overall and
	// per client address (0: from the descriptor budget, see [Budget]).
	HTTPConns, HTTPConnsPerClient int
	// OpenFiles is the open-file limit the descriptor budget splits
	// (0: the process's own; tests set less).
	OpenFiles int
	// ErrorLog receives the SMTP servers' errors (nil discards them).
	ErrorLog *log.Logger
	// Log receives what an operator should see (nil discards it).
	Log *slog.Logger
	// Version is shown in the page footer.
	Version string
	// TeacherPassword opens /teach; empty makes one up (see
	// [Sandbox.TeacherPassword]).
	TeacherPassword string
	// Metrics, when set, serves /metrics on its own address (see
	// cmd serve's --metrics) instead of on HTTP.
	MetricsAddr string

	// Store is where classes, students and progress live: empty for the
	// embedded SQLite database in Data (in memory without Data), or a
	// postgres:// URL that several replicas share, which holds the labs
	// and their mail too (see package replica).
	Store string
	// CACert and CAKey, both or neither, are the sandbox CA's files, read
	// and never written (a Kubernetes Secret), so that every replica
	// presents the same CA. Neither: the CA in Data.
	CACert, CAKey string
}

// DefaultLabTTL is how long an idle lab lives unless Config says.
const DefaultLabTTL = 2 * time.Hour

// Listener is one real TCP listener, for the start-up table and the "use
// your own client" page.
type Listener struct {
	Addr string
	policy.Listener
}

// Sandbox is one running portlab.
type Sandbox struct {
	cfg       Config
	policy    *policy.Policy
	ca        *ca.Authority
	bus       *events.Bus
	store     *mailbox.Store
	relay     *relay.Relay
	world     *world.World
	profiles  *netsim.Set
	labs      *lab.Manager
	gateway   *gateway.Gateway
	classes   store.Store
	replica   *replica.Replica // nil: this process alone
	classroom *classroom.Classroom
	listeners []Listener
	smtpLns   []net.Listener
	httpLn    net.Listener
	httpSrv   *http.Server
	budget    Budget
	warnings  []string
	done      chan struct{}
	metrics   *metrics.Metrics
	metricsLn net.Listener
	// draining: Shutdown has begun; /readyz answers 503 from then on.
	draining    atomic.Bool
	endRequests context.CancelFunc
}

// New starts a sandbox. Close stops it.
func New(cfg Config) (*Sandbox, error) {
	if cfg.HTTP == "" {
		cfg.HTTP = "127.0.0.1:0"
	}
	if cfg.SMTPHost == "" {
		cfg.SMTPHost = "127.0.0.1"
	}
	if cfg.LabTTL == 0 {
		cfg.LabTTL = DefaultLabTTL
	}
	if cfg.LabsPerClient == 0 {
		cfg.LabsPerClient = 10
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = log.New(io.Discard, "", 0)
	}
	offset, err := portOffset(cfg.PortOffset, cfg.SMTPHost)
	if err != nil {
		return nil, err
	}
	pol, polText := policy.Default(), policy.DefaultText()
	if cfg.Policy != "" {
		if pol, polText, err = loadPolicy(cfg.Policy); err != nil {
			return nil, err
		}
	}
	if err := checkOffset(offset, cfg.PortOffset, pol); err != nil {
		return nil, err
	}
	// One descriptor budget for every connection; the relay and the HTTP
	// listener hold to their shares.
	if cfg.OpenFiles == 0 {
		cfg.OpenFiles = openFileLimit()
	}
	budget, warnings, err := newBudget(cfg.OpenFiles, budgetRequest{
		SMTP: pol.Limits.MaxConnections, SMTPPerClient: pol.Limits.MaxConnectionsPerClient,
		HTTP: cfg.HTTPConns, HTTPPerClient: cfg.HTTPConnsPerClient,
	})
	if err != nil {
		return nil, err
	}
	pol.Limits.MaxConnections, pol.Limits.MaxConnectionsPerClient = budget.SMTP, budget.SMTPPerClient
	w, profiles, err := LoadWorld(cfg.Hosts, cfg.Profiles)
	if err != nil {
		return nil, err
	}
	auth, err := openCA(cfg)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{done: make(chan struct{}), cfg: cfg, policy: pol, ca: auth, bus: events.NewBus(), world: w, profiles: profiles, budget: budget, warnings: warnings}
	s.metrics = metrics.New()
	s.bus.Observe(s.metrics.Observe)
	if err := s.openStore(); err != nil {
		s.Close()
		return nil, err
	}
	s.store = mailbox.New(pol.Limits.MailboxSize, 256<<20, nil)
	s.store.Notify(s.bus)
	var shared lab.Shared
	if s.replica != nil {
		s.store.Share(s.replica)
		shared = s.replica
	}
	s.labs = lab.NewManager(lab.Config{
		Shared: shared,
		TTL:    cfg.LabTTL, MaxPerClient: cfg.LabsPerClient, MaxLabs: 100000, Default: profiles.DefaultProfile(),
		Profiles: func(n string) bool { _, ok := s.profiles.Profile(n); return ok },
		OnExpire: s.store.DeleteLab,
		// A lab's own policy starts from, and is checked against, the
		// server's (docs/teaching-map.md L27).
		Policy: pol, PolicyText: polText,
	})
	s.bus.RouteAuth(s.labs.LabOf) // a lab's AUTH events go to that lab only
	// Mail for a lab that is gone is refused before 250, so a connection
	// still open when its lab went cannot recreate the lab's mailbox.
	s.store.Labs(func(id string) bool { _, _, ok := s.labs.Lookup(id); return ok || id == lab.Classroom })
	s.relay, err = relay.New(relay.Config{
		Policy: pol, Certs: auth, Store: s.store, Bus: s.bus, ErrorLog: cfg.ErrorLog, Log: cfg.Log,
		ExtraNames: extraNames(cfg.SMTPHost),
		Accounts:   accounts{pol.Accounts, s.labs},
		Routes:     Routes{World: s.world},
		Roots:      auth.Pool(),
		Labs:       s.labs,
	})
	if err != nil {
		return nil, err
	}
	if err := s.openClassroom(); err != nil {
		s.Close()
		return nil, err
	}
	if cfg.PortOffset != "" {
		if err := s.listenSMTP(offset); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.httpLn, err = net.Listen("tcp", cfg.HTTP)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.gateway = gateway.New(gateway.Config{
		World: s.world, Profiles: s.profiles, Labs: s.labs, Relay: relayDoors{s.relay}, Certs: auth, Bus: s.bus,
		AllowOrigins: cfg.Origins, DropTimeout: cfg.DropTimeout,
		MaxPerClient: cfg.TunnelsPerClient, MaxMessage: cfg.MaxMessage,
		Closed: s.metrics.TunnelClosed,
	})
	s.gauges()
	// HTTP hardening: Host and Origin checks, time-outs, connection caps.
	hosts, anyIP := httpguard.DefaultHosts(cfg.HTTP)
	guard := httpguard.Config{Hosts: append(hosts, cfg.AllowHosts...), AnyIP: anyIP, Origins: cfg.Origins}
	timeouts := cfg.HTTPTimeouts
	if timeouts == (httpguard.Timeouts{}) {
		timeouts = httpguard.DefaultTimeouts
	}
	// Outermost, the real client behind a trusted proxy: every limit
	// below keys on it.
	s.httpSrv = httpguard.NewServer(httpguard.Forwarded(httpguard.Handler(s.routes(), guard), cfg.TrustedProxies), timeouts, nil)
	// Requests live under a context Shutdown ends, so that live event
	// streams, which never go idle, end instead of holding the shutdown
	// to its deadline.
	reqCtx, endRequests := context.WithCancel(context.Background())
	s.httpSrv.BaseContext = func(net.Listener) context.Context { return reqCtx }
	s.endRequests = endRequests
	go s.httpSrv.Serve(httpguard.Listen(s.httpLn, httpguard.Limits{PerClient: budget.HTTPPerClient, Total: budget.HTTP, Trusted: cfg.TrustedProxies}))
	if cfg.MetricsAddr != "" {
		if err := s.serveMetrics(cfg.MetricsAddr); err != nil {
			s.Close()
			return nil, err
		}
	}
	go s.sweep()
	return s, nil
}

// openCA is the CA of Config.CACert and CAKey, or else the one in Data.
func openCA(cfg Config) (*ca.Authority, error) {
	switch {
	case cfg.CACert != "" && cfg.CAKey != "":
		return ca.OpenFiles(cfg.CACert, cfg.CAKey, nil)
	case cfg.CACert != "" || cfg.CAKey != "":
		return nil, fmt.Errorf("the CA needs both its certificate and its key file (--ca-cert and --ca-key)")
	}
	return ca.Open(cfg.Data, nil)
}

// openStore opens the store (Config.Store): the embedded database for the
// classes, or PostgreSQL for the classes, the labs and their mail, shared
// with the other replicas.
func (s *Sandbox) openStore() error {
	ctx := context.Background()
	if s.cfg.Store == "" {
		st, err := store.Open(ctx, s.cfg.Data)
		if err != nil {
			return err
		}
		s.classes = timedStore{st, s.metrics}
		return nil
	}
	if !store.IsPostgres(s.cfg.Store) {
		// Not the value itself: it may hold a password.
		return fmt.Errorf("--store: want a postgres:// URL, or nothing for the embedded database")
	}
	st, err := store.OpenPostgres(ctx, s.cfg.Store)
	if err != nil {
		return err
	}
	s.classes = timedStore{st, s.metrics}
	s.replica, err = replica.New(ctx, st.DB(), s.cfg.Store, s.bus, s.cfg.ErrorLog)
	return err
}

// openClassroom opens the classroom on the class store.
func (s *Sandbox) openClassroom() error {
	lessons := func(string) bool { return false }
	if lib, err := scenarios.Builtin(); err == nil {
		lessons = func(n string) bool { _, ok := lib.Lesson(n, "en"); return ok }
	}
	var sync classroom.Sync // a nil *Replica is not a nil Sync
	if s.replica != nil {
		sync = s.replica
	}
	var err error
	s.classroom, err = classroom.New(context.Background(), classroom.Config{
		Store: s.classes, Labs: s.labs, Bus: s.bus, Mail: s.store, Password: s.cfg.TeacherPassword, Lessons: lessons, Sync: sync,
		Profiles: func(n string) bool { _, ok := s.profiles.Profile(n); return ok },
	})
	return err
}

// TeacherPassword is the password /teach asks for when the sandbox made it
// up ("" when Config gave one).
func (s *Sandbox) TeacherPassword() string {
	if s.classroom == nil {
		return ""
	}
	return s.classroom.GeneratedPassword()
}

// LoadWorld reads the hosts and profiles files (empty: the built-in ones)
// and checks that every host a profile names exists: what the server
// loads, and what `portlab scenarios lint` checks lessons against.
func LoadWorld(hosts, profiles string) (*world.World, *netsim.Set, error) {
	w, set := world.Default(), netsim.Default()
	var err error
	if hosts != "" {
		if w, err = world.Load(hosts); err != nil {
			return nil, nil, err
		}
	}
	if profiles != "" {
		if set, err = netsim.Load(profiles); err != nil {
			return nil, nil, err
		}
	}
	if err := set.CheckHosts(w); err != nil {
		return nil, nil, err
	}
	return w, set, nil
}

// loadPolicy reads a teacher's policy file, keeping its text: a lab's
// editor starts from it.
func loadPolicy(path string) (*policy.Policy, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	p, err := policy.Parse(path, bytes.NewReader(b))
	if err != nil {
		return nil, "", err
	}
	return p, string(b), nil
}

// extraNames go into the certificates the real listeners show, so that
// real clients verifying by address (or localhost) accept them: a teaching
// convenience. Simulated connections see the host's name alone.
func extraNames(smtpHost string) []string {
	names := []string{"localhost"}
	if a, err := netip.ParseAddr(smtpHost); err == nil && !a.IsUnspecified() {
		names = append(names, smtpHost)
	}
	return names
}

// sweep expires idle labs until the server stops.
func (s *Sandbox) sweep() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.labs.Sweep()
		}
	}
}

// accounts are the policy's accounts (foo / barbaz) and every lab's own.
type accounts struct {
	policy map[string]string
	labs   *lab.Manager
}

func (a accounts) Lookup(user string) (string, string, bool) {
	if p, ok := a.policy[user]; ok {
		return p, "", true
	}
	return a.labs.Lookup(user)
}

// portOffset reads Config.PortOffset: -1 means any free port.
func portOffset(v, host string) (int, error) {
	switch v {
	case "":
		return 0, nil
	case "auto":
		return autoOffset(host), nil
	case "-1":
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--port-offset %q: want auto, -1 or a number from 0", v)
	}
	return n, nil
}

// checkOffset refuses an offset that would push a lesson port past the
// last TCP port.
func checkOffset(offset int, v string, pol *policy.Policy) error {
	highest := 0
	for _, l := range pol.Listeners {
		highest = max(highest, l.Port)
	}
	if offset > 65535-highest {
		return fmt.Errorf("--port-offset %q: lesson port %d would listen on %d, past 65535; the largest offset is %d", v, highest, highest+offset, 65535-highest)
	}
	return nil
}

// listenSMTP opens the real TCP listeners, one per lesson port.
func (s *Sandbox) listenSMTP(offset int) error {
	for _, l := range s.policy.Listeners {
		port := 0
		if offset >= 0 {
			port = l.Port + offset
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.SMTPHost, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("lesson port %d: %w", l.Port, err)
		}
		s.listeners = append(s.listeners, Listener{Addr: ln.Addr().String(), Listener: l})
		s.smtpLns = append(s.smtpLns, ln)
		go s.relay.Serve(ln, relay.Door{Host: l.Host, Port: l.Port})
	}
	return nil
}

// autoOffset is 0 where the process may bind the real low ports (root, or
// CAP_NET_BIND_SERVICE) and 10000 elsewhere, including where 25 is taken
// (a real MTA runs here): the sandbox keeps clear of it.
func autoOffset(host string) int {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "25"))
	if err != nil {
		return 10000
	}
	ln.Close()
	return 0
}

// URL is where the pages are, without a trailing slash:
// "http://127.0.0.1:8080".
func (s *Sandbox) URL() string { return "http://" + s.httpLn.Addr().String() }

// SMTPAddr is the real address of a lesson port's listener ("" when it
// has none).
func (s *Sandbox) SMTPAddr(port int) string {
	for _, l := range s.listeners {
		if l.Port == port {
			return l.Addr
		}
	}
	return ""
}

// Budget is how the sandbox shares its file descriptors.
func (s *Sandbox) Budget() Budget { return s.budget }

// Warnings say which of the numbers asked for the budget clamped.
func (s *Sandbox) Warnings() []string { return s.warnings }

// Listeners are the real SMTP listeners, in the policy's order.
func (s *Sandbox) Listeners() []Listener { return s.listeners }

// CA is the sandbox's certificate authority: its pool verifies every
// certificate the relay and the banner doors present.
func (s *Sandbox) CA() *ca.Authority { return s.ca }

// Roots is the CA as a pool, for a TLS client's RootCAs.
func (s *Sandbox) Roots() *x509.CertPool { return s.ca.Pool() }

// Store is the mailboxes of every lab.
func (s *Sandbox) Store() *mailbox.Store { return s.store }

// Bus carries every connection's events.
func (s *Sandbox) Bus() *events.Bus { return s.bus }

// World is the simulated hosts.
func (s *Sandbox) World() *world.World { return s.world }

// Labs is the lab manager.
func (s *Sandbox) Labs() *lab.Manager { return s.labs }

// Lab opens a lab under a network profile ("" for the default), as a
// page does through the API, for the loopback client.
func (s *Sandbox) Lab(profile string) (lab.Lab, error) {
	return s.labs.Create(netip.MustParseAddr("127.0.0.1"), profile)
}

// Close stops everything.
func (s *Sandbox) Close() {
	select {
	case <-s.done:
		return
	default:
		close(s.done)
	}
	if s.gateway != nil {
		s.gateway.Close()
	}
	if s.metricsLn != nil {
		s.metricsLn.Close()
	}
	if s.endRequests != nil {
		s.endRequests()
	}
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.httpSrv.Shutdown(ctx)
		cancel()
		// What Shutdown leaves (live event streams never go idle) is cut,
		// so a closed sandbox serves nothing more.
		s.httpSrv.Close()
	}
	// The sandbox opened them, so it closes them: a Serve that had not
	// started when the relay closed would otherwise keep its listener.
	for _, ln := range s.smtpLns {
		ln.Close()
	}
	if s.relay != nil {
		s.relay.Close()
	}
	if s.classroom != nil {
		s.classroom.Close()
	}
	if s.replica != nil {
		s.replica.Close()
	}
	if s.classes != nil {
		s.classes.Close()
	}
}

// routes: the JSON API, the WebSocket gateway, and the pages for the rest.
func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{Labs: s.labs, Store: s.store, Bus: s.bus, Profiles: s.profiles, World: s.world}))
	mux.Handle("/api/classroom/", s.classroom)
	mux.Handle("GET "+tunnel.Path, s.gateway)
	mux.Handle("/", web.New(s.webConfig()))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", s.metrics.Handler())
	}
	return mux
}

func (s *Sandbox) webConfig() web.Config {
	cfg := web.Config{CAPEM: s.ca.CertPEM(), AllowOrigins: s.cfg.Origins, Version: s.cfg.Version, DefaultProfile: s.profiles.DefaultProfile()}
	for _, p := range s.profiles.Profiles() {
		cfg.Profiles = append(cfg.Profiles, web.Profile{Name: p.Name, Title: p.Title, Description: p.Description, Titles: p.Titles, Descriptions: p.Descriptions})
	}
	for _, h := range s.world.Hosts() {
		wh := web.Host{Name: h.Name, Title: h.Title, Titles: h.Titles}
		for _, d := range h.Doors {
			wh.Doors = append(wh.Doors, web.Door{Port: d.Port, Service: string(d.Service)})
		}
		cfg.Hosts = append(cfg.Hosts, wh)
	}
	for _, l := range s.listeners {
		cfg.Listeners = append(cfg.Listeners, web.Listener{LessonPort: l.Port, Addr: l.Addr, Host: l.Host, Role: string(l.Role), TLS: TLSCode(l.Listener), Auth: AuthCode(l.Listener)})
	}
	return cfg
}

// TLSCode and AuthCode are the web page's names for a listener's rules.
func TLSCode(l policy.Listener) string {
	if l.TLS == policy.TLSStartTLS && l.RequireTLSBeforeAuth {
		return "starttls-required"
	}
	return string(l.TLS)
}

// AuthCode: see [TLSCode].
func AuthCode(l policy.Listener) string {
	if l.Auth == policy.AuthOptional {
		return "offered"
	}
	return string(l.Auth)
}
