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
	From    string
	To      []string
	Subject string
	Date    time.Time
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
	fmt.Fprintf(&b, "From: <%s>\n", d.From)
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
