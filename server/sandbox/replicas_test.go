package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/pgtest"
	"github.com/portlab/portlab/server/lab"
)

// TestReplicasPresentOneCA: two sandboxes given the same CA files (a
// mounted Secret) serve that CA at /ca.pem and sign the certificate of
// their port 465 with it, and neither writes into the CA's directory.
func TestReplicasPresentOneCA(t *testing.T) {
	dir := t.TempDir()
	made, err := ca.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(dir)
	for i := range 2 {
		s, err := New(Config{PortOffset: "-1", CACert: filepath.Join(dir, "ca.pem"), CAKey: filepath.Join(dir, "ca-key.pem")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		res, err := http.Get(s.URL() + "/ca.pem")
		if err != nil {
			t.Fatal(err)
		}
		served, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Equal(served, made.CertPEM()) {
			t.Errorf("replica %d serves another CA at /ca.pem", i)
		}
		// The client trusts the files' CA only.
		c, err := tls.Dial("tcp", s.SMTPAddr(465), &tls.Config{RootCAs: made.Pool(), ServerName: "localhost"})
		if err != nil {
			t.Fatalf("replica %d, port 465: %v", i, err)
		}
		c.Close()
	}
	if after, _ := os.ReadDir(dir); len(after) != len(before) {
		t.Errorf("the sandboxes wrote into the CA's directory: %d files, then %d", len(before), len(after))
	}
	if _, err := New(Config{CACert: filepath.Join(dir, "ca.pem")}); err == nil {
		t.Error("a CA certificate without its key was accepted")
	}
}

// TestClassroomOnPostgres: with Store a postgres:// URL, a class, its
// student and their progress written through one sandbox are there for
// the next sandbox on the same database.
func TestClassroomOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	const pw = "correct horse"
	a, err := New(Config{Store: dsn, TeacherPassword: pw})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	teach := browser(t, a)
	teach.call(http.StatusOK, "POST", "/api/classroom/session", map[string]string{"password": pw}, nil)
	var class struct{ ID, Code string }
	teach.call(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Networks 1"}, &class)
	student := browser(t, a)
	var joined struct{ Token string }
	student.call(http.StatusCreated, "POST", "/api/classroom/join", map[string]string{"code": class.Code, "name": "Ada"}, &joined)
	student.token = joined.Token
	student.call(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "first-contact", "step": 5, "total": 5, "state": "passed"}, nil)
	a.Close()

	b, err := New(Config{Store: dsn, TeacherPassword: pw})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	teach = browser(t, b)
	teach.call(http.StatusOK, "POST", "/api/classroom/session", map[string]string{"password": pw}, nil)
	var d struct {
		Class struct{ Code string }
		Rows  []struct {
			Name   string
			Passed []string
		}
	}
	teach.call(http.StatusOK, "GET", "/api/classroom/classes/"+class.ID, nil, &d)
	if d.Class.Code != class.Code || len(d.Rows) != 1 || d.Rows[0].Name != "Ada" || len(d.Rows[0].Passed) != 1 {
		t.Fatalf("the next sandbox reads %+v", d)
	}
	if _, err := New(Config{Store: "mysql://x"}); err == nil {
		t.Error("a store that is not PostgreSQL was accepted")
	}
}

// page is one browser on a sandbox: cookies, its origin, a bearer token.
type page struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string
}

func browser(t *testing.T, s *Sandbox) *page {
	jar, _ := cookiejar.New(nil)
	return &page{t: t, base: s.URL(), http: &http.Client{Jar: jar}}
}

// call does a request that must answer want, and decodes its body into v.
func (p *page) call(want int, method, path string, body, v any) {
	p.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, p.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", p.base)
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	res, err := p.http.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		p.t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, got, want)
	}
	if v != nil {
		if err := json.Unmarshal(got, v); err != nil {
			p.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
}

// TestMailAcrossReplicas: three sandboxes on one PostgreSQL database meet
// in one lab. The lab is created through A; its live stream opened on C;
// a tunnel through B says EHLO, and a message is submitted on A's port
// 587 with the lab's account: C's stream shows both (LISTEN/NOTIFY, no
// polling), and the message, acknowledged with 250, is still in the
// lab's mailbox, read through B, after A is closed.
func TestMailAcrossReplicas(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, err := New(Config{Store: dsn, PortOffset: "-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(Config{Store: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c3, err := New(Config{Store: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()

	var l struct{ ID, User, Password, Key string }
	// A network where port 25 is open, for the tunnel.
	browser(t, a).call(http.StatusCreated, "POST", "/api/labs", map[string]string{"profile": "other-datacenter"}, &l)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a failure bound only
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c3.URL()+"/api/labs/"+l.ID+"/events?key="+l.Key, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("C's event stream of a lab A created: %s", res.Status)
	}
	stream := bufio.NewScanner(res.Body)
	if !stream.Scan() { // ": portlab events": C subscribed
		t.Fatal(stream.Err())
	}
	dialRelay(t, b, lab.Lab{ID: l.ID, Key: l.Key}) // a tunnel on B: EHLO ops.other.example

	c, err := smtp.Dial(a.SMTPAddr(587))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{ServerName: "smtp.relay.test", RootCAs: a.Roots()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", l.User, l.Password, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("foo@sandbox.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@sandbox.test"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: across replicas\r\n\r\nhello\r\n")
	if err := w.Close(); err != nil { // 250
		t.Fatal(err)
	}
	c.Quit()

	var got events.Event
	sawAuth, sawEHLO := false, false
	for (got.MessageID == "" || !sawEHLO) && stream.Scan() {
		line := stream.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var e events.Event
			if json.Unmarshal([]byte(data), &e) != nil {
				continue
			}
			switch e.Kind {
			case events.Message:
				got = e
			case events.Auth:
				sawAuth = sawAuth || e.OK
			case events.Command:
				sawEHLO = sawEHLO || e.Text == "EHLO ops.other.example"
			}
		}
	}
	if !sawAuth {
		t.Error("C's stream did not show the AUTH on A (the lab's transcript)")
	}
	if got.MessageID == "" || !sawEHLO {
		t.Fatalf("C's stream ended without the message (%q) or B's tunnel's EHLO (%v): %v", got.MessageID, sawEHLO, stream.Err())
	}
	if got.Lab != l.ID {
		t.Errorf("the message event names lab %q, want %q", got.Lab, l.ID)
	}

	a.Close()
	var msgs []struct{ ID, Subject string }
	p := browser(t, b)
	p.token = l.Key
	p.call(http.StatusOK, "GET", "/api/labs/"+l.ID+"/messages", nil, &msgs)
	if len(msgs) != 1 || msgs[0].ID != got.MessageID || msgs[0].Subject != "across replicas" {
		t.Fatalf("after A closed, B reads %+v; want message %s", msgs, got.MessageID)
	}
}

// TestBenchCrossReplicaDelay (PORTLAB_BENCH=1) reports the delay from the
// 250 a client gets on replica A to the message's event on B's stream.
func TestBenchCrossReplicaDelay(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("a measurement: PORTLAB_BENCH=1")
	}
	dsn := pgtest.DSN(t)
	a, err := New(Config{Store: dsn, PortOffset: "-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(Config{Store: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := crossReplicaDelays(t, a, b, 300)
	t.Logf("250 on A to the event on B's stream, %d messages: p50 %v, p95 %v, max %v", len(d), d[len(d)/2], d[len(d)*95/100], d[len(d)-1])
}

// crossReplicaDelays submits n messages on a's port 587 (a has real SMTP
// listeners) into a lab a creates, and returns, sorted, the delay from
// each 250 to the message's event on b's stream of that lab (a and b
// share one PostgreSQL store; the event crosses by LISTEN/NOTIFY).
func crossReplicaDelays(t *testing.T, a, b *Sandbox, n int) []time.Duration {
	t.Helper()
	var l struct{ ID, User, Password, Key string }
	browser(t, a).call(http.StatusCreated, "POST", "/api/labs", map[string]string{}, &l)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.URL()+"/api/labs/"+l.ID+"/events?key="+l.Key, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	arrived := make(chan time.Time, 1000)
	stream := bufio.NewScanner(res.Body)
	stream.Scan()
	go func() {
		for stream.Scan() {
			if stream.Text() == "event: message" {
				arrived <- time.Now()
			}
		}
	}()
	c, err := smtp.Dial(a.SMTPAddr(587))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{ServerName: "smtp.relay.test", RootCAs: a.Roots()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", l.User, l.Password, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	var delays []time.Duration
	for range n {
		c.Mail("foo@sandbox.test")
		c.Rcpt("bob@sandbox.test")
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "Subject: bench\r\n\r\nhello\r\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got250 := time.Now()
		select {
		case at := <-arrived:
			delays = append(delays, max(at.Sub(got250), 0)) // 0: the event came first
		case <-time.After(30 * time.Second): // a failure bound only
			t.Fatal("no event on B")
		}
	}
	slices.Sort(delays)
	return delays
}

// TestLabPolicyAcrossReplicas: a lab's own policy, set or reset through
// one replica, is what the next connection of the lab follows on another
// replica that already held the lab (your-own-rules played behind a
// load balancer), and what that replica's API reads back.
func TestLabPolicyAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	l, err := a.Lab("other-datacenter")
	if err != nil {
		t.Fatal(err)
	}
	if got := relayTry(t, dialRelay(t, b, l)); !strings.HasPrefix(got, "554 5.7.1") { // B holds the lab now
		t.Fatalf("before the change, RCPT on B got %q, want 554 5.7.1", got)
	}
	if code, body := putPolicy(t, a, l, trustOther); code != http.StatusOK {
		t.Fatalf("PUT policy on A: %d %s", code, body)
	}
	if got := relayTry(t, dialRelay(t, b, l)); !strings.HasPrefix(got, "250 2.1.5") {
		t.Errorf("after A set the lab's policy, RCPT on B got %q, want 250 2.1.5", got)
	}
	if text, own, err := b.Labs().Policy(l.ID); err != nil || !own || text != trustOther {
		t.Errorf("B reads the lab's policy as own=%v, %d bytes (%v); want A's", own, len(text), err)
	}
	req, _ := http.NewRequest("DELETE", a.URL()+"/api/labs/"+l.ID+"/policy", nil)
	req.Header.Set("Authorization", "Bearer "+l.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := relayTry(t, dialRelay(t, b, l)); resp.StatusCode != http.StatusOK || !strings.HasPrefix(got, "554 5.7.1") {
		t.Errorf("after A reset it (%d), RCPT on B got %q, want 554 5.7.1", resp.StatusCode, got)
	}
}

// TestLabChangesAcrossReplicas: B holds a lab in memory; A changes its
// network profile, then deletes it. B's next tunnel follows the new
// profile (home-isp refuses port 25), and once the lab is deleted B knows
// it no more: its tunnel, its mailbox and its SMTP account are gone there
// too. Before, B served the lab as it had first read it.
func TestLabChangesAcrossReplicas(t *testing.T) {
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	l, err := a.Lab("datacenter")
	if err != nil {
		t.Fatal(err)
	}
	dialB := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		nc, err := tunnel.Dialer{}.Dial(ctx, tunnel.Target{Server: b.URL(), Lab: l.ID, Key: l.Key, Host: "mx.sandbox.test", Port: 25})
		if err == nil {
			nc.Close()
		}
		return err
	}
	if err := dialB(); err != nil { // B holds the lab from here on
		t.Fatalf("port 25 from the datacenter through B: %v", err)
	}
	if _, err := a.Labs().SetProfile(l.ID, "home-isp"); err != nil {
		t.Fatal(err)
	}
	if err := dialB(); !errors.Is(err, tunnel.ErrRefused) {
		t.Errorf("after A put the lab at home, port 25 through B gave %v, want Connection refused", err)
	}
	if err := a.Labs().Delete(l.ID); err != nil {
		t.Fatal(err)
	}
	if err := dialB(); err == nil || errors.Is(err, tunnel.ErrRefused) {
		t.Errorf("after A deleted the lab, a tunnel through B gave %v, want no such lab", err)
	}
	req, _ := http.NewRequest("GET", b.URL()+"/api/labs/"+l.ID+"/messages", nil)
	req.Header.Set("Authorization", "Bearer "+l.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("after A deleted the lab, its mailbox through B answered %d, want 404", resp.StatusCode)
	}
	if _, _, ok := b.Labs().Lookup(l.ID); ok {
		t.Error("after A deleted the lab, B still takes its SMTP account")
	}
}
