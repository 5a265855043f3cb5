// Package session is the client half of an SMTP conversation, shared by
// the browser's terminal and the scenario engine: it reads replies
// (RFC 5321 §4.2, with RFC 3463 enhanced codes), sends command lines,
// upgrades to TLS in-band with STARTTLS (RFC 3207) or at once for implicit
// TLS on 465 (RFC 8314 §3.3), builds AUTH PLAIN (RFC 4616) and AUTH LOGIN
// responses, and sends DATA with dot-stuffing (RFC 5321 §4.5.2).
//
// Every line that crosses the wire, and every TLS event, is reported to
// [Config.OnLine] as a [Line], which is what the terminal shows and what a
// transcript records. A Session is used by one goroutine at a time.
package session
