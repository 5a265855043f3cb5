package scenarios

import (
	"fmt"
	"strings"
	"time"
)

// Draft is a message a client writes: the lesson engine's message action
// and the browser's message helper compose with it, so both send the same
// shape of message.
type Draft struct {
	// From is the envelope sender (MAIL FROM), also written as the From:
	// header field unless HeaderFrom is set.
	From string
	// HeaderFrom is the From: header field when it differs from the
	// envelope, as written: "Alice <alice@example.org>" or a bare
	// address. A mailing list or a delivery service writes its author
	// here and keeps its own bounce address in MAIL FROM (RFC 5321 §3.3,
	// §6.1: bounces follow the envelope, not the header).
	HeaderFrom string
	To         []string
	Subject    string
	Date       time.Time
	// MessageID is the Message-ID without its angle brackets.
	MessageID string
	// Body is the text after the header, lines separated by "\n".
	Body string
}

// Bytes writes the message: the header fields of RFC 5322 §3.6 (From,
// To, Subject, Date, Message-ID), MIME's (RFC 2045 §4, §5: UTF-8 text), a
// blank line and the body, with "\n" line ends (the session sends CRLF
// and dot-stuffs).
func (d Draft) Bytes() []byte {
	var b strings.Builder
	switch {
	case d.HeaderFrom == "":
		fmt.Fprintf(&b, "From: <%s>\n", d.From)
	case strings.Contains(d.HeaderFrom, "<"):
		fmt.Fprintf(&b, "From: %s\n", d.HeaderFrom) // name-addr, RFC 5322 §3.4
	default:
		fmt.Fprintf(&b, "From: <%s>\n", d.HeaderFrom)
	}
	fmt.Fprintf(&b, "To: <%s>\n", strings.Join(d.To, ">, <"))
	fmt.Fprintf(&b, "Subject: %s\n", d.Subject)
	fmt.Fprintf(&b, "Date: %s\n", d.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\n", d.MessageID)
	b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n")
	b.WriteString(d.Body)
	if d.Body != "" && !strings.HasSuffix(d.Body, "\n") {
		b.WriteString("\n")
	}
	return []byte(b.String())
}
