package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/internal/pgtest"
)

// killBound bounds every wait of this file: a failure bound only, never a
// timed assertion.
const killBound = 30 * time.Second

// replicaProc is one `portlab serve` process: its web URL, its real port
// 587, and how to kill it.
type replicaProc struct {
	url, smtp587 string
	cmd          *exec.Cmd
	log          string        // its stderr
	started      chan struct{} // closed once the start-up text is read
	done         chan struct{} // closed when the process has exited
}

// kill ends the process with SIGKILL (no drain, no goodbye) and waits
// for it to exit.
func (r *replicaProc) kill(t *testing.T) {
	t.Helper()
	r.cmd.Process.Kill()
	select {
	case <-r.done:
	case <-time.After(killBound):
		t.Fatalf("%s still runs after SIGKILL", r.url)
	}
}

// startReplica starts `portlab serve` with args; ready waits for it.
func startReplica(t *testing.T, bin string, args ...string) *replicaProc {
	t.Helper()
	data := t.TempDir()
	cmd := exec.Command(bin, append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--smtp-host", "127.0.0.1", "--port-offset", "-1"}, args...)...)
	// Only the flags given: no $PORTLAB_ twin of the test's environment.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, "PORTLAB_") })
	logFile, err := os.Create(filepath.Join(data, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replicaProc{cmd: cmd, done: make(chan struct{}), started: make(chan struct{}), log: logFile.Name()}
	go func() {
		// Read to the end, so the process never blocks on a full pipe.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "web: "); ok {
				r.url = strings.TrimSuffix(v, "/")
			}
			// "Demo account: ... swaks --server ADDR ..." ends the table
			// and names port 587's real address.
			if _, rest, ok := strings.Cut(line, "swaks --server "); ok {
				r.smtp587, _, _ = strings.Cut(rest, " ")
				close(r.started)
			}
		}
		cmd.Wait()
		logFile.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
		if t.Failed() {
			b, _ := os.ReadFile(r.log)
			t.Logf("replica %s stderr:\n%s", r.url, b)
		}
	})
	return r
}

// ready reads the web URL and the port 587 address from the replica's
// start-up text and waits for its /readyz.
func (r *replicaProc) ready(t *testing.T) {
	t.Helper()
	select {
	case <-r.started:
	case <-r.done:
		t.Fatal("portlab serve exited before its start-up text")
	case <-time.After(killBound):
		t.Fatal("portlab serve printed no start-up text")
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(killBound)
	for {
		if res, err := http.Get(r.url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s/readyz never answered 200", r.url)
		}
	}
}

// rkPage is one browser: cookies, the replica it talks to, a bearer
// token. The cookie jar keys on the host, not the port, so one page's
// cookie goes to every replica, as behind one load balancer.
type rkPage struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string
}

func rkBrowser(t *testing.T, r *replicaProc) *rkPage {
	jar, _ := cookiejar.New(nil)
	return &rkPage{t: t, base: r.url, http: &http.Client{Jar: jar}}
}

// on is the same browser sent to another replica.
func (p *rkPage) on(r *replicaProc) *rkPage {
	q := *p
	q.base = r.url
	return &q
}

// call does a request that must answer want, and decodes its body into v.
func (p *rkPage) call(want int, method, path string, body, v any) {
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
		p.t.Fatalf("%s %s%s: %d %s, want %d", method, p.base, path, res.StatusCode, got, want)
	}
	if v != nil {
		if err := json.Unmarshal(got, v); err != nil {
			p.t.Fatalf("%s %s: %v in %s", method, path, err, got)
		}
	}
}

type rkEvent struct{ event, data string }

// stream opens a Server-Sent Events stream and hands its events on until
// it ends (its replica died) or the test does.
func (p *rkPage) stream(path string) <-chan rkEvent {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), killBound) // a failure bound only
	p.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	res, err := p.http.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("GET %s: %s", path, res.Status)
	}
	out := make(chan rkEvent, 1024)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		event := ""
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- rkEvent{event, v}
			}
		}
	}()
	return out
}

// rkWant is one event awaited on a stream.
type rkWant struct {
	what string
	ok   func(rkEvent) bool
}

// rkExpect is an event of kind whose data, decoded into T, ok accepts.
func rkExpect[T any](kind, what string, ok func(T) bool) rkWant {
	return rkWant{what, func(e rkEvent) bool {
		var v T
		return e.event == kind && json.Unmarshal([]byte(e.data), &v) == nil && ok(v)
	}}
}

// rkAwait reads a stream until every event of wants has passed, in any
// order: the rows and the mail cross replicas on channels of their own,
// so one student's mail may come before their row, and one student's
// row before another's.
func rkAwait(t *testing.T, ch <-chan rkEvent, wants ...rkWant) {
	t.Helper()
	wants = slices.Clone(wants) // the caller's may serve again
	var seen []string
	for e := range ch {
		wants = slices.DeleteFunc(wants, func(w rkWant) bool { return w.ok(e) })
		if len(wants) == 0 {
			return
		}
		seen = append(seen, e.event+" "+e.data)
	}
	var missing []string
	for _, w := range wants {
		missing = append(missing, w.what)
	}
	t.Fatalf("the stream ended before %s; it passed:\n%s", strings.Join(missing, ", "), strings.Join(seen, "\n"))
}

type rkRow struct {
	ID, Lesson string
	Passed     []string
}

type rkMail struct {
	StudentID string `json:"student_id"`
	Subject   string
}

type rkJoin struct {
	Token, Student string
	Lab            struct{ ID, User, Password, Key string }
}

// rkSubmission opens port 587 at addr: STARTTLS trusting the sandbox CA,
// AUTH PLAIN, MAIL and RCPT accepted.
func rkSubmission(t *testing.T, addr string, roots *x509.CertPool, user, password string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.StartTLS(&tls.Config{ServerName: "smtp.relay.test", RootCAs: roots}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", user, password, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("foo@sandbox.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bob@sandbox.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// rkSubmit sends one message and fails the test unless it gets 250.
func rkSubmit(t *testing.T, addr string, roots *x509.CertPool, user, password, subject string) {
	t.Helper()
	c := rkSubmission(t, addr, roots, user, password)
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: "+subject+"\r\n\r\nhello\r\n")
	if err := w.Close(); err != nil { // the 250
		t.Fatal(err)
	}
	c.Quit()
}

// TestReplicaKilledMidClass: three `portlab serve` processes on one
// PostgreSQL database and one CA (issue 14). A class with a student
// joined on each replica, each with progress and a message acknowledged
// with 250; the dashboard's stream open on B and a session on B's port
// 587 in the middle of DATA. B gets SIGKILL. On the survivors A and C
// every student's lab, its one acknowledged message (not the half-sent
// one) and their progress are still there, and the students go on: the
// dashboard opened again on C shows their new progress and mail.
func TestReplicaKilledMidClass(t *testing.T) {
	dsn := pgtest.DSN(t) // first: skips (or fails under make test) without PostgreSQL
	bin := os.Getenv("PORTLAB_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "portlab")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	// One CA for every replica, made once, as a mounted Secret would be.
	caDir := t.TempDir()
	if out, err := exec.Command(bin, "ca", "--data", caDir).CombinedOutput(); err != nil {
		t.Fatalf("portlab ca: %v\n%s", err, out)
	}
	const password = "correct horse"
	pwFile := filepath.Join(t.TempDir(), "teacher-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Started together, as a Deployment's replicas are (the schema's
	// migration takes a lock).
	var rs []*replicaProc
	for range 3 {
		rs = append(rs, startReplica(t, bin, "--store", dsn, "--ca-dir", caDir, "--teacher-password-file", pwFile))
	}
	for _, r := range rs {
		r.ready(t)
	}
	a, b, c := rs[0], rs[1], rs[2]
	caPEM, err := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	for _, r := range rs { // every replica serves the one CA
		res, err := http.Get(r.url + "/ca.pem")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Equal(got, caPEM) {
			t.Fatalf("%s/ca.pem is not the CA given", r.url)
		}
		roots.AppendCertsFromPEM(got)
	}

	teach := rkBrowser(t, a)
	teach.call(http.StatusOK, "POST", "/api/classroom/session", map[string]string{"password": password}, nil)
	var class struct{ ID, Code string }
	teach.call(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Networks 3"}, &class)
	dash := teach.on(b).stream("/api/classroom/classes/" + class.ID + "/events")

	names := []string{"Ada", "Bo", "Cy"}
	students := make([]*rkPage, len(names))
	joins := make([]rkJoin, len(names))
	for i, r := range rs {
		students[i] = rkBrowser(t, r)
		students[i].call(http.StatusCreated, "POST", "/api/classroom/join", map[string]string{"code": class.Code, "name": names[i]}, &joins[i])
		students[i].token = joins[i].Token
		students[i].call(http.StatusNoContent, "POST", "/api/classroom/me/progress",
			map[string]any{"kind": "progress", "lesson": "first-contact", "step": 5, "total": 5, "state": "passed"}, nil)
		rkSubmit(t, r.smtp587, roots, joins[i].Lab.User, joins[i].Lab.Password, "before "+names[i])
	}
	// Every student's first-contact passed, on a dashboard.
	var passedAll []rkWant
	for i, j := range joins {
		passedAll = append(passedAll, rkExpect("row", names[i]+" passed first-contact", func(r rkRow) bool {
			return r.ID == j.Student && slices.Contains(r.Passed, "first-contact")
		}))
	}
	rkAwait(t, dash, passedAll...)

	// Bo's next message is half sent on B when B dies: body lines, no
	// final dot, so never acknowledged.
	half := rkSubmission(t, b.smtp587, roots, joins[1].Lab.User, joins[1].Lab.Password)
	id, err := half.Text.Cmd("DATA")
	if err != nil {
		t.Fatal(err)
	}
	half.Text.StartResponse(id)
	_, _, err = half.Text.ReadResponse(354)
	half.Text.EndResponse(id)
	if err != nil {
		t.Fatal(err)
	}
	half.Text.W.WriteString("Subject: half-sent\r\n\r\nfirst line\r\nsecond line\r\n")
	if err := half.Text.W.Flush(); err != nil {
		t.Fatal(err)
	}

	b.kill(t)
	for range dash {
	} // the dashboard's stream ends with B

	// The survivors take every request a load balancer sends them now.
	survivors := []*replicaProc{a, c}
	dash = teach.on(c).stream("/api/classroom/classes/" + class.ID + "/events")
	rkAwait(t, dash, passedAll...)
	for i, j := range joins {
		s := survivors[i%2]
		p := students[i].on(s)
		var me rkJoin
		p.call(http.StatusOK, "GET", "/api/classroom/me", nil, &me)
		if me.Lab.ID != j.Lab.ID || me.Lab.Key != j.Lab.Key {
			t.Errorf("%s on %s: lab %s, want the one joined with, %s", names[i], s.url, me.Lab.ID, j.Lab.ID)
		}
		var msgs []struct{ Subject string }
		lab := rkBrowser(t, s)
		lab.token = j.Lab.Key
		lab.call(http.StatusOK, "GET", "/api/labs/"+j.Lab.ID+"/messages", nil, &msgs)
		if len(msgs) != 1 || msgs[0].Subject != "before "+names[i] {
			t.Errorf("%s's lab on %s holds %+v, want only the message acknowledged before the kill", names[i], s.url, msgs)
		}
		p.call(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "open", "lesson": "bounces", "total": 4}, nil)
		rkSubmit(t, s.smtp587, roots, j.Lab.User, j.Lab.Password, "after "+names[i])
		rkAwait(t, dash,
			rkExpect("row", names[i]+" opened bounces", func(r rkRow) bool { return r.ID == j.Student && r.Lesson == "bounces" }),
			rkExpect("mail", "after "+names[i], func(m rkMail) bool { return m.StudentID == j.Student && m.Subject == "after "+names[i] }))
	}
}
