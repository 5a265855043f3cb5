package scenarios

import (
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// check judges an outcome against the step's expectations and returns
// why it fails, or "" when every expectation holds.
func (r *run) check(st *lesson.Step, out *outcome) string {
	if out.err != nil {
		return out.err.Error()
	}
	var reasons []string
	dialExpected, missing := false, false
	for _, e := range st.Expect {
		var why string
		switch e.Kind {
		case lesson.Reply:
			why = checkReply(e, out)
		case lesson.Refused, lesson.TimedOut, lesson.UnknownHost:
			dialExpected = true
			want := map[lesson.ExpectKind]error{
				lesson.Refused: tunnel.ErrRefused, lesson.TimedOut: tunnel.ErrTimedOut, lesson.UnknownHost: tunnel.ErrUnknownHost,
			}[e.Kind]
			if !errors.Is(out.dialErr, want) {
				why = fmt.Sprintf("expected %q, got %s", want.Error(), got(out))
			}
		case lesson.Silent:
			if !out.silent {
				why = fmt.Sprintf("expected silence for %v, got %s", e.Duration, got(out))
			}
		case lesson.Banner:
			if !strings.Contains(strings.ToLower(out.banner), strings.ToLower(e.Contains)) {
				why = fmt.Sprintf("expected a greeting containing %q, got %s", e.Contains, got(out))
			}
		case lesson.Capability, lesson.NoCapability:
			why = checkCapability(e, out)
		case lesson.TLSAtLeast:
			if out.tls == nil {
				why = "expected TLS, but the connection is not encrypted"
			} else if out.tls.Version < e.TLSVersion {
				why = fmt.Sprintf("expected at least %s, got %s", tls.VersionName(e.TLSVersion), tls.VersionName(out.tls.Version))
			}
		case lesson.TLSRefused:
			if out.tlsRefused == "" {
				why = fmt.Sprintf("expected the client to refuse the TLS handshake, got %s", got(out))
			} else if !strings.Contains(strings.ToLower(out.tlsRefused), strings.ToLower(e.Contains)) {
				why = fmt.Sprintf("expected the TLS refusal to say %q, got %q", e.Contains, out.tlsRefused)
			}
		case lesson.Closed:
			if !out.closed {
				why = "expected the server to close the connection"
			}
		case lesson.HasMessage:
			if findMessage(out.messages, e.Match) < 0 {
				why = fmt.Sprintf("no new message in the mailbox with %s", describeMatch(e.Match))
				missing = true
			}
		case lesson.NoMessage:
			if i := findMessage(out.messages, e.Match); i >= 0 {
				why = fmt.Sprintf("expected no message with %s, found %s", describeMatch(e.Match), describeMessage(out.messages[i]))
			}
		}
		if why != "" {
			reasons = append(reasons, why)
		}
	}
	if missing {
		reasons = append(reasons, summarize(out.messages))
	}
	if out.dialErr != nil && !dialExpected {
		reasons = append(reasons, "could not connect: "+out.dialErr.Error())
	}
	return strings.Join(reasons, "; ")
}

func got(out *outcome) string {
	switch {
	case out.dialErr != nil:
		return fmt.Sprintf("%q", out.dialErr.Error())
	case out.silent:
		return "silence"
	case out.heard != "":
		return fmt.Sprintf("%q", out.heard)
	case out.banner != "":
		return fmt.Sprintf("%q", out.banner)
	case out.reply != nil:
		return fmt.Sprintf("%q", out.reply.Lines[0])
	}
	return "nothing"
}

func checkReply(e lesson.Expect, out *outcome) string {
	want := strings.TrimSpace(strings.Join([]string{e.Code, e.Enhanced, quote(e.Contains)}, " "))
	rep := out.reply
	if rep == nil {
		return fmt.Sprintf("expected reply %s, got %s", want, got(out))
	}
	if !lesson.MatchesCode(e.Code, rep.Code) || e.Enhanced != "" && e.Enhanced != rep.Enhanced ||
		e.Contains != "" && !strings.Contains(strings.ToLower(rep.String()), strings.ToLower(e.Contains)) {
		return fmt.Sprintf("expected reply %s, got %q", want, strings.ReplaceAll(rep.String(), "\n", " / "))
	}
	return ""
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("%q", s)
}

func checkCapability(e lesson.Expect, out *outcome) string {
	if out.reply == nil || out.reply.Code != 250 {
		return fmt.Sprintf("expected an EHLO reply listing the extensions, got %s", got(out))
	}
	params, ok := out.reply.Extension(e.Keyword)
	if ok && e.Param != "" {
		ok = slices.ContainsFunc(strings.Fields(params), func(p string) bool { return strings.EqualFold(p, e.Param) })
	}
	name := strings.TrimSpace(e.Keyword + " " + e.Param)
	exts := strings.Join(out.reply.Extensions(), ", ")
	if e.Kind == lesson.Capability && !ok {
		return fmt.Sprintf("expected the server to offer %s; it offers %s", name, exts)
	}
	if e.Kind == lesson.NoCapability && ok {
		return fmt.Sprintf("expected the server not to offer %s; it offers %s", name, exts)
	}
	return ""
}

// Matches reports whether a mailbox message has the properties m asks for.
func Matches(msg Message, m lesson.MessageMatch) bool {
	switch {
	case m.From != nil && !strings.EqualFold(*m.From, msg.From):
		return false
	case m.To != "" && !slices.ContainsFunc(msg.To, func(t string) bool { return strings.EqualFold(t, m.To) }):
		return false
	case m.Subject != "" && !strings.Contains(strings.ToLower(msg.Subject), strings.ToLower(m.Subject)):
		return false
	case m.Host != "" && !strings.EqualFold(m.Host, msg.Host):
		return false
	case m.Port != 0 && m.Port != msg.Port:
		return false
	case m.TLS != nil && *m.TLS != msg.TLS:
		return false
	case m.TLSVersion != "" && !lesson.TLSVersionAtLeast(msg.TLSVersion, m.TLSVersion):
		return false
	case m.Auth != nil && *m.Auth != msg.AuthUser:
		return false
	case m.Relayed != nil && *m.Relayed != msg.Relayed:
		return false
	case m.HeaderName != "" && !slices.ContainsFunc(msg.Headers, func(h Header) bool {
		return strings.EqualFold(h.Name, m.HeaderName) && strings.Contains(strings.ToLower(h.Value), strings.ToLower(m.HeaderValue))
	}):
		return false
	}
	return true
}

func findMessage(msgs []Message, m lesson.MessageMatch) int {
	return slices.IndexFunc(msgs, func(msg Message) bool { return Matches(msg, m) })
}

func describeMatch(m lesson.MessageMatch) string {
	var p []string
	add := func(k, v string) { p = append(p, k+"="+v) }
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	if m.From != nil {
		add("from", "<"+*m.From+">")
	}
	if m.To != "" {
		add("to", m.To)
	}
	if m.Subject != "" {
		add("subject", fmt.Sprintf("%q", m.Subject))
	}
	if m.Host != "" {
		add("host", m.Host)
	}
	if m.Port != 0 {
		add("port", fmt.Sprint(m.Port))
	}
	if m.TLS != nil {
		add("tls", yn(*m.TLS))
	}
	if m.TLSVersion != "" {
		add("tls-version", m.TLSVersion)
	}
	if m.Auth != nil {
		a := *m.Auth
		if a == "" {
			a = "none"
		}
		add("auth", a)
	}
	if m.Relayed != nil {
		add("relayed", yn(*m.Relayed))
	}
	if m.HeaderName != "" {
		add("header", fmt.Sprintf("%q", m.HeaderName+": "+m.HeaderValue))
	}
	return strings.Join(p, " ")
}

func describeMessage(msg Message) string {
	auth := msg.AuthUser
	if auth == "" {
		auth = "none"
	}
	return fmt.Sprintf("[from=<%s> to=%s subject=%q host=%s port=%d tls=%v %s auth=%s relayed=%v]",
		msg.From, strings.Join(msg.To, ","), msg.Subject, msg.Host, msg.Port, msg.TLS, msg.TLSVersion, auth, msg.Relayed)
}

func summarize(msgs []Message) string {
	if len(msgs) == 0 {
		return "the mailbox has no new messages"
	}
	s := make([]string, len(msgs))
	for i, m := range msgs {
		s[i] = describeMessage(m)
	}
	return fmt.Sprintf("the mailbox has %d new: %s", len(msgs), strings.Join(s, " "))
}
