package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/policy"
	"github.com/portlab/portlab/server/relay"
)

// serveOptions are `portlab serve`'s flags.
type serveOptions struct {
	HTTP       string
	SMTPHost   string
	PortOffset string // "auto", "-1" (any free port) or a number
	SMTPListen bool
	Data       string
	Policy     string
	Verbose    bool
}

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

// sandbox is one running portlab: the relay, its listeners and the web
// server.
type sandbox struct {
	opts      serveOptions
	policy    *policy.Policy
	ca        *ca.Authority
	bus       *events.Bus
	store     *mailbox.Store
	relay     *relay.Relay
	listeners []listenerInfo
	httpLn    net.Listener
	httpSrv   *http.Server
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
	s := &sandbox{opts: o, policy: pol, ca: auth, bus: events.NewBus()}
	s.store = mailbox.New(pol.Limits.MailboxSize, 256<<20, nil)
	errLog := log.New(io.Discard, "", 0)
	if o.Verbose {
		errLog = log.New(os.Stderr, "smtp: ", log.LstdFlags)
	}
	s.relay, err = relay.New(relay.Config{
		Policy: pol, Certs: auth, Store: s.store, Bus: s.bus, ErrorLog: errLog,
		ExtraNames: []string{"localhost", o.SMTPHost},
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
	s.httpSrv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go s.httpSrv.Serve(s.httpLn)
	return s, nil
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
// CAP_NET_BIND_SERVICE) and 10000 elsewhere.
func autoOffset(host string) int {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "25"))
	if err == nil {
		ln.Close()
		return 0
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return 10000
	}
	return 10000 // 25 is taken (a real MTA runs here): keep clear of it
}

// WebURL is where the pages are.
func (s *sandbox) WebURL() string { return "http://" + s.httpLn.Addr().String() + "/" }

// Close stops everything.
func (s *sandbox) Close() {
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.httpSrv.Shutdown(ctx)
		cancel()
	}
	if s.relay != nil {
		s.relay.Close()
	}
}

func (s *sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ca.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Disposition", `attachment; filename="portlab-ca.pem"`)
		w.Write(s.ca.CertPEM())
	})
	return mux
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
