package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/policy"
	"github.com/portlab/portlab/server/sandbox"
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
	TunnelsIP  int
	DropAfter  time.Duration
	HTTPConns  int
	HTTPPerIP  int
	Verbose    bool
	// TeacherPassword opens /teach; empty: one made up and printed.
	TeacherPassword string
	Metrics         string
	// TrustedProxies: whose X-Forwarded-For names the client.
	TrustedProxies proxyList
	// UnknownEnv are PORTLAB_ variables that name no flag (a typo in a
	// deployment would otherwise go unseen); serve warns of them.
	UnknownEnv      []string
	LogFormat       string
	LogLevel        string
	ShutdownTimeout time.Duration

	// Several replicas: a shared store and the same secrets everywhere.
	Store               string
	CACert, CAKey       string
	CADir               string
	TeacherPasswordFile string
}

// stringList is a flag that may be given more than once.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// proxyList is --trusted-proxies: networks, comma-separated or repeated,
// checked when read so that a typo stops the start.
type proxyList struct{ httpguard.Proxies }

func (l *proxyList) Set(v string) error {
	ps, err := httpguard.ParseProxies(v)
	l.Proxies = append(l.Proxies, ps...)
	return err
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
	fs.StringVar(&o.Hosts, "hosts", "", "simulated hosts file (default: built in)")
	fs.StringVar(&o.Profiles, "profiles", "", "network profiles file (default: built in)")
	fs.Var(&o.Origins, "allow-origin", "a site allowed to embed the sandbox and open tunnels (host pattern, e.g. docs.example.com); repeatable")
	fs.Var(&o.AllowHosts, "allow-host", "a name the pages are reached by, besides the --http host and localhost (a Host header not listed is refused with 421, against DNS rebinding); repeatable")
	fs.Var(&o.TrustedProxies, "trusted-proxies", "reverse proxies (the Ingress, a load balancer) whose X-Forwarded-For names the client: `CIDR[,CIDR...]`, e.g. 10.0.0.0/8; every per-client limit then counts the right-most address of the header not in this list; default none: the header is ignored")
	fs.DurationVar(&o.LabTTL, "lab-ttl", sandbox.DefaultLabTTL, "idle time after which a lab expires")
	fs.IntVar(&o.LabsPerIP, "labs-per-client", 10, "labs one client address may hold")
	fs.DurationVar(&o.DropAfter, "drop-timeout", 0, "how long a dropped connection takes to time out (default: the profile's, 5s)")
	fs.IntVar(&o.HTTPConns, "http-conns", 0, "HTTP connections open at once, tunnels included (default: 40% of the open-file limit)")
	fs.IntVar(&o.HTTPPerIP, "http-conns-per-client", 0, "HTTP connections one client address may hold (default: 512, or a quarter of --http-conns where that is less)")
	fs.IntVar(&o.TunnelsIP, "tunnels-per-client", 0, "WebSocket tunnels one client address may hold (default: 100): a class behind one school address, or every browser behind a reverse proxy not in --trusted-proxies, needs about one per student")
	fs.BoolVar(&o.Verbose, "v", false, "log every connection's events")
	fs.StringVar(&o.TeacherPassword, "teacher-password", "", "password of the teacher's pages at /teach (default: one made up at start and printed)")
	// Several replicas (one block, to keep them together).
	fs.StringVar(&o.Store, "store", "", "a postgres:// URL: classes, students, progress, labs and mailboxes in PostgreSQL, shared by several replicas (default: classes in the embedded database in --data, labs and mail in memory)")
	fs.StringVar(&o.CACert, "ca-cert", "", "the sandbox CA's certificate file, read and never written, so that every replica presents the same CA (with --ca-key)")
	fs.StringVar(&o.CAKey, "ca-key", "", "the sandbox CA's key file (with --ca-cert)")
	fs.StringVar(&o.CADir, "ca-dir", "", "a directory holding the CA's ca.pem and ca-key.pem, read-only (a mounted Secret); instead of --ca-cert and --ca-key")
	fs.StringVar(&o.TeacherPasswordFile, "teacher-password-file", "", "a file whose first line is the teacher password (instead of --teacher-password)")
	fs.StringVar(&o.Metrics, "metrics", "", "address serving /metrics alone (e.g. :9090, for a cluster's Prometheus); empty: /metrics on the --http address")
	fs.StringVar(&o.LogFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&o.LogLevel, "log-level", "info", "least level logged: debug, info, warn or error (debug adds the SMTP servers' own errors)")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "on SIGTERM or SIGINT, how long open sessions may take to finish before they are cut")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: portlab serve [flags]\n\nEvery flag may also be set by the environment variable named beside it;\na flag on the command line wins.\n\n")
		fs.PrintDefaults()
	}
	withEnv(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, exitError(0) // asked for: not a failure
		}
		return o, exitError(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portlab serve: unexpected argument %q\n", fs.Arg(0))
		return o, exitError(2)
	}
	if err := fromEnv(fs, os.LookupEnv); err != nil {
		fmt.Fprintln(stderr, "portlab serve:", err)
		return o, exitError(2)
	}
	o.UnknownEnv = unknownEnv(fs, os.Environ())
	if _, err := newLogger(o, io.Discard); err != nil {
		fmt.Fprintln(stderr, "portlab serve:", err)
		return o, exitError(2)
	}
	// After the environment: its twins may name the files.
	if err := o.readSecrets(); err != nil {
		fmt.Fprintln(stderr, "portlab serve:", err)
		return o, exitError(2)
	}
	return o, nil
}

// readSecrets turns --ca-dir into --ca-cert and --ca-key and reads
// --teacher-password-file.
func (o *serveOptions) readSecrets() error {
	if o.CADir != "" {
		if o.CACert != "" || o.CAKey != "" {
			return fmt.Errorf("--ca-dir or --ca-cert and --ca-key, not both")
		}
		o.CACert, o.CAKey = filepath.Join(o.CADir, "ca.pem"), filepath.Join(o.CADir, "ca-key.pem")
	}
	if o.TeacherPasswordFile != "" {
		if o.TeacherPassword != "" {
			return fmt.Errorf("--teacher-password or --teacher-password-file, not both")
		}
		b, err := os.ReadFile(o.TeacherPasswordFile)
		if err != nil {
			return err
		}
		// The first line: a Secret's file often ends with a newline.
		pw, _, _ := strings.Cut(string(b), "\n")
		if o.TeacherPassword = strings.TrimRight(pw, "\r"); o.TeacherPassword == "" {
			return fmt.Errorf("%s: the teacher password is empty", o.TeacherPasswordFile)
		}
	}
	return nil
}

// envName is a flag's environment twin: --smtp-host is PORTLAB_SMTP_HOST.
func envName(flagName string) string {
	return "PORTLAB_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// withEnv names each flag's environment twin in its help line.
func withEnv(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " [$" + envName(f.Name) + "]" })
}

// fromEnv sets every flag not given on the command line from its
// environment twin, if set: the command line wins, then the environment,
// then the default. A repeatable flag takes a comma-separated list.
func fromEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := lookup(envName(f.Name))
		if given[f.Name] || !ok || err != nil {
			return
		}
		values := []string{v}
		if _, repeatable := f.Value.(*stringList); repeatable {
			values = strings.Split(v, ",")
		}
		for _, v := range values {
			if e := fs.Set(f.Name, strings.TrimSpace(v)); e != nil {
				err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, e)
				return
			}
		}
	})
	return err
}

// unknownEnv lists the PORTLAB_ variables of env that are no flag's twin.
func unknownEnv(fs *flag.FlagSet, env []string) []string {
	twins := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { twins[envName(f.Name)] = true })
	var unknown []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PORTLAB_") && !twins[name] {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

// newLogger is the structured logger --log-format and --log-level ask
// for, writing to w.
func newLogger(o serveOptions, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch o.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", o.LogFormat)
}

// config is the sandbox these flags ask for.
func (o serveOptions) config(logger *slog.Logger) sandbox.Config {
	// go-smtp's own errors (mostly clients that went away) are debug.
	errLog := slog.NewLogLogger(logger.With("component", "smtp").Handler(), slog.LevelDebug)
	offset := o.PortOffset
	if !o.SMTPListen {
		offset = "" // no real listeners
	}
	return sandbox.Config{
		HTTP: o.HTTP, SMTPHost: o.SMTPHost, PortOffset: offset, Data: o.Data,
		Policy: o.Policy, Hosts: o.Hosts, Profiles: o.Profiles, Origins: o.Origins, AllowHosts: o.AllowHosts,
		TrustedProxies: o.TrustedProxies.Proxies,
		LabTTL:         o.LabTTL, LabsPerClient: o.LabsPerIP, DropTimeout: o.DropAfter,
		HTTPConns: o.HTTPConns, HTTPConnsPerClient: o.HTTPPerIP, TunnelsPerClient: o.TunnelsIP,
		ErrorLog: errLog, Log: logger, Version: version, TeacherPassword: o.TeacherPassword,
		MetricsAddr: o.Metrics,
		Store:       o.Store, CACert: o.CACert, CAKey: o.CAKey,
	}
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	logger, err := newLogger(o, stderr)
	if err != nil {
		return err
	}
	s, err := sandbox.New(o.config(logger))
	if err != nil {
		return err
	}
	defer s.Close()
	for _, w := range s.Warnings() {
		logger.Warn(w)
	}
	for _, name := range o.UnknownEnv {
		logger.Warn("environment variable names no flag of portlab serve; ignored", "name", name)
	}
	printTable(stdout, s, o)
	logger.Info("serving", "version", version, "web", s.URL(), "metrics", s.MetricsURL(), "smtp_listeners", len(s.Listeners()))
	if o.Verbose {
		go logEvents(ctx, s.Bus(), logger)
	}
	<-ctx.Done()
	// SIGTERM or SIGINT (main's context): drain within the deadline.
	logger.Info("shutting down", "timeout", o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		logger.Warn("shutdown deadline passed; open sessions were cut", "err", err)
		return nil
	}
	logger.Info("stopped")
	return nil
}

// printTable is the start-up summary: where each lesson port really is
// and the rules it follows.
func printTable(w io.Writer, s *sandbox.Sandbox, o serveOptions) {
	data := o.Data
	caFile := filepath.Join(data, "ca.pem")
	if o.CACert != "" {
		caFile = o.CACert
	}
	fmt.Fprintln(w, "portlab: the SMTP ports sandbox. Mail never leaves this machine.")
	fmt.Fprintf(w, "web: %s/\n", s.URL())
	fmt.Fprintf(w, "ca: %s (also at %s/ca.pem)\n", caFile, s.URL())
	if pw := s.TeacherPassword(); pw != "" {
		fmt.Fprintf(w, "teach: %s/teach (password %s, made up at this start; --teacher-password-file or $PORTLAB_TEACHER_PASSWORD_FILE sets one)\n", s.URL(), pw)
	} else {
		from := "--teacher-password"
		if o.TeacherPasswordFile != "" {
			from = "--teacher-password-file"
		}
		fmt.Fprintf(w, "teach: %s/teach (password: the one given by %s)\n", s.URL(), from)
	}
	if o.Store != "" {
		fmt.Fprintln(w, "classroom: PostgreSQL (--store; classes, students and progress shared by every replica)")
	} else {
		fmt.Fprintf(w, "classroom: %s (classes, students and progress kept across restarts)\n", filepath.Join(data, "classroom.db"))
	}
	if len(o.TrustedProxies.Proxies) > 0 {
		fmt.Fprintf(w, "trusted proxies: %s (their X-Forwarded-For names the client every limit counts)\n", o.TrustedProxies)
	}
	fmt.Fprintf(w, "limits: %s\n\n", s.Budget())
	if len(s.Listeners()) == 0 {
		fmt.Fprintln(w, "No real SMTP listeners (--smtp-listen=false): browser gateway only.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REAL ADDRESS\tLESSON PORT\tHOST\tROLE\tTLS\tAUTH")
	for _, l := range s.Listeners() {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", l.Addr, l.Port, l.Host, l.Role, tlsText(l.Listener), authText(l.Listener))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nDemo account: foo / barbaz. Try: swaks --server", s.SMTPAddr(587), "--tls --auth-user foo --auth-password barbaz --to you@sandbox.test")
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

// logEvents logs every connection's events (-v).
func logEvents(ctx context.Context, bus *events.Bus, logger *slog.Logger) {
	sub := bus.Subscribe(4096, nil)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-sub.C:
			logger.Info(e.Text, "kind", e.Kind, "conn", e.Conn, "lab", e.Lab, "host", e.Host, "port", e.Port, "tls", e.Secure)
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
