package world

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Service says what answers at a door.
type Service string

const (
	// SMTPRelay is a port-25 style MTA: server-to-server relay and MX duty
	// under a relay policy (RFC 5321).
	SMTPRelay Service = "smtp"
	// Submission is a mail client's door with STARTTLS and TLS before AUTH
	// (RFC 6409, RFC 3207); ports 587 and 2525.
	Submission Service = "submission"
	// Submissions is submission over implicit TLS (RFC 8314); port 465.
	Submissions Service = "submissions"
	// IMAP and the other retrieval services only greet: they exist so that
	// a student who knocks on the wrong door learns which door it was.
	IMAP  Service = "imap"  // RFC 9051, port 143
	IMAPS Service = "imaps" // IMAP over implicit TLS, port 993
	POP3  Service = "pop3"  // RFC 1939, port 110
	POP3S Service = "pop3s" // POP3 over implicit TLS, port 995
)

// services lists every Service in the order the file format documents.
var services = []Service{SMTPRelay, Submission, Submissions, IMAP, IMAPS, POP3, POP3S}

// IsSMTP reports whether the door speaks SMTP, so that it takes a relay
// policy.
func (s Service) IsSMTP() bool {
	return s == SMTPRelay || s == Submission || s == Submissions
}

// ImplicitTLS reports whether the client must start TLS before the first
// byte of the protocol (RFC 8314): 465, 993 and 995.
func (s Service) ImplicitTLS() bool {
	return s == Submissions || s == IMAPS || s == POP3S
}

// Door is one open port of a host.
type Door struct {
	Host    string // the host's name, lower case, without a trailing dot
	Port    int
	Service Service
	// PolicyPort is the listener of the relay policy file (<listener
	// PORT>: 25, 465, 587, 2525) whose policy answers an SMTP door. It
	// defaults to the door's port and is 0 for IMAP and POP3 doors.
	PolicyPort int
}

// TitleIn is the host's title in lang, or the English one when it has
// none in lang.
func (h *Host) TitleIn(lang string) string {
	if t := h.Titles[lang]; t != "" {
		return t
	}
	return h.Title
}

// Host is one simulated machine. Treat it as read-only: a World hands out
// the same *Host to every caller.
type Host struct {
	Name  string // lower case, without a trailing dot
	Title string // shown to students; may be empty
	// Titles are the title in other languages (internal/i18n), from
	// "title.LANG "Title"" lines; TitleIn falls back to Title.
	Titles       map[string]string
	Doors        []Door // sorted by port
	LocalDomains []string
	// STARTTLS says whether the host's SMTP doors offer STARTTLS; it
	// matters for the remote MXs of the outbound TLS lesson (docs/teaching-map.md L8).
	STARTTLS bool
	// Greylist, when not zero, is how long the host's SMTP doors defer a
	// new (client network, sender, recipient) triplet before they accept
	// it, as postgrey does (its --delay; docs/teaching-map.md L25).
	// Greylisting is the receiving server's policy, so it lives here and
	// not in the network profiles.
	Greylist time.Duration
	// UntrustedCert gives the host a certificate from a CA that no client
	// trusts (not the sandbox CA), for the certificates lesson (L26).
	UntrustedCert bool
	Line          int // where the host is defined, for messages
}

// Door returns the host's door on port, if it is open.
func (h *Host) Door(port int) (Door, bool) {
	for _, d := range h.Doors {
		if d.Port == port {
			return d, true
		}
	}
	return Door{}, false
}

// World is a set of hosts. It is immutable after Parse, so one World may
// serve many connections at once.
type World struct {
	hosts  []*Host // sorted by name
	byName map[string]*Host
}

var (
	// ErrNoSuchHost is the answer for a name the world does not list. Like
	// the resolver's "no such host", nothing is ever contacted.
	ErrNoSuchHost = errors.New("no such host")
	// ErrPortClosed is the answer of a listed host on a port with no door:
	// a real host sends a TCP reset, which clients show as "Connection
	// refused".
	ErrPortClosed = errors.New("connection refused")
)

//go:embed default.hosts
var defaultText []byte

// DefaultText returns the embedded default.hosts, for a teacher who wants
// a starting point for their own file.
func DefaultText() string { return string(defaultText) }

// Default returns the starting cast parsed from the embedded default.hosts.
// A test keeps the file valid, so Default never fails at run time.
func Default() *World {
	w, err := Parse("default.hosts", bytes.NewReader(defaultText))
	if err != nil {
		panic("world: embedded default.hosts is broken: " + err.Error())
	}
	return w
}

// Load reads a hosts file from disk.
func Load(path string) (*World, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// Hosts returns every host, sorted by name. The slice is the caller's; the
// hosts are shared and must not be modified.
func (w *World) Hosts() []*Host {
	return append([]*Host(nil), w.hosts...)
}

// Host finds a host by name, ignoring case and a trailing dot, as DNS does.
func (w *World) Host(name string) (*Host, bool) {
	h, ok := w.byName[normalize(name)]
	return h, ok
}

// Door finds what answers at host:port. Its errors wrap ErrNoSuchHost or
// ErrPortClosed (test them with errors.Is) and read the way a student's
// tools say them, e.g. "connect smtp.relay.test:465: connection refused".
func (w *World) Door(host string, port int) (Door, error) {
	h, ok := w.Host(host)
	if !ok {
		return Door{}, fmt.Errorf("lookup %s: %w", host, ErrNoSuchHost)
	}
	d, ok := h.Door(port)
	if !ok {
		return Door{}, fmt.Errorf("connect %s: %w", net.JoinHostPort(h.Name, strconv.Itoa(port)), ErrPortClosed)
	}
	return d, nil
}

func normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// CheckHostName says why name cannot be a simulated host, or returns nil.
// A host name is a DNS name with at least two labels; IP literals and
// localhost are refused so that no world file can point the sandbox at a
// real machine, not even the one it runs on. netsim uses it for the hosts
// its rules name.
func CheckHostName(name string) error {
	n := normalize(name)
	if n == "" {
		return errors.New("empty host name")
	}
	if strings.HasPrefix(n, "[") {
		return fmt.Errorf("%q is an IP literal; hosts are names (the world file is the only resolver)", name)
	}
	if _, err := netip.ParseAddr(n); err == nil {
		return fmt.Errorf("%q is an IP literal; hosts are names (the world file is the only resolver)", name)
	}
	// RFC 6761 section 6.3: localhost and its subdomains are loopback.
	if n == "localhost" || strings.HasSuffix(n, ".localhost") {
		return fmt.Errorf("%q is the local machine; the sandbox never dials it", name)
	}
	if len(n) > 253 {
		return fmt.Errorf("host name %.20q... is longer than 253 characters", name)
	}
	labels := strings.Split(n, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q needs a dot, e.g. mx.%s.test", name, n)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("%q is not a DNS name (each dot-separated label has 1 to 63 characters)", name)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%q is not a DNS name (a label cannot start or end with a hyphen)", name)
		}
		for _, c := range []byte(l) {
			if c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'z') {
				return fmt.Errorf("%q is not a DNS name (letters, digits, hyphens and dots only)", name)
			}
		}
	}
	// An all-numeric top label reads as an address (RFC 3696 section 2),
	// e.g. "10.1" or "127.1", which some resolvers accept as IPv4.
	if top := labels[len(labels)-1]; strings.Trim(top, "0123456789") == "" {
		return fmt.Errorf("%q looks like an IP address; the last label must contain a letter", name)
	}
	return nil
}

// MX returns the host that is final for a mail domain: the one listing the
// domain, or its nearest parent, among its local domains. It plays DNS's
// MX lookup for the sandbox's own delivery between hosts.
func (w *World) MX(domain string) (*Host, bool) {
	domain = normalize(domain)
	var best *Host
	bestLen := -1
	for _, h := range w.hosts {
		for _, d := range h.LocalDomains {
			if (domain == d || strings.HasSuffix(domain, "."+d)) && len(d) > bestLen {
				best, bestLen = h, len(d)
			}
		}
	}
	return best, best != nil
}
