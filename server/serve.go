package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/events"
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
	// PasswordFrom says where it came from, for the start-up text.
	TeacherPassword string
	PasswordFrom    string
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
	fs.DurationVar(&o.LabTTL, "lab-ttl", sandbox.DefaultLabTTL, "idle time after which a lab expires")
	fs.IntVar(&o.LabsPerIP, "labs-per-client", 10, "labs one client address may hold")
	fs.IntVar(&o.TunnelsIP, "tunnels-per-client", 0, "tunnels (terminal connections) one client address may hold open (default 100; a class behind one school address needs about one per student)")
	fs.DurationVar(&o.DropAfter, "drop-timeout", 0, "how long a dropped connection takes to time out (default: the profile's, 5s)")
	fs.IntVar(&o.HTTPConns, "http-conns", 0, "HTTP connections open at once, tunnels included (default: 40% of the open-file limit)")
	fs.IntVar(&o.HTTPPerIP, "http-conns-per-client", 0, "HTTP connections one client address may hold (default: 512, or a quarter of --http-conns where that is less)")
	fs.BoolVar(&o.Verbose, "v", false, "log every connection's events")
	fs.StringVar(&o.TeacherPassword, "teacher-password", "", "password of the teacher's pages at /teach, visible to ps: prefer --teacher-password-file or $"+teacherPasswordEnv+" (default: one made up at start and printed)")
	pwFile := fs.String("teacher-password-file", "", "file whose first line is the teacher's password (e.g. a mounted secret)")
	if err := fs.Parse(args); err != nil {
		return o, exitError(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portlab serve: unexpected argument %q\n", fs.Arg(0))
		return o, exitError(2)
	}
	if err := o.teacherPassword(*pwFile); err != nil {
		fmt.Fprintln(stderr, "portlab serve:", err)
		return o, exitError(2)
	}
	return o, nil
}

// teacherPasswordEnv is the environment variable that may hold the
// teacher's password: unlike a flag, the environment is not shown by ps
// to other users.
const teacherPasswordEnv = "PORTLAB_TEACHER_PASSWORD"

// teacherPassword takes the password from --teacher-password, else
// --teacher-password-file, else the environment; two of them at once is
// a mistake, not a choice.
func (o *serveOptions) teacherPassword(file string) error {
	env := os.Getenv(teacherPasswordEnv)
	switch {
	case o.TeacherPassword != "" && file != "":
		return errors.New("give --teacher-password or --teacher-password-file, not both")
	case o.TeacherPassword != "":
		o.PasswordFrom = "--teacher-password"
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--teacher-password-file: %w", err)
		}
		// The first line, without its line ending: what `echo PW > file`
		// and a Kubernetes secret leave.
		line, _, _ := strings.Cut(string(b), "\n")
		o.TeacherPassword = strings.TrimRight(line, "\r")
		if o.TeacherPassword == "" {
			return fmt.Errorf("--teacher-password-file %s: the first line is empty", file)
		}
		o.PasswordFrom = "--teacher-password-file"
	case env != "":
		o.TeacherPassword, o.PasswordFrom = env, "$"+teacherPasswordEnv
	}
	return nil
}

// config is the sandbox these flags ask for.
func (o serveOptions) config() sandbox.Config {
	errLog := log.New(io.Discard, "", 0)
	if o.Verbose {
		errLog = log.New(os.Stderr, "smtp: ", log.LstdFlags)
	}
	offset := o.PortOffset
	if !o.SMTPListen {
		offset = "" // no real listeners
	}
	return sandbox.Config{
		HTTP: o.HTTP, SMTPHost: o.SMTPHost, PortOffset: offset, Data: o.Data,
		Policy: o.Policy, Hosts: o.Hosts, Profiles: o.Profiles, Origins: o.Origins, AllowHosts: o.AllowHosts,
		LabTTL: o.LabTTL, LabsPerClient: o.LabsPerIP, DropTimeout: o.DropAfter, TunnelsPerClient: o.TunnelsIP,
		HTTPConns: o.HTTPConns, HTTPConnsPerClient: o.HTTPPerIP,
		ErrorLog: errLog, Version: version, TeacherPassword: o.TeacherPassword,
	}
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	s, err := sandbox.New(o.config())
	if err != nil {
		return err
	}
	defer s.Close()
	for _, w := range s.Warnings() {
		fmt.Fprintln(stderr, "portlab: warning:", w)
	}
	printTable(stdout, s, o.Data, o.PasswordFrom)
	if o.Verbose {
		go logEvents(ctx, s.Bus(), stderr)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "portlab: stopping")
	return nil
}

// printTable is the start-up summary: where each lesson port really is
// and the rules it follows.
func printTable(w io.Writer, s *sandbox.Sandbox, data, from string) {
	fmt.Fprintln(w, "portlab: the SMTP ports sandbox. Mail never leaves this machine.")
	fmt.Fprintf(w, "web: %s/\n", s.URL())
	fmt.Fprintf(w, "ca: %s (also at %s/ca.pem)\n", filepath.Join(data, "ca.pem"), s.URL())
	if pw := s.TeacherPassword(); pw != "" {
		fmt.Fprintf(w, "teach: %s/teach (password %s, made up at this start; --teacher-password-file or $%s sets one)\n", s.URL(), pw, teacherPasswordEnv)
	} else {
		fmt.Fprintf(w, "teach: %s/teach (password: the one given by %s)\n", s.URL(), from)
	}
	fmt.Fprintf(w, "classroom: %s (classes, students and progress kept across restarts)\n", filepath.Join(data, "classroom.db"))
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
