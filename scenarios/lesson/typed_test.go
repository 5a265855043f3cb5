package lesson

import "testing"

// TestParseTypedForms is the one grammar of typed lines (the playground
// terminal and a lesson's typed steps both read a line with it): each
// form and the action it means.
func TestParseTypedForms(t *testing.T) {
	type want struct {
		kind      ActionKind
		host      string
		port      int
		tls       bool
		command   string
		mechanism string
		user      string
	}
	for _, tt := range []struct {
		line string
		want want
		bad  bool
	}{
		{line: "open legacy.mail.test 465", want: want{kind: Connect, host: "legacy.mail.test", port: 465, tls: true}},
		{line: "open legacy.mail.test:465", want: want{kind: Connect, host: "legacy.mail.test", port: 465, tls: true}},
		{line: "open legacy.mail.test 465 plain", want: want{kind: Connect, host: "legacy.mail.test", port: 465}},
		{line: "open Smtp.Relay.Test 587", want: want{kind: Connect, host: "smtp.relay.test", port: 587}},
		{line: "open smtp.relay.test 2525 TLS", want: want{kind: Connect, host: "smtp.relay.test", port: 2525, tls: true}},
		{line: "open mail.sandbox.test 993", want: want{kind: Connect, host: "mail.sandbox.test", port: 993, tls: true}},
		{line: "telnet legacy.mail.test 465", want: want{kind: Connect, host: "legacy.mail.test", port: 465}},
		{line: "nc mx.sandbox.test 25", want: want{kind: Connect, host: "mx.sandbox.test", port: 25}},
		{line: "connect legacy.mail.test:465", want: want{kind: Connect, host: "legacy.mail.test", port: 465}},
		{line: "connect legacy.mail.test 465 tls", want: want{kind: Connect, host: "legacy.mail.test", port: 465, tls: true}},
		{line: "STARTTLS", want: want{kind: StartTLS}},
		{line: "starttls", want: want{kind: StartTLS}},
		{line: "auth plain foo barbaz", want: want{kind: Auth, mechanism: "PLAIN", user: "foo"}},
		{line: "AUTH LOGIN foo barbaz", want: want{kind: Auth, mechanism: "LOGIN", user: "foo"}},
		{line: "AUTH PLAIN AGZvbwBiYXJiYXo=", want: want{kind: Send, command: "AUTH PLAIN AGZvbwBiYXJiYXo="}},
		{line: "AUTH LOGIN", want: want{kind: Send, command: "AUTH LOGIN"}},
		{line: "EHLO laptop.example", want: want{kind: Send, command: "EHLO laptop.example"}},
		{line: "QUIT", want: want{kind: Send, command: "QUIT"}},
		{line: "close", want: want{kind: Close}},
		{line: "profile datacenter", want: want{kind: Profile}},
		{line: `message from foo@sandbox.test to bob@sandbox.test subject "Hi there"`, want: want{kind: Message}},
		{line: "telnet legacy.mail.test 465 tls", bad: true},
		{line: "open legacy.mail.test", bad: true},
		{line: "open legacy.mail.test 70000", bad: true},
		{line: "open legacy.mail.test 465 ssl", bad: true},
		{line: "", bad: true},
	} {
		a, err := ParseTyped(tt.line)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseTyped(%q) = %+v, want an error", tt.line, a)
			}
			continue
		}
		got := want{kind: a.Kind, host: a.Host, port: a.Port, tls: a.TLS, command: a.Command, mechanism: a.Mechanism, user: a.User}
		if err != nil || got != tt.want {
			t.Errorf("ParseTyped(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}

// TestMessageHeaderFrom: the message action may write a From: header that
// is not the envelope sender, so a lesson can show that a bounce follows
// MAIL FROM; one grammar, so the terminal reads it alike.
func TestMessageHeaderFrom(t *testing.T) {
	a, err := ParseTyped(`message from bounces@lists.sandbox.test header-from "Alice <alice@example.org>" to nobody@example.org subject "Hi"`)
	if err != nil || a.Kind != Message || a.From != "bounces@lists.sandbox.test" ||
		a.HeaderFrom != "Alice <alice@example.org>" || len(a.To) != 1 || a.Subject != "Hi" {
		t.Fatalf("ParseTyped = %+v, %v", a, err)
	}
	if a, err := ParseAction("message from foo@sandbox.test to bob@sandbox.test"); err != nil || a.HeaderFrom != "" {
		t.Errorf("without header-from: HeaderFrom = %q, %v", a.HeaderFrom, err)
	}
	for _, bad := range []string{
		`message from foo@sandbox.test header-from "Alice" to bob@sandbox.test`,
		"message from foo@sandbox.test header-from \"a@b\r\nBcc: x@y\" to bob@sandbox.test",
		`message from foo@sandbox.test to bob@sandbox.test header-from`,
	} {
		if _, err := ParseAction(bad); err == nil {
			t.Errorf("ParseAction(%q): no error", bad)
		}
	}
}

// TestHeaderExpectation: a mailbox expectation may name a header field
// and text its value contains.
func TestHeaderExpectation(t *testing.T) {
	e, err := parseExpect(`message to=bob@sandbox.test header="From: Alice <alice@example.org>"`)
	if err != nil || e.Kind != HasMessage || e.Match.HeaderName != "From" || e.Match.HeaderValue != "Alice <alice@example.org>" {
		t.Fatalf("parseExpect = %+v, %v", e.Match, err)
	}
	for _, bad := range []string{`message header=From`, `message header=": x"`, `message header="Reply To: x"`} {
		if _, err := parseExpect(bad); err == nil {
			t.Errorf("parseExpect(%q): no error", bad)
		}
	}
}
