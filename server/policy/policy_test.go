package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestDefaultPolicy(t *testing.T) {
	p := Default()
	want := map[int]struct {
		host string
		role Role
		tls  TLSMode
		auth AuthMode
		req  bool
	}{
		25:   {"mx.sandbox.test", RoleRelay, TLSStartTLS, AuthNone, false},
		465:  {"legacy.mail.test", RoleSubmission, TLSImplicit, AuthRequired, false},
		587:  {"smtp.relay.test", RoleSubmission, TLSStartTLS, AuthRequired, true},
		2525: {"smtp.relay.test", RoleSubmission, TLSStartTLS, AuthRequired, true},
	}
	if len(p.Listeners) != len(want) {
		t.Fatalf("%d listeners, want %d", len(p.Listeners), len(want))
	}
	for port, w := range want {
		l, ok := p.Listener(port)
		if !ok {
			t.Fatalf("no listener %d", port)
		}
		if l.Host != w.host || l.Role != w.role || l.TLS != w.tls || l.Auth != w.auth || l.RequireTLSBeforeAuth != w.req {
			t.Errorf("listener %d = %+v, want %+v", port, l, w)
		}
	}
	if p.Accounts["foo"] != "barbaz" {
		t.Errorf("demo account foo/barbaz missing: %v", p.Accounts)
	}
	if !p.IsLocal("sandbox.test") || !p.IsLocal("Class1.Sandbox.Test.") || p.IsLocal("notsandbox.test") || p.IsLocal("example.org") {
		t.Error("local domain matching is wrong")
	}
	if !p.Trusted(netip.MustParseAddr("10.0.5.20")) || p.Trusted(netip.MustParseAddr("127.0.0.1")) {
		t.Error("trusted networks: 10.0.5.20 must be trusted, loopback must not")
	}
	if !p.MayRelayTo("x@backup.sandbox.test") || p.MayRelayTo("x@example.org") {
		t.Error("relay-domain matching is wrong")
	}
	if p.Limits.MaxMessageBytes != 10<<20 || p.Limits.IdleTimeout != 5*time.Minute || p.Limits.MaxConnections != 0 {
		t.Errorf("limits = %+v (max-connections auto is 0)", p.Limits)
	}
	q, err := Parse("t", strings.NewReader("max-connections 300\n"))
	if err != nil || q.Limits.MaxConnections != 300 {
		t.Errorf("max-connections 300: %+v, %v", q.Limits, err)
	}
}

func TestParseRelayAddress(t *testing.T) {
	p, err := Parse("t", strings.NewReader("relay-address /@foo(bar)?\\.com$/\n"))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"a@foo.com": true, "a@FOOBAR.com": true, "a@foobaz.com": false} {
		if got := p.MayRelayTo(addr); got != want {
			t.Errorf("MayRelayTo(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		msg        string
	}{
		{"unknown", "\n\nfrobnicate yes\n", 3, "unknown directive"},
		{"bad port", "<listener 70000>\n", 1, "not a port number"},
		{"unclosed", "<listener 25>\n host mx.test\n", 3, "never closed"},
		{"bad tls", "<listener 25>\n host mx.test\n tls sometimes\n</listener>\n", 3, "tls is none"},
		{"no host", "\n<listener 25>\n</listener>\n", 2, "needs a host"},
		{"dup listener", "<listener 25>\nhost a.test\n</listener>\n<listener 25>\n", 4, "defined twice"},
		{"starttls rule needs starttls", "<listener 465>\nhost a.test\ntls implicit\nrequire-starttls-before-auth yes\n</listener>\n", 1, "needs tls starttls"},
		{"bad cidr", "<source 10.0.0.0/99>\n", 1, "not an address"},
		{"bad size", "max-message-size lots\n", 1, "not a size"},
		{"tiny line", "max-line-length 80\n", 1, "RFC 5321"},
		{"ip domain", "local-domain 10.1.2.3\n", 1, "not a domain"},
		{"bad regexp", "relay-address /(/\n", 1, "relay-address"},
		{"nested", "<listener 25>\n<source 0/0>\n", 2, "inside"},
		{"stray close", "</listener>\n", 1, "does not close"},
		{"bad mech", "<listener 587>\nauth-mechanisms PLAIN XOAUTH9\n", 2, "unknown AUTH mechanism"},
		{"long line", strings.Repeat("x", 5000) + "\n", 1, "longer than"},
		{"size over 32 bits", "max-message-size 4GiB\n", 1, "below 4GiB"},
		{"bad max-connections", "max-connections lots\n", 1, "auto or a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("my.policy", strings.NewReader(tc.text))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.File != "my.policy" || pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("err = %v, want my.policy:%d: ...%s...", err, tc.line, tc.msg)
			}
		})
	}
}

// FuzzParse checks the parser never panics and that every error names a
// line of the file.
func FuzzParse(f *testing.F) {
	f.Add(DefaultText())
	f.Add("<listener 25>\nhost a.test\n</listener>\n")
	f.Add("<source 0/0>\nalways-allow-relaying yes\n</source>\nmax-message-size 1KiB\n")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse("fuzz", strings.NewReader(text))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		for _, l := range p.Listeners {
			if l.Host == "" || l.Port < 1 || l.Port > 65535 {
				t.Fatalf("accepted a listener without host or port: %+v", l)
			}
		}
	})
}
