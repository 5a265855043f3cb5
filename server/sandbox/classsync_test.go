package sandbox

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/smtp"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/internal/pgtest"
)

// These tests run several sandboxes on one PostgreSQL database, as the
// replicas of deploy/kubernetes do: any replica serves any class request,
// and what one does reaches the others' live streams without polling.

const classPassword = "correct horse"

// replicas starts n sandboxes on one new database, each with real SMTP
// listeners on free ports.
func replicas(t *testing.T, n int) []*Sandbox {
	t.Helper()
	dsn := pgtest.DSN(t)
	var out []*Sandbox
	for range n {
		s, err := New(Config{Store: dsn, TeacherPassword: classPassword, PortOffset: "-1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		out = append(out, s)
	}
	return out
}

// on is the same browser (cookies, token) on another replica: a load
// balancer sent its next request there.
func (p *page) on(s *Sandbox) *page {
	q := *p
	q.base = s.URL()
	return &q
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ event, data string }

// stream opens a live stream for p and hands its events on until it
// ends (the replica closed) or the test does.
func (p *page) stream(path string) <-chan sseEvent {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // a failure bound only
	p.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	res, err := p.http.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		p.t.Fatalf("GET %s: %s", path, res.Status)
	}
	out := make(chan sseEvent, 1024)
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
				out <- sseEvent{event, v}
			}
		}
	}()
	return out
}

// await reads a stream until an event of kind whose data ok accepts.
func await[T any](t *testing.T, ch <-chan sseEvent, kind string, ok func(T) bool) T {
	t.Helper()
	for e := range ch {
		var v T
		if e.event == kind && json.Unmarshal([]byte(e.data), &v) == nil && ok(v) {
			return v
		}
	}
	var zero T
	t.Fatalf("the stream ended before the %s event awaited", kind)
	return zero
}

// awaitAll reads ch until every one of conds has been met by some event,
// in any order: rows and mail cross replicas on separate channels, so a
// student's mail may come before their row, and awaiting one then the
// other would throw the early one away.
func awaitAll(t *testing.T, ch <-chan sseEvent, conds ...func(sseEvent) bool) {
	t.Helper()
	met := make([]bool, len(conds))
	left := len(conds)
	for e := range ch {
		for i, c := range conds {
			if !met[i] && c(e) {
				met[i], left = true, left-1
			}
		}
		if left == 0 {
			return
		}
	}
	t.Fatalf("the stream ended with %d of %d awaited events missing", left, len(conds))
}

// is turns a typed condition on one kind of event into one for awaitAll.
func is[T any](kind string, ok func(T) bool) func(sseEvent) bool {
	return func(e sseEvent) bool {
		var v T
		return e.event == kind && json.Unmarshal([]byte(e.data), &v) == nil && ok(v)
	}
}

type classRow struct {
	ID, Name, Lesson, State string
	Step                    int
	Passed                  []string
	LastReply               string `json:"last_reply"`
	Lab                     string
}

type classMail struct {
	StudentID string `json:"student_id"`
	Subject   string
}

type classNotice struct {
	Name, Profile string
	Resets        int
}

type joinAnswer struct {
	Token, Student string
	Lab            struct{ ID, User, Password, Key, Profile string }
}

// submit sends one message on a replica's port 587 with a lab's account
// and fails the test unless it is accepted with 250.
func submit(t *testing.T, s *Sandbox, user, password, subject string) {
	t.Helper()
	c, err := smtp.Dial(s.SMTPAddr(587))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{ServerName: "smtp.relay.test", RootCAs: s.Roots()}); err != nil {
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

func progressRecord(step int, state string) map[string]any {
	return map[string]any{"kind": "progress", "lesson": "first-contact", "step": step, "total": 5, "state": state}
}

// TestClassAcrossReplicas: the teacher signs in on A and creates a class;
// a student joins on B; the dashboard's stream is open on C with the
// same cookie. The student's progress posted on A and a message the
// student's lab takes on A's port 587 show on C's stream; the teacher's
// profile for everyone, set on C, reaches the student's page's stream
// open on B.
func TestClassAcrossReplicas(t *testing.T) {
	rs := replicas(t, 3)
	a, b, c := rs[0], rs[1], rs[2]
	teach := browser(t, a)
	teach.call(http.StatusOK, "POST", "/api/classroom/session", map[string]string{"password": classPassword}, nil)
	var class struct{ ID, Code string }
	teach.call(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Networks 1"}, &class)

	student := browser(t, b)
	var j joinAnswer
	student.call(http.StatusCreated, "POST", "/api/classroom/join", map[string]string{"code": class.Code, "name": "Ada"}, &j)
	student.token = j.Token

	dash := teach.on(c).stream("/api/classroom/classes/" + class.ID + "/events")
	await(t, dash, "row", func(r classRow) bool { return r.ID == j.Student && r.Lab == j.Lab.ID })
	me := student.stream("/api/classroom/me/events")
	await(t, me, "class", func(n classNotice) bool { return n.Name == "Networks 1" })

	student.on(a).call(http.StatusNoContent, "POST", "/api/classroom/me/progress", progressRecord(3, "running"), nil)
	await(t, dash, "row", func(r classRow) bool { return r.ID == j.Student && r.Lesson == "first-contact" && r.Step == 3 })

	submit(t, a, j.Lab.User, j.Lab.Password, "across replicas")
	await(t, dash, "mail", func(m classMail) bool {
		return m.StudentID == j.Student && m.Subject == "across replicas"
	})
	// The transcript C keeps has the AUTH made on A, before the message.
	var tr struct{ Lines []struct{ Kind, Text string } }
	teach.on(c).call(http.StatusOK, "GET", "/api/classroom/classes/"+class.ID+"/students/"+j.Student+"/transcript", nil, &tr)
	if !slices.ContainsFunc(tr.Lines, func(l struct{ Kind, Text string }) bool { return l.Text == "AUTH "+j.Lab.User+" accepted" }) {
		t.Errorf("C's transcript of the student lacks the AUTH on A: %+v", tr.Lines)
	}

	teach.on(c).call(http.StatusOK, "POST", "/api/classroom/classes/"+class.ID+"/profile", map[string]string{"profile": "hotel-wifi"}, nil)
	await(t, me, "class", func(n classNotice) bool { return n.Profile == "hotel-wifi" })
	teach.on(c).call(http.StatusOK, "POST", "/api/classroom/classes/"+class.ID+"/reset", nil, nil)
	await(t, me, "class", func(n classNotice) bool { return n.Resets == 1 })
	// B made the lab at the join and holds it: its next tunnel takes the
	// network C set, not the one B kept.
	labPage := browser(t, b)
	labPage.token = j.Lab.Key
	var l struct{ Profile string }
	labPage.call(http.StatusOK, "GET", "/api/labs/"+j.Lab.ID, nil, &l)
	if l.Profile != "hotel-wifi" {
		t.Errorf("B's lab is on %q after the profile for everyone set on C, want hotel-wifi", l.Profile)
	}

	// Signed out on B: signed out on every replica.
	teach.on(b).call(http.StatusNoContent, "DELETE", "/api/classroom/session", nil, nil)
	for _, s := range rs {
		var st struct{ Teacher bool }
		teach.on(s).call(http.StatusOK, "GET", "/api/classroom/session", nil, &st)
		if st.Teacher {
			t.Errorf("%s still knows the teacher after the sign-out on B", s.URL())
		}
	}
}

// TestReplicaDiesMidClass: three replicas, a class with a student joined
// on each, each with a lab, progress and a message accepted with 250.
// The replica serving the dashboard (and one student) closes: on the
// survivors every student, lab (opened with its key), message and
// progress record is still there, the dashboard opened again on another
// replica shows every student with their progress, and the students go
// on posting progress and sending mail.
func TestReplicaDiesMidClass(t *testing.T) {
	rs := replicas(t, 3)
	teach := browser(t, rs[0])
	teach.call(http.StatusOK, "POST", "/api/classroom/session", map[string]string{"password": classPassword}, nil)
	var class struct{ ID, Code string }
	teach.call(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Networks 2"}, &class)
	dash := teach.stream("/api/classroom/classes/" + class.ID + "/events")

	names := []string{"Ada", "Bo", "Cy"}
	students := make([]*page, len(names))
	joins := make([]joinAnswer, len(names))
	for i, s := range rs {
		students[i] = browser(t, s)
		students[i].call(http.StatusCreated, "POST", "/api/classroom/join", map[string]string{"code": class.Code, "name": names[i]}, &joins[i])
		students[i].token = joins[i].Token
		students[i].call(http.StatusNoContent, "POST", "/api/classroom/me/progress", progressRecord(5, "passed"), nil)
		submit(t, s, joins[i].Lab.User, joins[i].Lab.Password, "before "+names[i])
	}
	passed := func() []func(sseEvent) bool {
		var conds []func(sseEvent) bool
		for _, j := range joins {
			conds = append(conds, is("row", func(r classRow) bool { return r.ID == j.Student && slices.Contains(r.Passed, "first-contact") }))
		}
		return conds
	}
	awaitAll(t, dash, passed()...)

	rs[0].Close() // the dashboard's replica, and Ada's
	for range dash {
	} // the stream ends with it
	survivors := rs[1:]

	dash = teach.on(survivors[0]).stream("/api/classroom/classes/" + class.ID + "/events")
	awaitAll(t, dash, passed()...)
	for i, j := range joins {
		s := survivors[i%2]
		p := students[i].on(s)
		var me joinAnswer
		p.call(http.StatusOK, "GET", "/api/classroom/me", nil, &me)
		if me.Lab.ID != j.Lab.ID || me.Lab.Key != j.Lab.Key {
			t.Errorf("%s on %s: lab %s, want the one joined with, %s", names[i], s.URL(), me.Lab.ID, j.Lab.ID)
		}
		var msgs []struct{ Subject string }
		lab := browser(t, s)
		lab.token = j.Lab.Key
		lab.call(http.StatusOK, "GET", "/api/labs/"+j.Lab.ID+"/messages", nil, &msgs)
		if len(msgs) != 1 || msgs[0].Subject != "before "+names[i] {
			t.Errorf("%s's lab on %s holds %+v, want the message accepted before", names[i], s.URL(), msgs)
		}
		p.call(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "open", "lesson": "bounces", "total": 4}, nil)
		submit(t, s, j.Lab.User, j.Lab.Password, "after "+names[i])
		awaitAll(t, dash,
			is("row", func(r classRow) bool { return r.ID == j.Student && r.Lesson == "bounces" }),
			is("mail", func(m classMail) bool { return m.StudentID == j.Student && m.Subject == "after "+names[i] }))
	}
}

// TestBenchCrossReplicaProgress (PORTLAB_BENCH=1) reports the delay from
// the answer to a progress record posted on replica A to the student's
// row on the dashboard's stream on B.
func TestBenchCrossReplicaProgress(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("a measurement: PORTLAB_BENCH=1")
	}
	rs := replicas(t, 2)
	a, b := rs[0], rs[1]
	teach := browser(t, a)
	teach.call(http.StatusOK, "POST", "/api/classroom/session", map[string]string{"password": classPassword}, nil)
	var class struct{ ID, Code string }
	teach.call(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Bench"}, &class)
	student := browser(t, a)
	var j joinAnswer
	student.call(http.StatusCreated, "POST", "/api/classroom/join", map[string]string{"code": class.Code, "name": "Ada"}, &j)
	student.token = j.Token
	dash := teach.on(b).stream("/api/classroom/classes/" + class.ID + "/events")
	await(t, dash, "row", func(r classRow) bool { return r.ID == j.Student })
	const n = 200
	var delays, posts []time.Duration
	for i := range n {
		start := time.Now()
		student.call(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "first-contact", "step": i%5 + 1, "total": 5, "state": "running"}, nil)
		answered := time.Now()
		posts = append(posts, answered.Sub(start))
		await(t, dash, "row", func(r classRow) bool { return r.Step == i%5+1 })
		delays = append(delays, time.Since(answered))
	}
	slices.Sort(delays)
	slices.Sort(posts)
	t.Logf("%d records: POST on A answered in p50 %v, p95 %v; then on B's stream after p50 %v, p95 %v, max %v",
		n, posts[n/2], posts[n*95/100], delays[n/2], delays[n*95/100], delays[n-1])
}
