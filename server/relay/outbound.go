package relay

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	smtpclient "github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/policy"
)

// Routes finds the simulated MX of a domain: the world host that is final
// for it. Domains outside the simulated world have none, and mail for them
// stays captured where it was accepted.
type Routes interface {
	MX(domain string) (Door, bool)
}

// relaySource is the address deliveries between simulated hosts come
// from, as the remote MX sees it (RFC 5737 documentation range).
var relaySource = netip.MustParseAddr("192.0.2.25")

// forward passes an accepted message on to the simulated MX of each
// recipient domain, hop by hop (docs/teaching-map.md L7, L8), and bounces what cannot
// be delivered to the return path (L9). It never leaves the process: the
// "connection" is a net.Pipe to another door of this relay, and the SMTP
// conversation on it is real, TLS included.
//
// It runs before the client gets its 250 so that a lesson sees the outcome
// at once; semantically the delivery and any bounce are still separate,
// later events.
func (s *session) forward(id string, raw []byte) {
	r := s.d.r
	if r.routes == nil {
		return
	}
	// One conversation per MX and TLS rule: two domains on one MX may
	// still need different TLS (notls.test and strict.notls.test).
	type route struct {
		mx  doorKey
		tls policy.Outbound
	}
	byRoute := map[route][]string{}
	mxs := map[doorKey]Door{}
	var order []route
	for _, rcpt := range s.rcpts {
		_, domain, _ := strings.Cut(rcpt, "@")
		if s.d.isLocal(s.pol, domain) {
			continue
		}
		mx, ok := r.routes.MX(domain)
		if !ok || mx.Host == s.d.host {
			continue
		}
		out := s.pol.OutboundFor(domain)
		out.Domain = ""
		k := route{mx.key(), out}
		if _, seen := byRoute[k]; !seen {
			order = append(order, k)
			mxs[k.mx] = mx
		}
		byRoute[k] = append(byRoute[k], rcpt)
	}
	var failed []failure
	for _, k := range order {
		var temp []failure
		for _, f := range r.deliver(s.lab(), s.d.host, s.from, byRoute[k], raw, mxs[k.mx], k.tls, time.Time{}) {
			if f.temporary {
				temp = append(temp, f)
			} else {
				failed = append(failed, f)
			}
		}
		if len(temp) > 0 {
			// A 4xx is "try again later" (RFC 5321 §4.2.1): the queue does.
			d := &deferred{id: id, pol: s.pol, lab: s.lab(), helo: s.d.host, from: s.from, raw: raw, mx: mxs[k.mx], tls: k.tls, arrival: r.now(), last: temp}
			for _, f := range temp {
				d.rcpts = append(d.rcpts, f.rcpt)
			}
			r.enqueue(d)
		}
	}
	if len(failed) > 0 && s.from != "" { // never bounce a bounce (RFC 5321 §4.5.5)
		r.bounce(s.pol, s.lab(), s.d.host, s.from, failed, raw)
	}
}

// failure is one recipient a delivery could not reach, and why, in the
// words a bounce quotes; status is the enhanced code (RFC 3463) when the
// relay itself, not the remote's reply, decided the failure. A temporary
// failure (a 4xx reply, no connection, required TLS not offered) is
// queued and tried again; Postfix defers those too.
type failure struct {
	rcpt, why, status string
	temporary         bool
}

// deliver holds one SMTP conversation with mx, using the project's own
// client (scenarios/session, the one students' tabs use), and returns the
// recipients it could not deliver to. at is a queued attempt's simulated
// time (zero for the first attempt, at the relay's clock).
func (r *Relay) deliver(lab, helo, from string, rcpts []string, raw []byte, mx Door, out policy.Outbound, at time.Time) []failure {
	failAllAs := func(why string, temporary bool) []failure {
		var f []failure
		for _, rc := range rcpts {
			f = append(f, failure{rcpt: rc, why: why, temporary: temporary})
		}
		return f
	}
	// Postfix defers on a 4xx or a broken conversation, bounces on a 5xx.
	temp := func(rep *smtpclient.Reply, err error) bool { return err != nil || rep.Code/100 == 4 }
	failAll := func(why string) []failure { return failAllAs(why, true) }
	cli, srv := net.Pipe()
	defer cli.Close()
	if err := r.ServeConn(srv, mx, Meta{Lab: lab, Client: relaySource, At: at}); err != nil {
		return failAll(fmt.Sprintf("connect to %s: %v", mx.Host, err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Opportunistic and required TLS alike encrypt without verifying the
	// MX's certificate, as Postfix's may and encrypt levels: checking it
	// needs DANE (RFC 7672) or MTA-STS (RFC 8461), which the sandbox's
	// MXs do not publish.
	c := smtpclient.New(cli, smtpclient.Config{Host: mx.Host, RootCAs: r.roots, Now: r.now, Unverified: true})
	said := func(rep *smtpclient.Reply, err error, cmd string) string {
		if err != nil {
			return fmt.Sprintf("conversation with %s failed: %v", mx.Host, err)
		}
		return fmt.Sprintf("host %s said: %s (in reply to %s command)", mx.Host, strings.Join(rep.Lines, " "), cmd)
	}
	ok := func(rep *smtpclient.Reply, err error) bool { return err == nil && rep.Positive() }
	if rep, err := c.ReadReply(ctx); !ok(rep, err) {
		return failAllAs(said(rep, err, "connect"), temp(rep, err))
	}
	ehlo, err := c.Cmd(ctx, "EHLO "+helo)
	if !ok(ehlo, err) {
		return failAllAs(said(ehlo, err, "EHLO"), temp(ehlo, err))
	}
	_, offered := ehlo.Extension("STARTTLS")
	switch {
	case offered && out.UseSTARTTLS:
		if rep, err := c.StartTLS(ctx); !ok(rep, err) {
			return failAllAs(said(rep, err, "STARTTLS"), temp(rep, err))
		}
		if rep, err := c.Cmd(ctx, "EHLO "+helo); !ok(rep, err) {
			return failAllAs(said(rep, err, "EHLO"), temp(rep, err))
		}
	case out.RequireSTARTTLS:
		c.Cmd(ctx, "QUIT")
		f := failAll(fmt.Sprintf(whyTLSNotOfferedFm, mx.Host))
		for i := range f {
			f[i].status = statusTLSNotOffered
		}
		return f
	}
	if rep, err := c.Cmd(ctx, "MAIL FROM:<"+from+">"); !ok(rep, err) {
		return failAllAs(said(rep, err, "MAIL FROM"), temp(rep, err))
	}
	var failed []failure
	var accepted []string
	for _, rc := range rcpts {
		if rep, err := c.Cmd(ctx, "RCPT TO:<"+rc+">"); !ok(rep, err) {
			failed = append(failed, failure{rcpt: rc, why: said(rep, err, "RCPT TO"), temporary: temp(rep, err)})
			continue
		}
		accepted = append(accepted, rc)
	}
	if len(accepted) > 0 {
		if rep, err := c.Data(ctx, raw); !ok(rep, err) {
			rcpts = accepted
			return append(failed, failAllAs(said(rep, err, "end of DATA"), temp(rep, err))...)
		}
	}
	c.Cmd(ctx, "QUIT")
	return failed
}

// bounce sends a delivery status notification (RFC 3464) for the failed
// recipients to the return path, out of band: a new message with an empty
// envelope sender, delivered to the return-path domain's MX on port 25,
// under pol, the policy of the session that accepted the message.
func (r *Relay) bounce(pol *policy.Policy, lab, host, returnPath string, failed []failure, original []byte) {
	_, domain, _ := strings.Cut(returnPath, "@")
	mx, ok := r.routes.MX(domain)
	if !ok {
		return // the return path is outside the simulated world: nowhere to send it
	}
	now := r.now()
	boundary := "portlab-" + r.newID()
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: MAILER-DAEMON@%s (Mail Delivery System)\r\n", host)
	fmt.Fprintf(&b, "To: %s\r\n", returnPath)
	fmt.Fprintf(&b, "Subject: Undelivered Mail Returned to Sender\r\n")
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", r.newID(), host)
	fmt.Fprintf(&b, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=%q\r\n\r\n", boundary)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is the mail system at host %s.\r\n\r\n", host)
	fmt.Fprintf(&b, "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n")
	for _, f := range failed {
		fmt.Fprintf(&b, "<%s>: %s\r\n", f.rcpt, f.why)
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", host, now.Format(time.RFC1123Z))
	for _, f := range failed {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; %s\r\n", f.rcpt, f.statusCode(), f.why)
	}
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", boundary)
	if i := bytes.Index(original, []byte("\r\n\r\n")); i >= 0 {
		b.Write(original[:i+2])
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	r.bus.Publish(events.Event{Time: now, Kind: events.Message, Lab: lab, Host: host, Text: fmt.Sprintf("bounce for %d recipient(s) sent to <%s>", len(failed), returnPath)})
	r.deliver(lab, host, "", []string{returnPath}, b.Bytes(), mx, pol.OutboundFor(domain), time.Time{})
}

// statusCode is the failure's enhanced status code (RFC 3463): the relay's
// own, or the one in the remote's reply (a 4.X.X one too, for what
// expired in the queue, as Postfix writes it), or 5.0.0 or 4.0.0 when it
// had none (RFC 3464 §2.3.4).
func (f failure) statusCode() string {
	if f.status != "" {
		return f.status
	}
	for _, w := range strings.Fields(f.why) {
		if len(w) >= 5 && (w[0] == '5' || w[0] == '4') && w[1] == '.' && strings.Count(w, ".") == 2 {
			return w
		}
	}
	if f.temporary {
		return "4.0.0"
	}
	return "5.0.0"
}
