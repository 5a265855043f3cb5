package web

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// pageMeta is what the layout needs for every page.
type pageMeta struct {
	Title   string
	Page    string // home, playground, mailbox, ports, clients, lesson, notfound
	Path    string
	Embed   bool
	Version string
	CSSURL  string
	AppURL  string
	// Origins are the parent origins an embedded page may post to.
	Origins string
	// NeedsClient marks pages that start the wasm client.
	NeedsClient bool
	Client      clientInfo
	Lesson      string
	Autoplay    bool
	// Lang is the page's language; ExplainURL the address of its reply
	// explanations (scenarios/explain), which the wasm client fetches.
	Lang       string
	ExplainURL string
	// Theme is an embedded page's ?theme= (light or dark), which overrides
	// the reader's prefers-color-scheme; "" follows it.
	Theme string
	// Profiles are the network profiles' names, which an embedded page's
	// parent may switch the lab to.
	Profiles string
	// FullURL is the full page an embedded one stands for ("Open in
	// portlab").
	FullURL string
	// ProjectorCSS is the projector stylesheet's address on a page shown
	// in projector mode (/teach/project), "" elsewhere.
	ProjectorCSS string
}

// clientInfo says whether the wasm client is embedded and where.
type clientInfo struct {
	Built    bool
	WasmURL  string
	ExecURL  string
	WasmSize int64
}

// boardPorts are the doors the port board shows, in order: the four SMTP
// ports of the lessons, then the mail retrieval doors (docs/teaching-map.md L1).
var boardPorts = []struct {
	Port    int
	Service string
	SMTP    bool
}{
	{25, "SMTP relay", true},
	{465, "SMTPS (implicit TLS)", true},
	{587, "submission", true},
	{2525, "unofficial submission", true},
	{143, "IMAP", false},
	{993, "IMAPS", false},
	{110, "POP3", false},
	{995, "POP3S", false},
}

// boardCell is one door on the port board.
type boardCell struct {
	Port    int
	Service string
	SMTP    bool
	// Listed reports whether the selected host lists this door.
	Listed bool
}

// playgroundData is what the playground (and a lesson's terminal) shows.
type playgroundData struct {
	Profiles []Profile
	Hosts    []Host
	Profile  string
	Host     string
	Board    []boardCell
}

func (s *site) playgroundData(r *http.Request) playgroundData {
	d := playgroundData{Profiles: s.cfg.Profiles, Hosts: s.cfg.Hosts}
	d.Profile = pick(r.URL.Query().Get("profile"), len(d.Profiles), func(i int) string { return d.Profiles[i].Name }, s.cfg.DefaultProfile)
	d.Host = pick(r.URL.Query().Get("host"), len(d.Hosts), func(i int) string { return d.Hosts[i].Name }, "smtp.relay.test")
	var doors []Door
	for _, h := range d.Hosts {
		if h.Name == d.Host {
			doors = h.Doors
		}
	}
	for _, p := range boardPorts {
		c := boardCell{Port: p.Port, Service: p.Service, SMTP: p.SMTP}
		for _, door := range doors {
			if door.Port == p.Port {
				c.Listed = true
				if door.Service != "" {
					c.Service = door.Service
				}
			}
		}
		d.Board = append(d.Board, c)
	}
	return d
}

// pick returns want when it is one of the n names, else preferred when it
// is one of them, else the first name, else preferred.
func pick(want string, n int, name func(int) string, preferred string) string {
	found := func(s string) bool {
		for i := range n {
			if name(i) == s {
				return true
			}
		}
		return false
	}
	switch {
	case want != "" && found(want):
		return want
	case found(preferred) || n == 0:
		return preferred
	}
	return name(0)
}

// portFact is one row of the ports reference (docs/teaching-map.md summary).
type portFact struct {
	Port    int
	Role    string
	TLS     string
	Verdict string
	History string
}

var portFacts = []portFact{
	{25, "server-to-server relay; receiving bounces and feedback-loop reports",
		"optional STARTTLS", "never for submission: only between mail servers; often blocked outbound by ISPs and cloud hosts",
		"Assigned by RFC 821 (1982) and still IANA's SMTP port: MX to MX traffic."},
	{465, "submission with implicit TLS (\"submissions\")",
		"implicit TLS, from the first byte", "submission, with the client requiring TLS; RFC 8314 prefers implicit TLS",
		"Registered in 1997 as \"smtps\", revoked in 1998 in favour of STARTTLS (RFC 2487, 1999; RFC 3207, 2002), since an MX record cannot name a port (RFC 8314 §7.3); registered again by RFC 8314 (2018) as \"submissions\"."},
	{587, "submission: a client or app hands a new message to its provider",
		"STARTTLS, required before AUTH", "submission, with the client requiring STARTTLS",
		"RFC 2476 (1998, now RFC 6409) split submission from relay."},
	{2525, "alternative submission: a vendor convention, not an SMTP port",
		"STARTTLS", "the fallback when 465 and 587 are both blocked, if the provider offers it",
		"A vendor convention, not an SMTP port: assigned by neither IANA nor the IETF; offered by many delivery services."},
}

// clientRecipe shows how to reach one real listener with real tools.
type clientRecipe struct {
	Listener Listener
	Host     string // the real host name or address to connect to
	Port     string // the real port
	Security string // Thunderbird's "Connection security"
	Swaks    string
	OpenSSL  string
	Curl     string
	Telnet   string
}

func (s *site) clientRecipes(r *http.Request) []clientRecipe {
	reqHost := r.Host
	if h, _, err := net.SplitHostPort(reqHost); err == nil {
		reqHost = h
	}
	if reqHost == "" {
		reqHost = "127.0.0.1"
	}
	var out []clientRecipe
	for _, l := range s.cfg.Listeners {
		host, port, err := net.SplitHostPort(l.Addr)
		if err != nil {
			host, port = l.Addr, strconv.Itoa(l.LessonPort)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = reqHost
		}
		addr := net.JoinHostPort(host, port)
		simulated := l.Host
		if simulated == "" {
			simulated = "smtp.relay.test"
		}
		rc := clientRecipe{Listener: l, Host: host, Port: port}
		rcpt := "student@sandbox.test"
		auth := l.Auth == "required" || l.Auth == "offered"
		var swaks, curl []string
		swaks = append(swaks, "swaks --server "+addr, "--from you@example.com", "--to "+rcpt)
		curl = append(curl, "curl --connect-to "+simulated+":"+strconv.Itoa(l.LessonPort)+":"+addr)
		switch l.TLS {
		case "implicit":
			rc.Security = "SSL/TLS"
			swaks = append(swaks, "--tlsc")
			curl = append(curl, "--url smtps://"+simulated+":"+strconv.Itoa(l.LessonPort))
			rc.OpenSSL = "openssl s_client -connect " + addr + " -servername " + simulated +
				" -verify_hostname " + simulated + " -CAfile portlab-ca.pem -crlf"
		case "none", "":
			rc.Security = "None"
			curl = append(curl, "--url smtp://"+simulated+":"+strconv.Itoa(l.LessonPort))
		default:
			rc.Security = "STARTTLS"
			swaks = append(swaks, "--tls")
			curl = append(curl, "--url smtp://"+simulated+":"+strconv.Itoa(l.LessonPort), "--ssl-reqd")
			rc.OpenSSL = "openssl s_client -connect " + addr + " -starttls smtp -servername " + simulated +
				" -verify_hostname " + simulated + " -CAfile portlab-ca.pem -crlf"
		}
		if l.TLS != "none" && l.TLS != "" {
			swaks = append(swaks, "--tls-verify --tls-ca-path portlab-ca.pem")
			curl = append(curl, "--cacert portlab-ca.pem")
		}
		if auth {
			swaks = append(swaks, "--auth LOGIN --auth-user foo --auth-password barbaz")
			curl = append(curl, "--user foo:barbaz")
		}
		curl = append(curl, "--mail-from you@example.com", "--mail-rcpt "+rcpt, "--upload-file message.txt")
		rc.Swaks = strings.Join(swaks, " \\\n    ")
		rc.Curl = strings.Join(curl, " \\\n    ")
		rc.Telnet = "telnet " + host + " " + port
		out = append(out, rc)
	}
	return out
}
