package lesson

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// fields splits s at spaces, keeping "double-quoted" parts together
// (quotes removed), also inside a word: subject="Hello there".
func fields(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	inWord, inQuote := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inWord = true
		case !inQuote && (r == ' ' || r == '\t'):
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		out = append(out, b.String())
	}
	return out, nil
}

// messageUsage is the message action's grammar, for error messages.
const messageUsage = `message from ADDR [header-from "NAME <ADDR>"] to ADDR[,ADDR] [subject "TEXT"]`

// ParseAction reads an action as written after "do:".
func ParseAction(text string) (Action, error) {
	a := Action{Text: strings.TrimSpace(text)}
	verb, rest, _ := strings.Cut(a.Text, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(verb) {
	case "connect":
		a.Kind = Connect
		f, err := fields(rest)
		if err != nil {
			return a, err
		}
		if len(f) == 0 {
			return a, errors.New("connect needs HOST:PORT")
		}
		if a.Host, a.Port, err = hostPort(f[0]); err != nil {
			return a, err
		}
		for i := 1; i < len(f); i++ {
			switch {
			case f[i] == "tls":
				a.TLS = true
			case f[i] == "under" && i+1 < len(f):
				a.Under = f[i+1]
				i++
			default:
				return a, fmt.Errorf("connect: unexpected %q (want: connect HOST:PORT [tls] [under PROFILE])", f[i])
			}
		}
	case "send":
		a.Kind = Send
		a.Command = rest
		if rest == "" {
			return a, errors.New("send needs a command line")
		}
	case "starttls":
		a.Kind = StartTLS
		if rest != "" {
			return a, errors.New("starttls takes no argument")
		}
	case "auth":
		a.Kind = Auth
		f, err := fields(rest)
		if err != nil {
			return a, err
		}
		if len(f) != 3 {
			return a, errors.New("auth needs a mechanism, a user and a password: auth plain foo barbaz")
		}
		a.Mechanism = strings.ToUpper(f[0])
		if a.Mechanism != "PLAIN" && a.Mechanism != "LOGIN" {
			return a, fmt.Errorf("auth mechanism %q: want plain or login", f[0])
		}
		a.User, a.Password = f[1], f[2]
	case "message":
		a.Kind = Message
		f, err := fields(rest)
		if err != nil {
			return a, err
		}
		for i := 0; i < len(f); i += 2 {
			if i+1 >= len(f) {
				return a, fmt.Errorf("message: %q needs a value", f[i])
			}
			v := f[i+1]
			switch f[i] {
			case "from":
				a.From = strings.Trim(v, "<>")
			case "to":
				for _, t := range strings.Split(v, ",") {
					if t = strings.Trim(strings.TrimSpace(t), "<>"); t != "" {
						a.To = append(a.To, t)
					}
				}
			case "header-from":
				// The From: header field, when it is not the envelope
				// sender (RFC 5321 §3.3 keeps the two apart).
				a.HeaderFrom = strings.TrimSpace(v)
				if !strings.Contains(v, "@") || strings.ContainsFunc(v, unicode.IsControl) {
					return a, fmt.Errorf("message: header-from %q is not an address (want ADDR or \"Name <ADDR>\")", v)
				}
			case "subject":
				a.Subject = v
			default:
				return a, fmt.Errorf("message: unexpected %q (want: %s)", f[i], messageUsage)
			}
		}
		if a.From == "" || len(a.To) == 0 {
			return a, errors.New("message needs from ADDR and to ADDR")
		}
		for _, addr := range append([]string{a.From}, a.To...) {
			if !strings.Contains(addr, "@") || strings.ContainsAny(addr, " <>") {
				return a, fmt.Errorf("message: %q is not an address", addr)
			}
		}
	case "profile":
		a.Kind = Profile
		a.ProfileName = rest
		if rest == "" || strings.Contains(rest, " ") {
			return a, errors.New("profile needs one profile name")
		}
	case "wait":
		a.Kind = Wait
		d, err := time.ParseDuration(rest)
		if err != nil || d <= 0 || d > time.Minute {
			return a, fmt.Errorf("wait needs a duration between 1ms and 1m, like 2s; got %q", rest)
		}
		a.Duration = d
	case "policy":
		// The lab's own relay policy (docs/teaching-map.md L27): lines
		// added to what the lab follows now, or back to the server's.
		a.Kind = Policy
		f, err := fields(rest)
		if err != nil {
			return a, err
		}
		if n := len(f); n >= 4 && f[n-2] == "after" {
			a.PolicyAfter, f = f[n-1], f[:n-2]
		}
		switch {
		case len(f) == 1 && f[0] == "reset" && a.PolicyAfter == "":
		case len(f) > 1 && f[0] == "add":
			a.PolicyLines = f[1:]
		default:
			return a, errors.New(`policy needs add "LINE"... [after "LINE"], or reset: policy add "relay-domain partner.test"`)
		}
	case "mailbox":
		a.Kind = Mailbox
		if rest != "" {
			return a, errors.New("mailbox takes no argument")
		}
	case "close":
		a.Kind = Close
		if rest != "" {
			return a, errors.New("close takes no argument")
		}
	default:
		return a, fmt.Errorf("unknown action %q (want connect, send, starttls, auth, message, profile, wait, mailbox or close)", verb)
	}
	return a, nil
}

func hostPort(s string) (string, int, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, fmt.Errorf("%q: want HOST:PORT", s)
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be a number from 1 to 65535", s)
	}
	return strings.ToLower(s[:i]), port, nil
}

// ParseTyped reads a line typed into the browser terminal or at a
// lesson's typed step: one grammar for both, so a line means the same in
// the playground and in a lesson. Verbs are case-insensitive:
//
//	open HOST PORT [tls|plain]  connect; TLS at once on an implicit-TLS port
//	                            (465, 993, 995; RFC 8314 §3.3) unless plain,
//	                            like openssl s_client; tls forces it anywhere
//	telnet HOST PORT            connect in plaintext, like telnet (also nc)
//	connect HOST:PORT [tls] [under PROFILE]
//	                            the lesson action: plaintext unless tls
//	                            (HOST PORT also works)
//	starttls                    STARTTLS, then the TLS handshake on 220
//	auth plain|login USER PASS  AUTH with the base64 built for you
//	message from ADDR [header-from "NAME <ADDR>"] to ADDR[,ADDR] [subject "TEXT"]
//	                            a whole message: envelope, DATA, content;
//	                            header-from writes another From: header
//	profile NAME                switch the network profile (hangs up)
//	close                       hang up without QUIT
//
// Any other line is an SMTP command sent as typed ("AUTH PLAIN AGZv..."
// included). Lines typed after a 354 are message content and are not
// parsed at all: callers send them as they are.
func ParseTyped(line string) (Action, error) {
	line = strings.TrimSpace(line)
	verb, rest, _ := strings.Cut(line, " ")
	switch v := strings.ToLower(verb); v {
	case "open", "telnet", "nc":
		host, port, mode, err := typedTarget(strings.Fields(rest))
		if err != nil {
			usage := "usage: " + v + " HOST PORT"
			if v == "open" {
				usage += " [tls|plain]"
			}
			return Action{Kind: Connect, Text: line}, fmt.Errorf("%v (%s)", err, usage)
		}
		implicit := mode == "tls" || mode == "" && v == "open" && ImplicitTLSPort(port)
		if v != "open" && mode == "tls" {
			return Action{Kind: Connect, Text: line}, fmt.Errorf("%s speaks plaintext only: open %s %d tls", v, host, port)
		}
		return Action{Kind: Connect, Text: line, Host: host, Port: port, TLS: implicit}, nil
	case "connect":
		// "connect HOST PORT [tls]" as well as "connect HOST:PORT [tls]".
		if f := strings.Fields(rest); len(f) >= 2 && !strings.Contains(f[0], ":") {
			a, err := ParseAction("connect " + f[0] + ":" + strings.Join(f[1:], " "))
			a.Text = line
			return a, err
		}
		return ParseAction(line)
	case "starttls", "profile", "close", "message", "policy":
		return ParseAction(line)
	case "auth":
		// "auth plain foo barbaz" is the helper; "AUTH PLAIN AGZv..." and
		// "AUTH LOGIN" are SMTP.
		if len(strings.Fields(rest)) == 3 {
			return ParseAction(line)
		}
	}
	if line == "" {
		return Action{Kind: Send, Text: line}, errors.New("empty line")
	}
	return Action{Kind: Send, Text: line, Command: line}, nil
}

// ImplicitTLSPort reports whether a port speaks TLS from the first byte:
// 465 submissions (RFC 8314 §7.3), 993 IMAPS and 995 POP3S (§7.2).
func ImplicitTLSPort(port int) bool { return port == 465 || port == 993 || port == 995 }

// typedTarget reads "HOST PORT [tls|plain]" or "HOST:PORT [tls|plain]".
func typedTarget(args []string) (host string, port int, mode string, err error) {
	if len(args) > 0 {
		if h, p, ok := strings.Cut(args[0], ":"); ok {
			args = append([]string{h, p}, args[1:]...)
		}
	}
	if len(args) < 2 || len(args) > 3 || args[0] == "" {
		return "", 0, "", errors.New("want a host and a port")
	}
	port, err = strconv.Atoi(args[1])
	if err != nil || port < 1 || port > 65535 {
		return "", 0, "", fmt.Errorf("bad port %q", args[1])
	}
	if len(args) == 3 {
		mode = strings.ToLower(args[2])
		if mode != "tls" && mode != "plain" {
			return "", 0, "", fmt.Errorf("unknown mode %q: use tls or plain", args[2])
		}
	}
	return strings.ToLower(args[0]), port, mode, nil
}

// parseExpect reads an expectation as written after "expect:".
func parseExpect(text string) (Expect, error) {
	e := Expect{Text: strings.TrimSpace(text)}
	f, err := fields(e.Text)
	if err != nil {
		return e, err
	}
	if len(f) == 0 {
		return e, errors.New("empty expectation")
	}
	one := func(k ExpectKind) (Expect, error) {
		e.Kind = k
		return e, nil
	}
	lower := strings.ToLower(e.Text)
	switch {
	case isCode(f[0]):
		e.Kind = Reply
		e.Code = strings.ToLower(f[0])
		rest := f[1:]
		if len(rest) > 0 && isEnhanced(rest[0]) {
			if e.Code[0] != rest[0][0] {
				return e, fmt.Errorf("enhanced code %s does not agree with reply code %s (RFC 3463: same class)", rest[0], f[0])
			}
			e.Enhanced = rest[0]
			rest = rest[1:]
		}
		if len(rest) > 1 || len(rest) == 1 && !strings.Contains(e.Text, `"`) {
			return e, fmt.Errorf("reply expectation: put the text in quotes: %s \"...\"", f[0])
		}
		if len(rest) == 1 {
			e.Contains = rest[0]
		}
		return e, nil
	case lower == "refused":
		return one(Refused)
	case lower == "timed out", lower == "timeout":
		return one(TimedOut)
	case lower == "unknown host":
		return one(UnknownHost)
	case lower == "closed":
		return one(Closed)
	case f[0] == "silent":
		e.Kind = Silent
		if len(f) != 2 {
			return e, errors.New("silent needs a duration: silent 3s")
		}
		d, err := time.ParseDuration(f[1])
		if err != nil || d <= 0 || d > 30*time.Second {
			return e, fmt.Errorf("silent: duration %q must be between 1ms and 30s", f[1])
		}
		e.Duration = d
		return e, nil
	case f[0] == "banner":
		e.Kind = Banner
		if len(f) != 2 {
			return e, errors.New(`banner needs the text in quotes: banner "* OK"`)
		}
		e.Contains = f[1]
		return e, nil
	case f[0] == "capability" || f[0] == "no" && len(f) > 1 && f[1] == "capability":
		e.Kind = Capability
		if f[0] == "no" {
			e.Kind = NoCapability
			f = f[1:]
		}
		if len(f) < 2 || len(f) > 3 {
			return e, errors.New("capability needs a keyword and at most one parameter: capability AUTH PLAIN")
		}
		e.Keyword = strings.ToUpper(f[1])
		if len(f) == 3 {
			e.Param = f[2]
		}
		return e, nil
	case f[0] == "tls" && len(f) > 1 && f[1] == "refused":
		// tls refused "TEXT": the client refused the handshake (the
		// certificate), in words containing TEXT.
		e.Kind = TLSRefused
		if len(f) != 3 || !strings.Contains(e.Text, `"`) {
			return e, errors.New(`tls refused needs the words in quotes: tls refused "is for smtp.hotel-wifi.test"`)
		}
		e.Contains = f[2]
		return e, nil
	case f[0] == "tls":
		e.Kind = TLSAtLeast
		if len(f) != 4 || f[1] != "at" || f[2] != "least" {
			return e, errors.New("tls expectation: tls at least 1.2")
		}
		v, ok := tlsVersions[f[3]]
		if !ok {
			return e, fmt.Errorf("tls version %q: want 1.0, 1.1, 1.2 or 1.3", f[3])
		}
		e.TLSVersion = v
		return e, nil
	case f[0] == "state":
		e.Kind = State
		if len(f) != 2 || !slices.Contains(StateWords, strings.ToLower(f[1])) {
			return e, fmt.Errorf("state needs one of %s: state tls", strings.Join(StateWords, ", "))
		}
		e.Word = strings.ToLower(f[1])
		return e, nil
	case f[0] == "authenticated":
		e.Kind = Authenticated
		if len(f) > 2 {
			return e, errors.New("authenticated takes at most a user name: authenticated foo")
		}
		if len(f) == 2 {
			e.Word = f[1]
		}
		return e, nil
	case f[0] == "message" || f[0] == "no" && len(f) > 1 && f[1] == "message":
		e.Kind = HasMessage
		if f[0] == "no" {
			e.Kind = NoMessage
			f = f[1:]
		}
		m, err := parseMatch(f[1:])
		e.Match = m
		return e, err
	}
	return e, fmt.Errorf("unknown expectation %q (want a reply code, refused, timed out, unknown host, silent, banner, capability, no capability, tls at least, tls refused, closed, message, no message, state or authenticated)", f[0])
}

var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

// TLSVersionAtLeast reports whether a version name ("1.3", "TLS 1.3",
// "TLSv1.3") is at least min ("1.2").
func TLSVersionAtLeast(version, min string) bool {
	v := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(version), "TLS"), "v")
	a, okA := tlsVersions[strings.TrimSpace(v)]
	b, okB := tlsVersions[min]
	return okA && okB && a >= b
}

func parseMatch(f []string) (MessageMatch, error) {
	var m MessageMatch
	if len(f) == 0 {
		return m, errors.New("message expectation needs at least one KEY=VALUE (from, to, subject, host, port, tls, tls-version, auth, relayed, header)")
	}
	seen := map[string]bool{}
	for _, kv := range f {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return m, fmt.Errorf("message expectation: %q is not KEY=VALUE", kv)
		}
		if seen[k] {
			return m, fmt.Errorf("message expectation: %s given twice", k)
		}
		seen[k] = true
		switch k {
		case "from":
			s := strings.Trim(v, "<>")
			m.From = &s
		case "to":
			m.To = strings.Trim(v, "<>")
		case "subject":
			m.Subject = v
		case "host":
			m.Host = strings.ToLower(v)
		case "port":
			p, err := strconv.Atoi(v)
			if err != nil || p < 1 || p > 65535 {
				return m, fmt.Errorf("message expectation: port %q is not a port", v)
			}
			m.Port = p
		case "tls", "relayed":
			b, err := yesNo(v)
			if err != nil {
				return m, fmt.Errorf("message expectation: %s=%s: %v", k, v, err)
			}
			if k == "tls" {
				m.TLS = &b
			} else {
				m.Relayed = &b
			}
		case "tls-version":
			if _, ok := tlsVersions[v]; !ok {
				return m, fmt.Errorf("message expectation: tls-version %q: want 1.0 to 1.3", v)
			}
			m.TLSVersion = v
		case "header":
			name, value, ok := strings.Cut(v, ":")
			if name = strings.TrimSpace(name); !ok || name == "" || strings.ContainsAny(name, " \t") {
				return m, fmt.Errorf(`message expectation: header=%q: want header="Name: text"`, v)
			}
			m.HeaderName, m.HeaderValue = name, strings.TrimSpace(value)
		case "auth":
			if v == "none" {
				v = ""
			}
			m.Auth = &v
		default:
			return m, fmt.Errorf("message expectation: unknown key %q (want from, to, subject, host, port, tls, tls-version, auth, relayed, header)", k)
		}
	}
	return m, nil
}

func yesNo(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true":
		return true, nil
	case "no", "false":
		return false, nil
	}
	return false, errors.New("want yes or no")
}

func isCode(s string) bool {
	if len(s) != 3 || s[0] < '2' || s[0] > '5' {
		return false
	}
	for _, c := range strings.ToLower(s[1:]) {
		if c != 'x' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func isEnhanced(s string) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || len(p[0]) != 1 || !strings.Contains("245", p[0]) {
		return false
	}
	for _, n := range p[1:] {
		if len(n) < 1 || len(n) > 3 {
			return false
		}
		if _, err := strconv.Atoi(n); err != nil {
			return false
		}
	}
	return true
}
