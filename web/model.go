package web

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/internal/i18n/reqlang"
)

// pageMeta is what the layout needs for every page.
type pageMeta struct {
	Title string
	Page  string // home, playground, mailbox, ports, clients, lesson, notfound
	Path  string
	// Next is the page's path and query, where the language picker
	// comes back to.
	Next    string
	Embed   bool
	Version string
	CSSURL  string
	// CommonURL is common.js, the helpers app.js and teach.js share,
	// loaded before either.
	CommonURL string
	AppURL    string
	// Origins are the parent origins an embedded page may post to.
	Origins string
	// NeedsClient marks pages that start the wasm client.
	NeedsClient bool
	Client      clientInfo
	Lesson      string
	Autoplay    bool
	// Pace is a lesson page's ?pace=MS, the gap between played steps
	// (0 to 5000 ms); "" is the player's own readable pace.
	Pace string
	// Lang is the page's language (internal/i18n.Negotiate), LangSource
	// where it came from; ExplainURL the address of its reply
	// explanations (scenarios/explain) and MessagesURL of its UI catalog
	// (internal/i18n/locales), which the wasm client fetches.
	Lang        string
	LangSource  i18n.Source
	ExplainURL  string
	MessagesURL string
	// LessonURL and LessonTextURL are the lesson file a lesson page
	// plays and its translation into the page language ("" when there
	// is none), which the wasm fetches: it carries no lessons.
	LessonURL, LessonTextURL string
	// UI is the page scripts' strings in the page language (catalog keys
	// "app.", and "teach.js." on the classroom pages), as JSON for <body
	// data-ui>, which common.js's t() reads: the CSP allows no inline
	// script.
	UI string
	// cat prints the page's UI strings in its language.
	cat *i18n.Catalog
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

// T is the page language's text for a catalog key (internal/i18n).
func (m pageMeta) T(key string, args ...any) string { return m.cat.T(key, args...) }

// Href is a link to a page of the site that keeps the page's language:
// the picker's cookie keeps it by itself, but a language chosen with
// ?lang= (an embed, where no cookie can be set, or a shared link) is
// carried in the link.
func (m pageMeta) Href(path string) templ.SafeURL {
	if m.LangSource != i18n.FromQuery {
		return templ.SafeURL(path)
	}
	frag := ""
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path, frag = path[:i], path[i:]
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return templ.SafeURL(path + sep + "lang=" + url.QueryEscape(m.Lang) + frag)
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
// Service is the door's role as the world file names its services
// (server/world), or "submission-unofficial" for 2525; its words are the
// catalog's board.role.SERVICE.
var boardPorts = []struct {
	Port    int
	Service string
	SMTP    bool
}{
	{25, "smtp", true},
	{465, "submissions", true},
	{587, "submission", true},
	{2525, "submission-unofficial", true},
	{143, "imap", false},
	{993, "imaps", false},
	{110, "pop3", false},
	{995, "pop3s", false},
}

// boardCell is one door on the port board.
type boardCell struct {
	Port int
	// Service is the door's role: the host's own service for a listed
	// door, else the board's (boardPorts); roleKey gives its words.
	Service string
	SMTP    bool
	// Listed reports whether the selected host lists this door.
	Listed bool
}

// roleKey is the catalog key of a board cell's role, e.g. board.role.smtp.
func roleKey(service string) string { return "board.role." + service }

// playgroundData is what the playground (and a lesson's terminal) shows.
type playgroundData struct {
	Profiles []Profile
	Hosts    []Host
	Profile  string
	Host     string
	Board    []boardCell
	// Lang is the page language, for the profiles' descriptions.
	Lang string
}

func (s *site) playgroundData(r *http.Request) playgroundData {
	d := playgroundData{Profiles: s.cfg.Profiles, Hosts: s.cfg.Hosts}
	d.Lang, _ = reqlang.Of(r)
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

// portFact is one row of the ports reference (docs/teaching-map.md
// summary); its texts are catalog keys (internal/i18n/locales).
type portFact struct {
	Port    int
	Role    string
	TLS     string
	Verdict string
	History string
}

var portFacts = []portFact{
	{25, "ports.25.role", "ports.25.tls", "ports.25.verdict", "ports.25.history"},
	{465, "ports.465.role", "ports.465.tls", "ports.465.verdict", "ports.465.history"},
	{587, "ports.587.role", "ports.587.tls", "ports.587.verdict", "ports.587.history"},
	{2525, "ports.2525.role", "ports.2525.tls", "ports.2525.verdict", "ports.2525.history"},
}

// clientRecipe shows how to reach one real listener with real tools.
type clientRecipe struct {
	Listener Listener
	Host     string // the real host name or address to connect to
	Port     string // the real port
	Security string // Thunderbird's "Connection security" (a catalog key)
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
			rc.Security = "clients.security.implicit"
			swaks = append(swaks, "--tlsc")
			curl = append(curl, "--url smtps://"+simulated+":"+strconv.Itoa(l.LessonPort))
			rc.OpenSSL = "openssl s_client -connect " + addr + " -servername " + simulated +
				" -verify_hostname " + simulated + " -CAfile portlab-ca.pem -crlf"
		case "none", "":
			rc.Security = "clients.security.none"
			curl = append(curl, "--url smtp://"+simulated+":"+strconv.Itoa(l.LessonPort))
		default:
			rc.Security = "clients.security.starttls"
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
