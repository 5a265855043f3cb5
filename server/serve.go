package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/api"
	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/gateway"
	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/policy"
	"github.com/portlab/portlab/server/relay"
	"github.com/portlab/portlab/server/world"
	"github.com/portlab/portlab/web"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// serveOptions are `portlab serve`'s flags.
type serveOptions struct {
	HTTP       string
	SMTPHost   string
	PortOffset string // "auto", "-1" (any free port) or a number
	SMTPListen bool
	Data       string
	Policy     string
	Hosts      string
	Profiles   string
	Origins    stringList
	AllowHosts stringList
	LabTTL     time.Duration
	LabsPerIP  int
	DropAfter  time.Duration
	Verbose    bool
}

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func defaultDataDir() string {
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "portlab")
	}
	return ".portlab"
}

func parseServeFlags(args []string, stderr io.Writer) (serveOptions, error) {
	var o serveOptions
	fs := flag.NewFlagSet("portlab serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.HTTP, "http", "127.0.0.1:8080", "address of the web pages, the API and the WebSocket gateway")
	fs.StringVar(&o.SMTPHost, "smtp-host", "127.0.0.1", "address the real SMTP listeners bind")
	fs.StringVar(&o.PortOffset, "port-offset", "auto", "lesson port P listens on P+N; auto: 0 where the process may bind ports below 1024, else 10000; -1: any free port")
	fs.BoolVar(&o.SMTPListen, "smtp-listen", true, "open real TCP listeners for the lesson ports (false: only the browser gateway)")
	fs.StringVar(&o.Data, "data", defaultDataDir(), "directory for the sandbox CA and certificates, kept across restarts")
	fs.StringVar(&o.Policy, "policy", "", "relay policy file (default: built in; `portlab policy` prints it)")
	fs.StringVar(&o.Hosts, "hosts", "", "simulated hosts file (default: built in)")
	fs.StringVar(&o.Profiles, "profiles", "", "network profiles file (default: built in)")
	fs.Var(&o.Origins, "allow-origin", "a site allowed to embed the sandbox and open tunnels (host pattern, e.g. docs.example.com); repeatable")
	fs.Var(&o.AllowHosts, "allow-host", "a name the pages are reached by, besides the --http host and localhost (a Host header not listed is refused with 421, against DNS rebinding); repeatable")
	fs.DurationVar(&o.LabTTL, "lab-ttl", defaultLabTTL, "idle time after which a lab expires")
	fs.IntVar(&o.LabsPerIP, "labs-per-client", 10, "labs one client address may hold")
	fs.DurationVar(&o.DropAfter, "drop-timeout", 0, "how long a dropped connection takes to time out (default: the profile's, 5s)")
	fs.BoolVar(&o.Verbose, "v", false, "log every connection's events")
	if err := fs.Parse(args); err != nil {
		return o, exitError(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portlab serve: unexpected argument %q\n", fs.Arg(0))
		return o, exitError(2)
	}
	return o, nil
}

const defaultLabTTL = 2 * time.Hour

// sandbox is one running portlab: the relay, its listeners and the web
// server.
type sandbox struct {
	opts      serveOptions
	policy    *policy.Policy
	ca        *ca.Authority
	bus       *events.Bus
	store     *mailbox.Store
	relay     *relay.Relay
	world     *world.World
	profiles  *netsim.Set
	labs      *lab.Manager
	gateway   *gateway.Gateway
	listeners []listenerInfo
	httpLn    net.Listener
	httpSrv   *http.Server
	done      chan struct{}
}

// listenerInfo is one real TCP listener, for the start-up table and the
// "use your own client" page.
type listenerInfo struct {
	Addr string
	policy.Listener
}

func startSandbox(o serveOptions) (*sandbox, error) {
	pol := policy.Default()
	if o.Policy != "" {
		var err error
		if pol, err = policy.Load(o.Policy); err != nil {
			return nil, err
		}
	}
	auth, err := ca.Open(o.Data, nil)
	if err != nil {
		return nil, err
	}
	s := &sandbox{done: make(chan struct{}), opts: o, policy: pol, ca: auth, bus: events.NewBus(), world: world.Default(), profiles: netsim.Default()}
	if o.Hosts != "" {
		if s.world, err = world.Load(o.Hosts); err != nil {
			return nil, err
		}
	}
	if o.Profiles != "" {
		if s.profiles, err = netsim.Load(o.Profiles); err != nil {
			return nil, err
		}
	}
	if err := s.profiles.CheckHosts(s.world); err != nil {
		return nil, err
	}
	s.store = mailbox.New(pol.Limits.MailboxSize, 256<<20, nil)
	s.store.Notify(s.bus)
	s.labs = lab.NewManager(lab.Config{
		TTL: o.LabTTL, MaxPerClient: o.LabsPerIP, MaxLabs: 100000, Default: "home-isp",
		Profiles: func(n string) bool { _, ok := s.profiles.Profile(n); return ok },
		OnExpire: s.store.DeleteLab,
	})
	s.bus.RouteAuth(s.labs.LabOf) // a lab's AUTH events go to that lab only
	errLog := log.New(io.Discard, "", 0)
	if o.Verbose {
		errLog = log.New(os.Stderr, "smtp: ", log.LstdFlags)
	}
	s.relay, err = relay.New(relay.Config{
		Policy: pol, Certs: auth, Store: s.store, Bus: s.bus, ErrorLog: errLog,
		ExtraNames: extraNames(o.SMTPHost),
		Accounts:   accounts{pol.Accounts, s.labs},
		Routes:     gateway.Routes{World: s.world},
		Roots:      auth.Pool(),
	})
	if err != nil {
		return nil, err
	}
	if o.SMTPListen {
		if err := s.listenSMTP(); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.httpLn, err = net.Listen("tcp", o.HTTP)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.gateway = gateway.New(gateway.Config{
		World: s.world, Profiles: s.profiles, Labs: s.labs, Relay: s.relay, Certs: auth, Bus: s.bus,
		AllowOrigins: o.Origins, DropTimeout: o.DropAfter,
	})
	// HTTP hardening: Host and Origin checks, time-outs, connection caps.
	hosts, anyIP := httpguard.DefaultHosts(o.HTTP)
	guard := httpguard.Config{Hosts: append(hosts, o.AllowHosts...), AnyIP: anyIP, Origins: o.Origins}
	s.httpSrv = httpguard.NewServer(httpguard.Handler(s.routes(), guard), httpguard.DefaultTimeouts, nil)
	go s.httpSrv.Serve(httpguard.Listen(s.httpLn, httpguard.DefaultLimits))
	go s.sweep()
	return s, nil
}

// extraNames go into every certificate so that real clients verifying by
// address (or localhost) accept it: a teaching convenience.
func extraNames(smtpHost string) []string {
	names := []string{"localhost"}
	if a, err := netip.ParseAddr(smtpHost); err == nil && !a.IsUnspecified() {
		names = append(names, smtpHost)
	}
	return names
}

// sweep expires idle labs until the server stops.
func (s *sandbox) sweep() {
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

// listenSMTP opens the real TCP listeners, one per lesson port.
func (s *sandbox) listenSMTP() error {
	offset := 0
	switch s.opts.PortOffset {
	case "auto":
		offset = autoOffset(s.opts.SMTPHost)
	case "-1":
		offset = -1
	default:
		n, err := strconv.Atoi(s.opts.PortOffset)
		if err != nil || n < 0 || n > 60000 {
			return fmt.Errorf("--port-offset %q: want auto, -1 or a number from 0 to 60000", s.opts.PortOffset)
		}
		offset = n
	}
	for _, l := range s.policy.Listeners {
		port := 0
		if offset >= 0 {
			port = l.Port + offset
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(s.opts.SMTPHost, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("lesson port %d: %w", l.Port, err)
		}
		s.listeners = append(s.listeners, listenerInfo{Addr: ln.Addr().String(), Listener: l})
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

// WebURL is where the pages are.
func (s *sandbox) WebURL() string { return "http://" + s.httpLn.Addr().String() + "/" }

// Close stops everything.
func (s *sandbox) Close() {
	select {
	case <-s.done:
		return
	default:
		close(s.done)
	}
	if s.gateway != nil {
		s.gateway.Close()
	}
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.httpSrv.Shutdown(ctx)
		cancel()
	}
	if s.relay != nil {
		s.relay.Close()
	}
}

// routes: the JSON API, the WebSocket gateway, and the pages for the rest.
func (s *sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Config{Labs: s.labs, Store: s.store, Bus: s.bus, Profiles: s.profiles, World: s.world}))
	mux.Handle("GET "+tunnel.Path, s.gateway)
	mux.Handle("/", web.New(s.webConfig()))
	return mux
}

func (s *sandbox) webConfig() web.Config {
	cfg := web.Config{CAPEM: s.ca.CertPEM(), AllowOrigins: s.opts.Origins, Version: version}
	for _, p := range s.profiles.Profiles() {
		cfg.Profiles = append(cfg.Profiles, web.Profile{Name: p.Name, Title: p.Title, Description: p.Description})
	}
	for _, h := range s.world.Hosts() {
		wh := web.Host{Name: h.Name, Title: h.Title}
		for _, d := range h.Doors {
			wh.Doors = append(wh.Doors, web.Door{Port: d.Port, Service: string(d.Service)})
		}
		cfg.Hosts = append(cfg.Hosts, wh)
	}
	for _, l := range s.listeners {
		cfg.Listeners = append(cfg.Listeners, web.Listener{LessonPort: l.Port, Addr: l.Addr, Host: l.Host, Role: string(l.Role), TLS: tlsCode(l.Listener), Auth: authCode(l.Listener)})
	}
	return cfg
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	s, err := startSandbox(o)
	if err != nil {
		return err
	}
	defer s.Close()
	s.printTable(stdout)
	if o.Verbose {
		go logEvents(ctx, s.bus, stderr)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "portlab: stopping")
	return nil
}

// printTable is the start-up summary: where each lesson port really is
// and the rules it follows.
func (s *sandbox) printTable(w io.Writer) {
	fmt.Fprintln(w, "portlab: the SMTP ports sandbox. Mail never leaves this machine.")
	fmt.Fprintf(w, "web: %s\n", s.WebURL())
	fmt.Fprintf(w, "ca: %s (also at %sca.pem)\n\n", filepath.Join(s.opts.Data, "ca.pem"), s.WebURL())
	if len(s.listeners) == 0 {
		fmt.Fprintln(w, "No real SMTP listeners (--smtp-listen=false): browser gateway only.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REAL ADDRESS\tLESSON PORT\tHOST\tROLE\tTLS\tAUTH")
	for _, l := range s.listeners {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", l.Addr, l.Port, l.Host, l.Role, tlsText(l.Listener), authText(l.Listener))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nDemo account: foo / barbaz. Try: swaks --server", s.listenerAddr(587), "--tls --auth-user foo --auth-password barbaz --to you@sandbox.test")
}

func (s *sandbox) listenerAddr(port int) string {
	for _, l := range s.listeners {
		if l.Port == port {
			return l.Addr
		}
	}
	return ""
}

func tlsText(l policy.Listener) string {
	switch l.TLS {
	case policy.TLSImplicit:
		return "implicit (from the first byte)"
	case policy.TLSStartTLS:
		if l.RequireTLSBeforeAuth {
			return "STARTTLS (required before AUTH)"
		}
		return "STARTTLS (optional)"
	}
	return "none"
}

// tlsCode and authCode are the web page's names for a listener's rules.
func tlsCode(l policy.Listener) string {
	if l.TLS == policy.TLSStartTLS && l.RequireTLSBeforeAuth {
		return "starttls-required"
	}
	return string(l.TLS)
}

func authCode(l policy.Listener) string {
	if l.Auth == policy.AuthOptional {
		return "offered"
	}
	return string(l.Auth)
}

func authText(l policy.Listener) string {
	if l.Auth == policy.AuthNone {
		return "not offered; relaying only from trusted networks"
	}
	return string(l.Auth) + " (" + strings.Join(l.Mechanisms, " ") + ")"
}

func logEvents(ctx context.Context, bus *events.Bus, w io.Writer) {
	sub := bus.Subscribe(4096, nil)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-sub.C:
			lock := " "
			if e.Secure {
				lock = "🔒"
			}
			fmt.Fprintf(w, "%s %s conn=%d lab=%s %s:%d %-10s %s\n", e.Time.Format("15:04:05.000"), lock, e.Conn, e.Lab, e.Host, e.Port, e.Kind, e.Text)
		}
	}
}

func cmdCA(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portlab ca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", defaultDataDir(), "the sandbox's data directory")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	auth, err := ca.Open(*data, nil)
	if err != nil {
		return err
	}
	_, err = stdout.Write(auth.CertPEM())
	return err
}

func cmdPolicy(stdout io.Writer) error {
	_, err := io.WriteString(stdout, policy.DefaultText())
	return err
}
