// Package policy holds the rules each SMTP port of the sandbox follows:
// which role it plays (relay or submission), how TLS and AUTH work there,
// which domains and networks may relay, and the limits. The rules come from
// one text file whose directives borrow real MTAs' names, so that what a
// student reads here transfers to a real server (docs/teaching-map.md L11).
package policy

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portlab/portlab/server/internal/textfile"
)

// Role is what a listener is for.
type Role string

const (
	// RoleRelay is server-to-server transfer and MX duty (port 25).
	RoleRelay Role = "relay"
	// RoleSubmission is a mail client handing a new message to its
	// provider (RFC 6409; ports 587, 2525 and 465).
	RoleSubmission Role = "submission"
)

// TLSMode is how a listener offers TLS.
type TLSMode string

const (
	TLSNone     TLSMode = "none"     // no TLS at all
	TLSStartTLS TLSMode = "starttls" // upgrade in band (RFC 3207)
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (RFC 8314)
)

// AuthMode is whether a listener offers and needs SMTP AUTH (RFC 4954).
type AuthMode string

const (
	AuthNone     AuthMode = "none"     // not offered; AUTH gets 503
	AuthOptional AuthMode = "optional" // offered; relaying still needs it
	AuthRequired AuthMode = "required" // no mail without it
)

// Listener is one lesson port and its rules.
type Listener struct {
	Port int
	// Host is the simulated host name the port plays for real TCP clients:
	// it greets with this name and presents a certificate for it.
	Host                 string
	Role                 Role
	TLS                  TLSMode
	RequireTLSBeforeAuth bool
	Auth                 AuthMode
	Mechanisms           []string
	Line                 int // where it is defined, for messages
}

// Limits bound what one client can make the relay do.
type Limits struct {
	MaxMessageBytes         int64
	MaxRecipients           int
	MaxLineLength           int
	IdleTimeout             time.Duration
	MaxErrors               int
	MaxConnectionsPerClient int
	// MaxConnections caps SMTP connections overall; 0 lets the relay
	// derive it from the open-file limit (max-connections auto).
	MaxConnections    int
	MaxAuthFailures   int
	AuthFailureWindow time.Duration
	MailboxSize       int
}

// Outbound is how the relay delivers to one destination domain
// (docs/teaching-map.md L8, PowerMTA's <domain> blocks).
type Outbound struct {
	Domain string
	// UseSTARTTLS: use STARTTLS when the remote offers it (opportunistic).
	UseSTARTTLS bool
	// RequireSTARTTLS: deliver only over TLS; otherwise abandon the
	// delivery and bounce the message.
	RequireSTARTTLS bool
}

// Policy is the whole relay configuration.
type Policy struct {
	// UnknownRecipients matches addresses that do not exist in the
	// domains the sandbox's hosts are final for: they get 550 5.1.1.
	UnknownRecipients *regexp.Regexp
	Outbound          []Outbound
	LocalDomains      []string
	RelayDomains      []string
	RelayAddresses    []*regexp.Regexp
	TrustedNetworks   []netip.Prefix
	Accounts          map[string]string
	Limits            Limits
	Listeners         []Listener

	// at is the line of each top-level directive (an account's as
	// "account USER"), and end the file's last line: a lab policy's
	// check (lab.go) names where a lab oversteps.
	at  map[string]int
	end int
}

//go:embed default.policy
var defaultText string

// DefaultText is the built-in policy file, a starting point for a teacher's
// own (`portlab policy` prints it).
func DefaultText() string { return defaultText }

// Default returns the built-in policy.
func Default() *Policy {
	p, err := Parse("default.policy", strings.NewReader(defaultText))
	if err != nil {
		panic(err) // the embedded file is tested; this is a build defect
	}
	return p
}

// Load reads a policy file.
func Load(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

// Listener returns the rules for a lesson port.
func (p *Policy) Listener(port int) (Listener, bool) {
	for _, l := range p.Listeners {
		if l.Port == port {
			return l, true
		}
	}
	return Listener{}, false
}

// IsLocal reports whether the sandbox is the final destination for domain:
// the domain or one of its parents is a local domain.
func (p *Policy) IsLocal(domain string) bool { return InDomains(p.LocalDomains, domain) }

// MayRelayTo reports whether anyone may send to addr because its domain or
// address is listed for relaying (docs/teaching-map.md L3, way c).
func (p *Policy) MayRelayTo(addr string) bool {
	_, domain, _ := strings.Cut(addr, "@")
	if InDomains(p.RelayDomains, domain) {
		return true
	}
	for _, re := range p.RelayAddresses {
		if re.MatchString(addr) {
			return true
		}
	}
	return false
}

// OutboundFor returns the delivery rules for a domain: the most specific
// <domain> block (the domain or a parent), else opportunistic STARTTLS.
func (p *Policy) OutboundFor(domain string) Outbound {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	best := Outbound{Domain: domain, UseSTARTTLS: true}
	bestLen := -1
	for _, o := range p.Outbound {
		if InDomains([]string{o.Domain}, domain) && len(o.Domain) > bestLen {
			best, bestLen = o, len(o.Domain)
		}
	}
	return best
}

// Trusted reports whether a client address is in a network that may always
// relay (docs/teaching-map.md L3, way b).
func (p *Policy) Trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, n := range p.TrustedNetworks {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// InDomains reports whether domain is one of list (lower-case names) or a
// subdomain of one.
func InDomains(list []string, domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	for _, d := range list {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// ParseError says where a policy file is wrong.
type ParseError = textfile.Error

// Parse reads a policy. Errors are *ParseError values naming file and line.
func Parse(name string, r io.Reader) (*Policy, error) {
	p, errs := parse(name, r, false)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return p, nil
}

// maxErrors bounds the errors one check reports, as a compiler stops
// listing after a screenful.
const maxErrors = 20

// parse reads a policy; with all it goes on past an error to report the
// others too (the lab editor lists them), else it stops at the first.
func parse(name string, r io.Reader, all bool) (*Policy, []*ParseError) {
	p := &Policy{
		Accounts: map[string]string{},
		Limits: Limits{
			MaxMessageBytes:         10 << 20,
			MaxRecipients:           50,
			MaxLineLength:           1000,
			IdleTimeout:             5 * time.Minute,
			MaxErrors:               20,
			MaxConnectionsPerClient: 50,
			MaxAuthFailures:         10,
			AuthFailureWindow:       10 * time.Minute,
			MailboxSize:             1000,
		},
		at: map[string]int{},
	}
	ps := parser{file: name, p: p}
	var errs []*ParseError
	add := func(err error) bool {
		var pe *ParseError
		if !errors.As(err, &pe) {
			pe = &ParseError{File: name, Line: ps.line, Msg: err.Error()}
		}
		errs = append(errs, pe)
		return all && len(errs) < maxErrors
	}
	errStop := errors.New("stop")
	last, err := textfile.Lines(name, r, func(n int, text string) error {
		ps.line = n
		if err := ps.parseLine(text); err != nil && !add(err) {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		add(err) // the file's bounds: nothing more to read
		return nil, errs
	}
	if len(errs) > 0 && !all {
		return nil, errs
	}
	ps.line = last + 1
	p.end = last
	if ps.block != "" {
		add(ps.errf("<%s> opened at line %d is never closed", ps.block, ps.blockLine))
	}
	for _, l := range p.Listeners {
		if l.Host == "" {
			add(&ParseError{File: name, Line: l.Line, Msg: fmt.Sprintf("listener %d needs a host", l.Port)})
		}
		if l.RequireTLSBeforeAuth && l.TLS != TLSStartTLS {
			add(&ParseError{File: name, Line: l.Line, Msg: "require-starttls-before-auth needs tls starttls"})
		}
		if l.Auth != AuthNone && len(l.Mechanisms) == 0 {
			add(&ParseError{File: name, Line: l.Line, Msg: "auth " + string(l.Auth) + " needs auth-mechanisms"})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return p, nil
}

type parser struct {
	file      string
	line      int
	p         *Policy
	block     string // "listener", "source" or "domain" while inside one
	blockLine int
	// bad marks a block whose opening tag was wrong: its directives are
	// still checked, but the block adds nothing (and its closing tag is
	// no second error).
	bad      bool
	listener *Listener
	source   netip.Prefix
	outbound *Outbound
}

func (ps *parser) errf(format string, args ...any) error {
	return &ParseError{File: ps.file, Line: ps.line, Msg: fmt.Sprintf(format, args...)}
}

func (ps *parser) parseLine(text string) error {
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	if strings.HasPrefix(text, "<") {
		return ps.parseTag(text)
	}
	fields := strings.Fields(text)
	name, args := strings.ToLower(fields[0]), fields[1:]
	switch ps.block {
	case "listener":
		return ps.listenerDirective(name, args)
	case "source":
		return ps.sourceDirective(name, args)
	case "domain":
		return ps.domainDirective(name, args)
	}
	return ps.topDirective(name, args)
}

func (ps *parser) parseTag(text string) error {
	if !strings.HasSuffix(text, ">") {
		return ps.errf("%q: a tag ends with >", text)
	}
	inner := strings.Fields(text[1 : len(text)-1])
	if len(inner) == 0 {
		return ps.errf("empty tag")
	}
	tag := strings.ToLower(inner[0])
	if strings.HasPrefix(tag, "/") {
		want := strings.TrimPrefix(tag, "/")
		if ps.block == "" || want != ps.block || len(inner) != 1 {
			return ps.errf("%s does not close an open block", text)
		}
		if !ps.bad {
			switch ps.block {
			case "listener":
				ps.p.Listeners = append(ps.p.Listeners, *ps.listener)
			case "domain":
				ps.p.Outbound = append(ps.p.Outbound, *ps.outbound)
			}
		}
		ps.block, ps.bad, ps.listener, ps.outbound = "", false, nil, nil
		return nil
	}
	if ps.block != "" {
		return ps.errf("<%s> inside <%s> (opened at line %d)", tag, ps.block, ps.blockLine)
	}
	if tag != "listener" && tag != "source" && tag != "domain" {
		return ps.errf("unknown block <%s> (want <listener PORT>, <source CIDR> or <domain NAME>)", tag)
	}
	// The block opens even when its argument is wrong, so that its
	// directives and its closing tag are read as such (one error, not a
	// cascade); a bad block adds nothing to the policy.
	ps.block, ps.blockLine = tag, ps.line
	ps.listener = &Listener{Role: RoleSubmission, TLS: TLSStartTLS, Auth: AuthNone, Line: ps.line}
	ps.outbound = &Outbound{UseSTARTTLS: true}
	ps.source = netip.Prefix{}
	err := ps.openBlock(tag, inner[1:])
	ps.bad = err != nil
	return err
}

// openBlock reads the argument of a block's opening tag.
func (ps *parser) openBlock(tag string, args []string) error {
	if len(args) != 1 {
		return ps.errf("<%s> takes one argument", tag)
	}
	switch tag {
	case "listener":
		port, err := parsePort(args[0])
		if err != nil {
			return ps.errf("%v", err)
		}
		if _, dup := ps.p.Listener(port); dup {
			return ps.errf("listener %d is defined twice", port)
		}
		ps.listener.Port = port
	case "source":
		pfx, err := parsePrefix(args[0])
		if err != nil {
			return ps.errf("%v", err)
		}
		ps.source = pfx
	case "domain":
		if !validDomain(args[0]) {
			return ps.errf("%q is not a domain name", args[0])
		}
		ps.outbound.Domain = strings.ToLower(strings.TrimSuffix(args[0], "."))
	}
	return nil
}

func (ps *parser) topDirective(name string, args []string) error {
	p := ps.p
	p.at[name] = ps.line
	one := func() (string, error) {
		if len(args) != 1 {
			return "", ps.errf("%s takes one value", name)
		}
		return args[0], nil
	}
	switch name {
	case "local-domain", "relay-domain":
		if len(args) == 0 {
			return ps.errf("%s needs at least one domain", name)
		}
		for _, d := range args {
			if !validDomain(d) {
				return ps.errf("%q is not a domain name", d)
			}
			d = strings.ToLower(strings.TrimSuffix(d, "."))
			if name == "local-domain" {
				p.LocalDomains = append(p.LocalDomains, d)
			} else {
				p.RelayDomains = append(p.RelayDomains, d)
			}
		}
	case "unknown-recipients":
		v, err := one()
		if err != nil {
			return err
		}
		if len(v) < 2 || v[0] != '/' || v[len(v)-1] != '/' {
			return ps.errf("unknown-recipients takes a /regular expression/")
		}
		re, err := regexp.Compile("(?i)" + v[1:len(v)-1])
		if err != nil {
			return ps.errf("unknown-recipients: %v", err)
		}
		p.UnknownRecipients = re
	case "relay-address":
		v, err := one()
		if err != nil {
			return err
		}
		if len(v) < 2 || v[0] != '/' || v[len(v)-1] != '/' {
			return ps.errf("relay-address takes a /regular expression/")
		}
		re, err := regexp.Compile("(?i)" + v[1:len(v)-1])
		if err != nil {
			return ps.errf("relay-address: %v", err)
		}
		p.RelayAddresses = append(p.RelayAddresses, re)
	case "account":
		if len(args) != 2 {
			return ps.errf("account takes a user name and a password")
		}
		if _, dup := p.Accounts[args[0]]; dup {
			return ps.errf("account %q is defined twice", args[0])
		}
		p.Accounts[args[0]] = args[1]
		p.at["account "+args[0]] = ps.line
	case "max-message-size":
		v, err := one()
		if err != nil {
			return err
		}
		n, err := parseSize(v)
		if err != nil {
			return ps.errf("%s: %v", name, err)
		}
		if n >= 1<<32 {
			// SIZE= is read as a 32-bit number (go-smtp): a larger limit
			// could not be announced and checked as one.
			return ps.errf("%s: %q is not below 4GiB", name, v)
		}
		p.Limits.MaxMessageBytes = n
	case "idle-timeout", "auth-failure-window":
		v, err := one()
		if err != nil {
			return err
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return ps.errf("%s: %q is not a positive duration such as 30s or 5m", name, v)
		}
		if name == "idle-timeout" {
			p.Limits.IdleTimeout = d
		} else {
			p.Limits.AuthFailureWindow = d
		}
	case "max-connections":
		v, err := one()
		if err != nil {
			return err
		}
		if v == "auto" {
			p.Limits.MaxConnections = 0
			break
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1<<24 {
			return ps.errf("%s: %q is not auto or a whole number from 1 to %d", name, v, 1<<24)
		}
		p.Limits.MaxConnections = n
	case "max-recipients", "max-line-length", "max-errors", "max-connections-per-client",
		"max-auth-failures-per-client", "mailbox-size":
		v, err := one()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1<<24 {
			return ps.errf("%s: %q is not a whole number from 1 to %d", name, v, 1<<24)
		}
		switch name {
		case "max-recipients":
			p.Limits.MaxRecipients = n
		case "max-line-length":
			// RFC 5321 4.5.3.1.6: 1000 octets is the least a server must take.
			if n < 1000 {
				return ps.errf("max-line-length below 1000 breaks RFC 5321 4.5.3.1.6")
			}
			p.Limits.MaxLineLength = n
		case "max-errors":
			p.Limits.MaxErrors = n
		case "max-connections-per-client":
			p.Limits.MaxConnectionsPerClient = n
		case "max-auth-failures-per-client":
			p.Limits.MaxAuthFailures = n
		case "mailbox-size":
			p.Limits.MailboxSize = n
		}
	default:
		return ps.errf("unknown directive %q", name)
	}
	return nil
}

func (ps *parser) listenerDirective(name string, args []string) error {
	l := ps.listener
	if len(args) == 0 {
		return ps.errf("%s needs a value", name)
	}
	v := strings.ToLower(args[0])
	if name != "auth-mechanisms" && len(args) != 1 {
		return ps.errf("%s takes one value", name)
	}
	switch name {
	case "host":
		if !validDomain(v) {
			return ps.errf("%q is not a host name", args[0])
		}
		l.Host = v
	case "role":
		if v != string(RoleRelay) && v != string(RoleSubmission) {
			return ps.errf("role is relay or submission, not %q", v)
		}
		l.Role = Role(v)
	case "tls":
		switch TLSMode(v) {
		case TLSNone, TLSStartTLS, TLSImplicit:
			l.TLS = TLSMode(v)
		default:
			return ps.errf("tls is none, starttls or implicit, not %q", v)
		}
	case "auth":
		switch AuthMode(v) {
		case AuthNone, AuthOptional, AuthRequired:
			l.Auth = AuthMode(v)
		default:
			return ps.errf("auth is none, optional or required, not %q", v)
		}
	case "require-starttls-before-auth":
		b, err := parseBool(v)
		if err != nil {
			return ps.errf("%s: %v", name, err)
		}
		l.RequireTLSBeforeAuth = b
	case "auth-mechanisms":
		l.Mechanisms = nil
		for _, m := range args {
			m = strings.ToUpper(m)
			if !slices.Contains([]string{"PLAIN", "LOGIN", "CRAM-MD5"}, m) {
				return ps.errf("unknown AUTH mechanism %q (PLAIN, LOGIN, CRAM-MD5)", m)
			}
			l.Mechanisms = append(l.Mechanisms, m)
		}
	default:
		return ps.errf("unknown listener directive %q", name)
	}
	return nil
}

func (ps *parser) sourceDirective(name string, args []string) error {
	if name != "always-allow-relaying" {
		return ps.errf("unknown source directive %q (want always-allow-relaying)", name)
	}
	if len(args) != 1 {
		return ps.errf("%s takes yes or no", name)
	}
	b, err := parseBool(strings.ToLower(args[0]))
	if err != nil {
		return ps.errf("%s: %v", name, err)
	}
	if b && !ps.bad {
		ps.p.TrustedNetworks = append(ps.p.TrustedNetworks, ps.source)
	}
	return nil
}

func (ps *parser) domainDirective(name string, args []string) error {
	if len(args) != 1 {
		return ps.errf("%s takes yes or no", name)
	}
	b, err := parseBool(strings.ToLower(args[0]))
	if err != nil {
		return ps.errf("%s: %v", name, err)
	}
	switch name {
	case "use-starttls":
		ps.outbound.UseSTARTTLS = b
	case "require-starttls":
		ps.outbound.RequireSTARTTLS = b
		if b {
			ps.outbound.UseSTARTTLS = true
		}
	default:
		return ps.errf("unknown domain directive %q (want use-starttls or require-starttls)", name)
	}
	return nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1 to 65535)", s)
	}
	return n, nil
}

// parsePrefix takes CIDR, a bare address, or PowerMTA's "0/0" for anyone.
func parsePrefix(s string) (netip.Prefix, error) {
	if s == "0/0" {
		return netip.MustParsePrefix("0.0.0.0/0"), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network", s)
	}
	return p.Masked(), nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "yes", "true", "on":
		return true, nil
	case "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", s)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 10485760 or 10MiB", s)
	}
	return n * mult, nil
}

// validDomain accepts DNS names of letters, digits, hyphens and dots; it
// refuses IP literals, which the sandbox never treats as mail domains.
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}
