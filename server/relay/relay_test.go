package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/policy"
)

// A plaintext client on 465 sees nothing: the server waits for a TLS
// ClientHello (docs/teaching-map.md L4).
func TestImplicitTLSIsSilentToPlaintext(t *testing.T) {
	sb := startSandbox(t, "")
	c, err := net.Dial("tcp", sb.addr[465])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("plaintext client on 465 read %q, %v; want silence until our timeout", buf[:n], err)
	}
}

// A client that disconnects during DATA leaves no stored message.
func TestDisconnectDuringDataStoresNothing(t *testing.T) {
	sb := startSandbox(t, "")
	sub := sb.bus.Subscribe(100, nil)
	c := dial(t, sb, 25)
	c.run(sb, "!greeting\nEHLO c.example\nMAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA")
	fmt.Fprintf(c.conn, "Subject: half\r\n\r\nthe first half of a message\r\n")
	c.conn.Close()
	waitFor(t, sub, events.Disconnect)
	if n, _, _ := sb.store.Stats(); n != 0 {
		t.Fatalf("%d messages stored after a disconnect in DATA, want 0", n)
	}
}

func TestIdleTimeout(t *testing.T) {
	sb := startSandbox(t, "idle-timeout 200ms")
	c := dial(t, sb, 587)
	c.run(sb, "!greeting\nEHLO c.example\n!eof")
	if c.last != "421 4.4.2 smtp.relay.test Error: timeout exceeded" {
		t.Fatalf("after idle: %q", c.last)
	}
}

func TestConnectionsPerClient(t *testing.T) {
	sb := startSandbox(t, "max-connections-per-client 2")
	a, b := dial(t, sb, 25), dial(t, sb, 25)
	a.reply()
	b.reply()
	c := dial(t, sb, 25)
	if got := c.reply(); got != "421 4.7.0 mx.sandbox.test Error: too many connections from 127.0.0.1" {
		t.Fatalf("third connection greeted with %q", got)
	}
	a.run(sb, "QUIT\n!eof")
	// The slot is free again once the first client has gone.
	if d := dial(t, sb, 25); !strings.HasPrefix(d.reply(), "220 ") {
		t.Fatalf("after a client left, a new one got %q", d.last)
	}
}

// AUTH failures slow the real client down and never lock it out: after
// the policy's number of failures, each further AUTH waits one step more,
// and a right password still succeeds, with Postfix's words throughout.
func TestAuthFailuresSlowDown(t *testing.T) {
	sb := startSandbox(t, "max-auth-failures-per-client 2")
	c := dial(t, sb, 465)
	c.startTLS(sb)
	c.run(sb, "!greeting\nEHLO c\nAUTH PLAIN AGZvbwB4\nAUTH PLAIN AGZvbwB5\nAUTH PLAIN AGZvbwB6")
	if c.last != "535 5.7.8 Error: authentication failed: authentication failure" {
		t.Fatalf("third bad password: %q", c.last)
	}
	c.run(sb, "AUTH PLAIN AGZvbwBiYXJiYXo=")
	if c.last != "235 2.7.0 Authentication successful" {
		t.Fatalf("right password after failures: %q", c.last)
	}
	// The count is per client, not per session: a new connection from
	// the same address waits too, and still gets in.
	d := dial(t, sb, 465)
	d.startTLS(sb)
	d.run(sb, "!greeting\nEHLO c\nAUTH PLAIN AGZvbwBiYXJiYXo=")
	if d.last != "235 2.7.0 Authentication successful" {
		t.Fatalf("new connection after failures: %q", d.last)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 2 * time.Second}
	if got := sb.delays(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("AUTH delays %v, want %v", got, want)
	}
}

// A broken AUTH exchange counts as a failure like a wrong password, as
// Postfix counts it as an error: a response that is not base64, the
// initial one or one after 334, and one PLAIN cannot parse.
func TestBrokenAuthCountsAsFailure(t *testing.T) {
	sb := startSandbox(t, "max-auth-failures-per-client 3")
	c := dial(t, sb, 465)
	c.startTLS(sb)
	c.run(sb, "!greeting\nEHLO c\nAUTH PLAIN !!!notbase64\nAUTH PLAIN\n%%%\nAUTH PLAIN Zm9v")
	if c.last != "535 5.7.8 Error: authentication failed: bad protocol / cancel" {
		t.Fatalf("unparsable PLAIN response: %q\n%s", c.last, c.log.String())
	}
	c.run(sb, "AUTH PLAIN AGZvbwBiYXJiYXo=")
	if c.last != "235 2.7.0 Authentication successful" {
		t.Fatalf("right password after broken exchanges: %q", c.last)
	}
	if got, want := sb.delays(), []time.Duration{time.Second}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("AUTH delays %v, want %v: three broken exchanges are three failures\n%s", got, want, c.log.String())
	}
}

// Tunnels share a simulated source address (and the classroom lab): AUTH
// failures count against the real client behind the tunnel, so one
// student's failures do not slow another down.
func TestAuthFailuresKeyedOnRealClient(t *testing.T) {
	sb := newSandbox(t, "max-auth-failures-per-client 1")
	door := Door{Host: "legacy.mail.test", Port: 465}
	simulated := netip.MustParseAddr("198.51.100.23")
	a := pipe(t, sb, door, Meta{Lab: DefaultLab, Client: simulated, Peer: netip.MustParseAddr("192.0.2.1")})
	a.startTLS(sb)
	a.run(sb, "!greeting\nEHLO a\nAUTH PLAIN AGZvbwB4\nAUTH PLAIN AGZvbwB4\nAUTH PLAIN AGZvbwB4")
	if n := len(sb.delays()); n != 2 {
		t.Fatalf("the failing client waited %d times, want 2", n)
	}
	b := pipe(t, sb, door, Meta{Lab: DefaultLab, Client: simulated, Peer: netip.MustParseAddr("192.0.2.2")})
	b.startTLS(sb)
	b.run(sb, "!greeting\nEHLO b\nAUTH PLAIN AGZvbwBiYXJiYXo=")
	if b.last != "235 2.7.0 Authentication successful" || len(sb.delays()) != 2 {
		t.Fatalf("another client behind the same simulated address: %q after %v", b.last, sb.delays())
	}
}

// The doors have an overall cap besides the per-address one, answered as
// Postfix's postscreen answers when every server process is busy.
func TestConnectionsOverall(t *testing.T) {
	sb := startSandbox(t, "max-connections 2")
	a, b := dial(t, sb, 25), dial(t, sb, 587)
	a.reply()
	b.reply()
	c := dial(t, sb, 25)
	if got := c.reply(); got != "421 4.3.2 All server ports are busy" {
		t.Fatalf("third connection greeted with %q", got)
	}
	a.run(sb, "QUIT\n!eof")
	if d := dial(t, sb, 25); !strings.HasPrefix(d.reply(), "220 ") {
		t.Fatalf("after a client left, a new one got %q", d.last)
	}
}

// Without the sandbox's descriptor budget, "auto" is a fixed cap; the
// policy's number wins.
func TestConnectionCapDefault(t *testing.T) {
	if got, want := connectionCap(policy.Default().Limits), autoMaxConnections; got != want {
		t.Fatalf("default cap %d, want %d", got, want)
	}
	if got := connectionCap(policy.Limits{MaxConnections: 7}); got != 7 {
		t.Fatalf("max-connections 7 gives %d", got)
	}
}

// A NUL or a bare CR in a command is taken, as Postfix takes it, but never
// copied into the Received: header, where a bare CR could forge a header.
func TestControlOctetsNeverReachHeaders(t *testing.T) {
	sb := startSandbox(t, "")
	c := dial(t, sb, 25)
	c.reply()
	io.WriteString(c.conn, "EHLO a\rX-Forged:\x00yes\r\n")
	c.reply()
	c.run(sb, "MAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA\n!data\nSubject: x\n\nx\n.")
	box := sb.store.List(DefaultLab)
	if len(box) != 1 {
		t.Fatalf("stored %d messages:\n%s", len(box), c.log.String())
	}
	hdr, _, _ := strings.Cut(string(box[0].Raw), "\r\n\r\n")
	if strings.ContainsAny(strings.ReplaceAll(hdr, "\r\n", ""), "\r\x00") {
		t.Fatalf("control octets in the header:\n%q", hdr)
	}
	if !strings.Contains(hdr, "Received: from a?X-Forged:?yes (unknown [127.0.0.1])") {
		t.Fatalf("Received header:\n%q", hdr)
	}
}

// After a time-out in DATA the session ends with Postfix's 421, and what
// the client sends afterwards (here the end of the body, quoting a whole
// transaction) is never read as commands: nothing is stored.
func TestDataTimeoutEndsSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := newSandbox(t, "idle-timeout 30s")
		c := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: "l"})
		c.conn.SetDeadline(time.Time{})
		c.run(sb, "!greeting\nEHLO c\nMAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA")
		io.WriteString(c.conn, "Subject: stalled\r\n\r\n")
		if got := c.reply(); got != "421 4.4.2 mx.sandbox.test Error: timeout exceeded" {
			t.Fatalf("after a stall in DATA: %q", got)
		}
		io.WriteString(c.conn, ".\r\nMAIL FROM:<x@example.org>\r\nRCPT TO:<b@sandbox.test>\r\nDATA\r\nSubject: quoted\r\n\r\nx\r\n.\r\nQUIT\r\n")
		c.conn.SetReadDeadline(time.Now().Add(time.Minute))
		if got := c.reply(); got != "" {
			t.Fatalf("the session went on after the time-out: %q\n%s", got, c.log.String())
		}
		if box := sb.store.List("l"); len(box) != 0 {
			t.Fatalf("stored after a DATA time-out: %q", box[0].Subject)
		}
	})
}

// The time-out counts from the client's last read, as Postfix's
// smtpd_timeout: a client that keeps sending is never cut, however long
// the whole message takes.
func TestDataTimeoutResetByActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sb := newSandbox(t, "idle-timeout 30s")
		c := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: "l"})
		c.conn.SetDeadline(time.Time{})
		c.run(sb, "!greeting\nEHLO c\nMAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA")
		io.WriteString(c.conn, "Subject: slow upload\r\n\r\n")
		for range 20 { // 400 s in all, 20 s between lines
			time.Sleep(20 * time.Second) // the bubble's clock: no real wait
			io.WriteString(c.conn, "another line\r\n")
		}
		c.send(".")
		if got := c.reply(); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as") {
			t.Fatalf("a steady upload got %q", got)
		}
	})
}

// Mail that ends after its lab was deleted (its connection stayed open)
// is refused before 250, with the reply for a message the relay could not
// store, and the lab's mailbox is not recreated.
func TestMailForDeletedLabRefused(t *testing.T) {
	sb := newSandbox(t, "")
	var mu sync.Mutex
	live := map[string]bool{DefaultLab: true, "lab-a": true}
	sb.store.Labs(func(lab string) bool {
		mu.Lock()
		defer mu.Unlock()
		return live[lab]
	})
	c := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: "lab-a"})
	c.run(sb, "!greeting\nEHLO c\nMAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA")
	mu.Lock()
	delete(live, "lab-a") // the lab expires while the client is in DATA
	mu.Unlock()
	sb.store.DeleteLab("lab-a")
	c.run(sb, "!data\nSubject: late\n\nx\n.")
	if c.last != "451 4.3.0 Error: queue file write error" {
		t.Fatalf("end of DATA for a deleted lab: %q\n%s", c.last, c.log.String())
	}
	if n, bytes, _ := sb.store.Stats(); n != 0 || bytes != 0 {
		t.Fatalf("the deleted lab's mailbox came back: %d messages, %d bytes", n, bytes)
	}
}

// pipe serves one in-process session (as the gateway does) and returns
// the client end.
func pipe(t *testing.T, sb *sandbox, d Door, meta Meta) *client {
	t.Helper()
	cli, srv := net.Pipe()
	if err := sb.r.ServeConn(srv, d, meta); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, conn: cli, br: bufio.NewReader(cli), host: d.Host}
}

// Relaying is granted to a trusted source network without AUTH
// (docs/teaching-map.md L3 way b), and tunnelled mail lands in its lab only.
func TestTrustedNetworkAndLabs(t *testing.T) {
	sb := startSandbox(t, "")
	c := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: "lab-a", Client: netip.MustParseAddr("10.0.5.20")})
	c.run(sb, "!greeting\nEHLO office\nMAIL FROM:<a@corp.test>\nRCPT TO:<x@example.net>\nDATA\n!data\nSubject: relayed\n\nx\n.\nQUIT")
	if !strings.HasPrefix(c.last, "221") {
		t.Fatalf("transcript:\n%s", c.log.String())
	}
	box := sb.store.List("lab-a")
	if len(box) != 1 || !box[0].Relayed || box[0].Client != "10.0.5.20" {
		t.Fatalf("lab-a mailbox = %+v", box)
	}
	if len(sb.store.List(DefaultLab)) != 0 || len(sb.store.List("lab-b")) != 0 {
		t.Fatal("another lab sees lab-a's mail")
	}
	// The same recipient from an untrusted simulated address is refused.
	d := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: "lab-b", Client: netip.MustParseAddr("198.51.100.7")})
	d.run(sb, "!greeting\nEHLO home\nMAIL FROM:<a@home.test>\nRCPT TO:<x@example.net>")
	if d.last != "554 5.7.1 <x@example.net>: Relay access denied" {
		t.Fatalf("untrusted relay attempt: %q", d.last)
	}
}

// A door can play a server without STARTTLS and with its own domains.
func TestDoorWithoutSTARTTLS(t *testing.T) {
	sb := startSandbox(t, "")
	c := pipe(t, sb, Door{Host: "mx.notls.test", Port: 25, NoSTARTTLS: true, LocalDomains: []string{"notls.test"}}, Meta{Lab: "l"})
	c.run(sb, "!greeting\nEHLO x\nSTARTTLS\nMAIL FROM:<a@b.test>\nRCPT TO:<u@notls.test>")
	if strings.Contains(c.log.String(), "STARTTLS\nS: 220") || strings.Contains(c.log.String(), "250-STARTTLS") {
		t.Fatalf("mx.notls.test offered STARTTLS:\n%s", c.log.String())
	}
	if !strings.Contains(c.log.String(), "S: 502 5.5.1 Error: command not implemented") || !strings.HasPrefix(c.last, "250 2.1.5") {
		t.Fatalf("transcript:\n%s", c.log.String())
	}
	if !strings.HasPrefix(c.log.String(), "S: 220 mx.notls.test ") {
		t.Fatalf("greeting does not name the host:\n%s", c.log.String())
	}
}

// RFC 3207 §4.2: commands pipelined after STARTTLS arrive in the clear and
// must be discarded, not executed inside the TLS session.
func TestSTARTTLSDiscardsInjectedCommands(t *testing.T) {
	sb := startSandbox(t, "")
	c := dial(t, sb, 25)
	c.run(sb, "!greeting\nEHLO x")
	fmt.Fprintf(c.conn, "STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
	if got := c.reply(); !strings.HasPrefix(got, "220 2.0.0") {
		t.Fatalf("STARTTLS: %q", got)
	}
	c.startTLS(sb)
	c.run(sb, "EHLO x\nMAIL FROM:<real@x.test>")
	if c.last != "250 2.1.0 Ok" {
		t.Fatalf("MAIL after TLS = %q: the injected MAIL was acted on", c.last)
	}
}

// PIPELINING (RFC 2920): a batch of commands gets its replies in order.
func TestPipelining(t *testing.T) {
	sb := startSandbox(t, "")
	c := dial(t, sb, 25)
	c.reply()
	fmt.Fprintf(c.conn, "EHLO x\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@sandbox.test>\r\nRCPT TO:<c@elsewhere.test>\r\nDATA\r\n")
	var got []string
	for range 5 {
		r := c.reply()
		got = append(got, r[:3])
	}
	if strings.Join(got, " ") != "250 250 250 554 354" {
		t.Fatalf("pipelined replies %v", got)
	}
}

// Every connection reports its life on the bus.
func TestEvents(t *testing.T) {
	sb := startSandbox(t, "")
	sub := sb.bus.Subscribe(200, nil)
	c := dial(t, sb, 587)
	c.run(sb, "!greeting\nEHLO x\nSTARTTLS\n!tls\nEHLO x\nAUTH PLAIN AGZvbwBiYXJiYXo=\nMAIL FROM:<foo@sandbox.test>\nRCPT TO:<b@example.org>\nDATA\n!data\nSubject: e\n\nx\n.\nQUIT\n!eof")
	seen := map[events.Kind][]events.Event{}
	for e := range sub.C {
		seen[e.Kind] = append(seen[e.Kind], e)
		if e.Kind == events.Disconnect {
			break
		}
	}
	for _, k := range []events.Kind{events.Connect, events.Command, events.Reply, events.TLS, events.Auth, events.Message, events.Disconnect} {
		if len(seen[k]) == 0 {
			t.Errorf("no %s event", k)
		}
	}
	if tl := seen[events.TLS]; len(tl) == 0 || tl[0].TLSVersion != "TLS 1.3" || tl[0].TLSCipher == "" {
		t.Errorf("TLS event = %+v", tl)
	}
	if a := seen[events.Auth]; len(a) == 0 || !a[0].OK || a[0].User != "foo" {
		t.Errorf("auth event = %+v", a)
	}
	for _, e := range seen[events.Command] {
		if strings.Contains(e.Text, "AGZvbwBiYXJiYXo=") {
			t.Errorf("credentials in an event: %q", e.Text)
		}
		if e.Text == "MAIL FROM:<foo@sandbox.test>" && !e.Secure {
			t.Error("a command inside TLS is not marked secure")
		}
	}
	if e := seen[events.Message]; len(e) == 0 || e[0].MessageID == "" || e[0].Port != 587 || e[0].Lab != DefaultLab {
		t.Errorf("message event = %+v", e)
	}
}

// Real clients route their mail to a lab by authenticating as the lab.
func TestAuthUserNamesLab(t *testing.T) {
	sb := startSandbox(t, "")
	sb.r.accounts = labAccounts{}
	c := dial(t, sb, 465)
	c.startTLS(sb)
	c.run(sb, "!greeting\nEHLO x\nAUTH PLAIN AGxhYi05AHNlY3JldA==\nMAIL FROM:<s@x.test>\nRCPT TO:<t@sandbox.test>\nDATA\n!data\nSubject: to my lab\n\nx\n.\nQUIT\n!eof")
	if got := sb.store.List("lab-9"); len(got) != 1 || got[0].AuthUser != "lab-9" {
		t.Fatalf("lab-9 mailbox = %+v\n%s", got, c.log.String())
	}
}

type labAccounts struct{}

func (labAccounts) Lookup(user string) (string, string, bool) {
	if user == "lab-9" {
		return "secret", "lab-9", true
	}
	return "", "", false
}

func waitFor(t *testing.T, sub *events.Subscription, kind events.Kind) events.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

// mapRoutes is the simulated world's MX table, as data.
type mapRoutes map[string]Door

func (m mapRoutes) MX(domain string) (Door, bool) {
	d, ok := m[domain]
	return d, ok
}

// A relayed message crosses to the next simulated host hop by hop, TLS as
// the destination's policy says; what cannot be delivered bounces to the
// return path's MX on port 25 (docs/teaching-map.md L7, L8, L9).
func TestForwardAndBounce(t *testing.T) {
	sb := startSandbox(t, "")
	sb.r.routes = mapRoutes{
		"example.org":       {Host: "mx.example.org", Port: 25, LocalDomains: []string{"example.org"}},
		"notls.test":        {Host: "mx.notls.test", Port: 25, NoSTARTTLS: true, LocalDomains: []string{"notls.test"}},
		"strict.notls.test": {Host: "mx.notls.test", Port: 25, NoSTARTTLS: true, LocalDomains: []string{"notls.test"}},
		"sandbox.test":      {Host: "mx.sandbox.test", Port: 25},
	}
	sb.r.roots = sb.ca.Pool()
	c := dial(t, sb, 465)
	c.startTLS(sb)
	c.run(sb, `!greeting
EHLO laptop
AUTH PLAIN AGZvbwBiYXJiYXo=
MAIL FROM:<foo@sandbox.test>
RCPT TO:<friend@example.org>
RCPT TO:<nobody@example.org>
RCPT TO:<pal@notls.test>
RCPT TO:<pal@strict.notls.test>
RCPT TO:<someone@elsewhere.test>
DATA
!data
Subject: four ways

x
.
QUIT`)
	if !strings.HasPrefix(c.last, "221") {
		t.Fatalf("transcript:\n%s", c.log.String())
	}
	sb.r.queue.wait() // required TLS defers; the queue bounces it when its lifetime ends
	got := map[string]string{}
	for _, m := range sb.store.List(DefaultLab) {
		got[m.Host] += fmt.Sprintf("[from=%s to=%v tls=%v subject=%q]", m.From, m.To, m.TLS, m.Subject)
	}
	want := map[string]string{
		"legacy.mail.test": "[from=foo@sandbox.test to=[friend@example.org nobody@example.org pal@notls.test pal@strict.notls.test someone@elsewhere.test] tls=true subject=\"four ways\"]",
		"mx.example.org":   "[from=foo@sandbox.test to=[friend@example.org] tls=true subject=\"four ways\"]",
		"mx.notls.test":    "[from=foo@sandbox.test to=[pal@notls.test] tls=false subject=\"four ways\"]",
		"mx.sandbox.test":  "[from= to=[foo@sandbox.test] tls=true subject=\"Undelivered Mail Returned to Sender\"][from= to=[foo@sandbox.test] tls=true subject=\"Undelivered Mail Returned to Sender\"]",
	}
	for host, w := range want {
		if got[host] != w {
			t.Errorf("%s holds %s, want %s", host, got[host], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("hosts holding mail: %v", got)
	}
	// Newest first: the 550 bounced at once, required TLS after 5 days.
	bounce := sb.store.List(DefaultLab)[0]
	now := sb.store.List(DefaultLab)[1]
	if !strings.Contains(string(now.Raw), "<nobody@example.org>: host mx.example.org said: 550 5.1.1 <nobody@example.org>: Recipient address rejected") {
		t.Errorf("first bounce:\n%s", now.Raw)
	}
	for _, w := range []string{
		"<pal@strict.notls.test>: TLS is required, but was not offered by host mx.notls.test",
		"Action: failed\r\nStatus: 4.7.4\r\nDiagnostic-Code: smtp; TLS is required", "Content-Type: multipart/report; report-type=delivery-status",
	} {
		if !strings.Contains(string(bounce.Raw), w) {
			t.Errorf("bounce lacks %q:\n%s", w, bounce.Raw)
		}
	}
	// Each hop adds its Received line: the copy at mx.example.org carries two.
	for _, m := range sb.store.List(DefaultLab) {
		if m.Host == "mx.example.org" && strings.Count(string(m.Raw), "Received: ") != 2 {
			t.Errorf("hop copy has %d Received lines:\n%s", strings.Count(string(m.Raw), "Received: "), m.Raw)
		}
	}
}

// bodyOf is a message body of exactly n octets, CRLF line ends included:
// headers up to what the mailbox keeps for display and more, then text
// lines, each within RFC 5321's 1,000 octets.
func bodyOf(n int64) []byte {
	var b bytes.Buffer
	b.WriteString("Subject: as large as SIZE allows\r\n")
	for i := 0; b.Len() < 300<<10; i++ {
		fmt.Fprintf(&b, "X-Field-%03d: %s\r\n", i, strings.Repeat("v", 900))
	}
	b.WriteString("\r\n")
	line := func(octets int) { b.WriteString(strings.Repeat("y", octets-2) + "\r\n") }
	for n-int64(b.Len()) > 1500 {
		line(1000)
	}
	rest := int(n) - b.Len() // 1 to 1,500 octets
	if rest > 1000 {
		line(rest / 2)
		rest -= rest / 2
	}
	line(rest)
	return b.Bytes()
}

// SIZE never promises more than a lab can hold: with a store whose labs
// hold less than the policy's 10 MiB, EHLO advertises what fits, a
// message of exactly that size is stored, and one octet more is refused
// for good with Postfix's 552, at MAIL and after the dot, never with a
// 451 the client would retry for ever.
func TestSizeWithinLabBound(t *testing.T) {
	sb := newSandbox(t, "")
	store := mailbox.New(100, 16<<20, nil) // a lab holds 1 MiB
	r, err := New(Config{Policy: sb.r.policy, Certs: sb.ca, Store: store, Bus: sb.bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	sb.r, sb.store = r, store
	c := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{})
	c.run(sb, "!greeting\nEHLO c")
	var size int64
	for _, l := range strings.Split(c.last, "\n") {
		fmt.Sscanf(l, "250-SIZE %d", &size)
	}
	if size <= 0 || size >= store.MessageLimit() || size >= 1<<20 {
		t.Fatalf("SIZE %d with labs that hold %d octets of message:\n%s", size, store.MessageLimit(), c.last)
	}
	c.run(sb, fmt.Sprintf("MAIL FROM:<a@example.org> SIZE=%d", size+1))
	if c.last != "552 5.3.4 Message size exceeds fixed limit" {
		t.Fatalf("SIZE=%d: %q", size+1, c.last)
	}
	for _, n := range []int64{size + 1, size} {
		c.run(sb, "MAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA")
		c.conn.Write(bodyOf(n))
		c.send(".")
		got := c.reply()
		switch want := "250 2.0.0 Ok: queued as"; {
		case n > size && got != "552 5.3.4 Message size exceeds fixed limit":
			t.Fatalf("a body of %d octets, SIZE %d: %q", n, size, got)
		case n == size && !strings.HasPrefix(got, want):
			t.Fatalf("a body of exactly SIZE (%d octets): %q", n, got)
		}
	}
	if msgs := store.List(DefaultLab); len(msgs) != 1 || msgs[0].Subject != "as large as SIZE allows" {
		t.Fatalf("stored %d messages, want the one of exactly SIZE", len(msgs))
	}
}

// refusingStore is a mailbox that refuses every delivery with err.
type refusingStore struct {
	*mailbox.Store
	err error
}

func (s refusingStore) Deliver(*mailbox.Message) error { return s.err }

// A message the store says is larger than a lab may ever hold is refused
// for good (552, as Postfix refuses a message over its limit); a store
// that is only full refuses for now (451), and the client keeps it.
func TestStoreRefusals(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{mailbox.ErrTooBig, "552 5.3.4 Message size exceeds fixed limit"},
		{mailbox.ErrFull, "451 4.3.0 Error: queue file write error"},
		{mailbox.ErrNoLab, "451 4.3.0 Error: queue file write error"},
	} {
		sb := newSandbox(t, "")
		r, err := New(Config{Policy: sb.r.policy, Certs: sb.ca, Store: refusingStore{sb.store, tt.err}, Bus: sb.bus})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		sb.r = r
		c := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{})
		c.run(sb, "!greeting\nEHLO c\nMAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA\n!data\nSubject: x\n\nx\n.")
		if c.last != tt.want {
			t.Errorf("store says %v: %q, want %q", tt.err, c.last, tt.want)
		}
	}
}
