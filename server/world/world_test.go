package world

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/i18n"
)

func TestDefaultCast(t *testing.T) {
	w := Default()
	type door struct {
		port   int
		svc    Service
		policy int
	}
	want := map[string]struct {
		doors    []door
		local    []string
		starttls bool
	}{
		"legacy.mail.test":     {doors: []door{{25, SMTPRelay, 25}, {465, Submissions, 465}}, starttls: true},
		"mail.sandbox.test":    {doors: []door{{110, POP3, 0}, {143, IMAP, 0}, {993, IMAPS, 0}, {995, POP3S, 0}}, starttls: true},
		"mx.greylist.test":     {doors: []door{{25, SMTPRelay, 25}}, local: []string{"greylist.test"}, starttls: true},
		"mx.selfsigned.test":   {doors: []door{{25, SMTPRelay, 25}}, local: []string{"selfsigned.test"}, starttls: true},
		"mx.example.org":       {doors: []door{{25, SMTPRelay, 25}}, local: []string{"example.org"}, starttls: true},
		"mx.notls.test":        {doors: []door{{25, SMTPRelay, 25}}, local: []string{"notls.test"}, starttls: false},
		"mx.sandbox.test":      {doors: []door{{25, SMTPRelay, 25}}, local: []string{"sandbox.test"}, starttls: true},
		"smtp.hotel-wifi.test": {doors: []door{{25, SMTPRelay, 25}}, starttls: true},
		"smtp.relay.test":      {doors: []door{{587, Submission, 587}, {2525, Submission, 2525}}, starttls: true},
	}
	var names []string
	for _, h := range w.Hosts() {
		names = append(names, h.Name)
		wh, ok := want[h.Name]
		if !ok {
			t.Errorf("unexpected host %s", h.Name)
			continue
		}
		var got []door
		for _, d := range h.Doors {
			if d.Host != h.Name {
				t.Errorf("%s: door %d has Host %q", h.Name, d.Port, d.Host)
			}
			got = append(got, door{d.Port, d.Service, d.PolicyPort})
		}
		if !slices.Equal(got, wh.doors) {
			t.Errorf("%s doors = %v, want %v", h.Name, got, wh.doors)
		}
		if !slices.Equal(h.LocalDomains, wh.local) {
			t.Errorf("%s local domains = %v, want %v", h.Name, h.LocalDomains, wh.local)
		}
		if h.STARTTLS != wh.starttls {
			t.Errorf("%s STARTTLS = %v, want %v", h.Name, h.STARTTLS, wh.starttls)
		}
		if h.Title == "" || h.Line < 1 {
			t.Errorf("%s: title %q, line %d", h.Name, h.Title, h.Line)
		}
	}
	if len(names) != len(want) || !slices.IsSorted(names) {
		t.Errorf("hosts = %v, want the %d hosts sorted by name", names, len(want))
	}
}

func TestDoor(t *testing.T) {
	w := Default()
	tests := []struct {
		host    string
		port    int
		want    Service
		wantErr error
		msg     string
	}{
		{host: "mx.sandbox.test", port: 25, want: SMTPRelay},
		{host: "MX.Sandbox.TEST.", port: 25, want: SMTPRelay},
		{host: "smtp.relay.test", port: 587, want: Submission},
		{host: "smtp.relay.test", port: 2525, want: Submission},
		{host: "legacy.mail.test", port: 465, want: Submissions},
		{host: "mail.sandbox.test", port: 993, want: IMAPS},
		{host: "smtp.relay.test", port: 465, wantErr: ErrPortClosed, msg: "connect smtp.relay.test:465: connection refused"},
		{host: "mx.sandbox.test", port: 0, wantErr: ErrPortClosed},
		{host: "mx.sandbox.test", port: 70000, wantErr: ErrPortClosed},
		{host: "mail.sandbox.test", port: 25, wantErr: ErrPortClosed},
		{host: "gmail.com", port: 25, wantErr: ErrNoSuchHost, msg: "lookup gmail.com: no such host"},
		{host: "127.0.0.1", port: 25, wantErr: ErrNoSuchHost},
		{host: "::1", port: 25, wantErr: ErrNoSuchHost},
		{host: "[::1]", port: 25, wantErr: ErrNoSuchHost},
		{host: "localhost", port: 25, wantErr: ErrNoSuchHost},
		{host: "", port: 25, wantErr: ErrNoSuchHost},
	}
	for _, tt := range tests {
		d, err := w.Door(tt.host, tt.port)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Door(%q, %d) error = %v, want %v", tt.host, tt.port, err, tt.wantErr)
			}
			if tt.msg != "" && (err == nil || err.Error() != tt.msg) {
				t.Errorf("Door(%q, %d) error = %v, want %q", tt.host, tt.port, err, tt.msg)
			}
			continue
		}
		if err != nil || d.Service != tt.want || d.Port != tt.port {
			t.Errorf("Door(%q, %d) = %+v, %v; want a %s door", tt.host, tt.port, d, err, tt.want)
		}
	}
}

func TestHostsIsACopy(t *testing.T) {
	w := Default()
	hs := w.Hosts()
	hs[0] = nil
	if w.Hosts()[0] == nil {
		t.Fatal("Hosts returned the world's own slice")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"door before host", "# hi\ndoor 25 smtp\n", 2, "before any host"},
		{"title.LANG before host", "title.de \"Hallo\"\n", 1, "before any host"},
		{"title in an unknown language", "host a.test\n  title.fr \"Salut\"\n", 2, "want a language of"},
		{"title.LANG unquoted", "host a.test\n  title.de Hallo\n", 2, "double quotes"},
		{"duplicate host", "host a.test\nhost b.test\nhost A.test.\n", 3, "already defined at line 1"},
		{"port zero", "host a.test\n  door 0 smtp\n", 2, "not a port number"},
		{"port too big", "host a.test\n  door 65536 smtp\n", 2, "not a port number"},
		{"port not a number", "host a.test\n  door smtp 25\n", 2, "not a port number"},
		{"unknown service", "host a.test\n  door 25 smtps\n", 2, `unknown service "smtps"`},
		{"duplicate door", "host a.test\n  door 25 smtp\n  door 25 submission\n", 3, "already a smtp door"},
		{"ip literal", "host 10.0.0.1\n", 1, "IP literal"},
		{"ipv6 literal", "host ::1\n", 1, "IP literal"},
		{"localhost", "host localhost\n", 1, "local machine"},
		{"localhost subdomain", "host mx.localhost\n", 1, "local machine"},
		{"single label", "host mailhost\n", 1, "needs a dot"},
		{"numeric top label", "host 127.1\n", 1, "last label"},
		{"bad characters", "host mx_1.test\n", 1, "not a DNS name"},
		{"unknown directive", "host a.test\n  port 25 smtp\n", 2, `unknown directive "port"`},
		{"policy on imap", "host a.test\n  door 143 imap policy=25\n", 2, "takes no policy"},
		{"policy by name", "host a.test\n  door 25 smtp policy=strict\n", 2, "policy=strict is not a port number"},
		{"policy port zero", "host a.test\n  door 25 smtp policy=0\n", 2, "policy=0 is not a port number"},
		{"bad door field", "host a.test\n  door 25 smtp pol=25\n", 2, "unknown door field"},
		{"bad starttls", "host a.test\n  starttls maybe\n", 2, "not yes or no"},
		{"greylist without unit", "host a.test\n  greylist 300\n", 2, "want a duration"},
		{"greylist too short", "host a.test\n  greylist 10ms\n", 2, "want a duration"},
		{"greylist too long", "host a.test\n  greylist 2h\n", 2, "want a duration"},
		{"greylist before host", "greylist 5s\n", 1, "before any host"},
		{"bad certificate", "host a.test\n  certificate self-signed\n", 2, "want trusted or untrusted"},
		{"unquoted title", "host a.test Class\n", 1, "double quotes"},
		{"unterminated title", "host a.test \"Class\n", 1, "unterminated"},
		{"control in title", "host a.test \"a\\x00b\"\n", 1, "control characters"},
		{"bad local domain", "host a.test\n  local-domain 192.0.2.1\n", 2, "IP literal"},
		{"duplicate local domain", "host a.test\n  local-domain a.test A.test\n", 2, "listed twice"},
		{"long line", "host a.test\n" + strings.Repeat("#", 5000) + "\n", 2, "longer than"},
		{"invalid utf-8", "host a.test \"\xff\"\n", 1, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.hosts", strings.NewReader(tt.text))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want a *ParseError", err)
			}
			if pe.File != "x.hosts" || pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("Parse error = %q, want x.hosts:%d: ...%s...", err, tt.line, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "x.hosts:") {
				t.Errorf("error %q does not start with file:line", err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	text := "# a comment\r\n" +
		"HOST Mx.School.Test. \"A #1 school\"   # trailing comment\r\n" +
		"\tdoor 2526 SUBMISSION Policy=587\r\n" +
		"  title.de \"Eine Schule\"\n" +
		"door 25 smtp\n" + // indentation is optional
		"  local-domain school.test mail.school.test\n" +
		"  starttls off\n" +
		"  greylist 5m\n" +
		"  certificate UNTRUSTED\n"
	w, err := Parse("t.hosts", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	h, ok := w.Host("mx.school.test")
	if !ok {
		t.Fatal("host not found")
	}
	if h.Title != "A #1 school" || h.STARTTLS || h.Line != 2 || h.Greylist != 5*time.Minute || !h.UntrustedCert {
		t.Errorf("host = %+v", h)
	}
	if h.TitleIn("de") != "Eine Schule" || h.TitleIn("it") != h.Title {
		t.Errorf("TitleIn: de %q, it %q", h.TitleIn("de"), h.TitleIn("it"))
	}
	want := []Door{
		{Host: "mx.school.test", Port: 25, Service: SMTPRelay, PolicyPort: 25},
		{Host: "mx.school.test", Port: 2526, Service: Submission, PolicyPort: 587},
	}
	if !slices.Equal(h.Doors, want) {
		t.Errorf("doors = %+v, want %+v", h.Doors, want)
	}
	if !slices.Equal(h.LocalDomains, []string{"school.test", "mail.school.test"}) {
		t.Errorf("local domains = %v", h.LocalDomains)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "my.hosts")
	if err := os.WriteFile(path, []byte("host a.test\n door 25 smtp\n door 99999 smtp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || err.Error() != path+`:3: "99999" is not a port number (1 to 65535)` {
		t.Errorf("Load error = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	w, err := Parse("default.hosts", strings.NewReader(DefaultText()))
	if err != nil || len(w.Hosts()) != len(Default().Hosts()) {
		t.Errorf("DefaultText does not parse to Default: %v", err)
	}
}

func TestCheckHostName(t *testing.T) {
	for _, ok := range []string{"mx.sandbox.test", "MX.EXAMPLE.ORG.", "a-b.c1.test", "1.2.test"} {
		if err := CheckHostName(ok); err != nil {
			t.Errorf("CheckHostName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "a..test", "-a.test", "a-.test", "1.2.3.4", "::ffff:1.2.3.4", "[::1]", "fe80::1%eth0",
		"localhost", "LOCALHOST.", "x.localhost", "a.test:25", "a.test/x", strings.Repeat("a", 64) + ".test", strings.Repeat("a.", 127) + "test"} {
		if err := CheckHostName(bad); err == nil {
			t.Errorf("CheckHostName(%q) = nil, want an error", bad)
		}
	}
}

func FuzzParseHosts(f *testing.F) {
	f.Add(DefaultText())
	f.Add("host a.test \"t\"\n door 25 smtp policy=x\n local-domain a.test\n starttls no\n")
	f.Add("door 1 imap\n")
	f.Add("host \"\\\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		w, err := Parse("f.hosts", strings.NewReader(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.File != "f.hosts" {
				t.Fatalf("error %v is not a *ParseError with a line", err)
			}
			return
		}
		for _, h := range w.Hosts() {
			if CheckHostName(h.Name) != nil {
				t.Fatalf("accepted bad host name %q", h.Name)
			}
			if got, ok := w.Host(h.Name); !ok || got != h {
				t.Fatalf("Host(%q) does not find it", h.Name)
			}
			for _, d := range h.Doors {
				if d.Port < 1 || d.Port > 65535 || !slices.Contains(services, d.Service) {
					t.Fatalf("accepted bad door %+v", d)
				}
				if got, err := w.Door(h.Name, d.Port); err != nil || got != d {
					t.Fatalf("Door(%q, %d) = %+v, %v", h.Name, d.Port, got, err)
				}
			}
		}
	})
}

// TestDefaultTitlesTranslated keeps every built-in host titled in every
// page language (README "Languages").
func TestDefaultTitlesTranslated(t *testing.T) {
	for _, h := range Default().Hosts() {
		for _, lang := range i18n.Translations {
			if tl := h.Titles[lang]; tl == "" || tl == h.Title {
				t.Errorf("host %s has no title.%s", h.Name, lang)
			}
		}
	}
}
