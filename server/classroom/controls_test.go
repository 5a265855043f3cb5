package classroom_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/sandbox"
)

// sse is one Server-Sent Event.
type sse struct{ event, data string }

// openStream opens a live stream and hands its events on until the test ends.
func openStream(t *testing.T, c *client, path string) <-chan sse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	out := make(chan sse, 256)
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
				out <- sse{event, v}
			}
		}
	}()
	return out
}

// waitEvent reads the stream until an event of the kind whose data has sub.
func waitEvent(t *testing.T, ch <-chan sse, event, sub string) string {
	t.Helper()
	for e := range ch {
		if e.event == event && strings.Contains(e.data, sub) {
			return e.data
		}
	}
	t.Fatalf("the stream ended before a %q event with %q", event, sub)
	return ""
}

// deliver stores a message in a lab as the relay does: the mailbox, then
// the event.
func deliver(t *testing.T, s *sandbox.Sandbox, lab, subject string) string {
	t.Helper()
	m := &mailbox.Message{Lab: lab, From: "a@sandbox.test", To: []string{"b@sandbox.test"}, Host: "smtp.relay.test", Port: 587,
		Raw: []byte("Subject: " + subject + "\r\n\r\nhello\r\n")}
	if err := s.Store().Deliver(m); err != nil {
		t.Fatal(err)
	}
	s.Bus().Publish(events.Event{Time: time.Now(), Kind: events.Message, Lab: lab, Conn: 9, Host: "smtp.relay.test", Port: 587, MessageID: m.ID})
	return m.ID
}

// TestClassMailbox: the teacher's class mailbox lists every student's
// mail with whose it is, live on the dashboard's stream, reads a message
// as received, and clears them all; a student reads none of it.
func TestClassMailbox(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	a, ja := joinClass(t, s, cv.Code, "Ann")
	_, jb := joinClass(t, s, cv.Code, "Ben")
	live := openStream(t, tc, "/api/classroom/classes/"+cv.ID+"/events")
	waitEvent(t, live, "row", `"name":"Ben"`) // the snapshot is sent

	mid := deliver(t, s, ja.Lab.ID, "from Ann")
	deliver(t, s, jb.Lab.ID, "from Ben")
	waitEvent(t, live, "mail", `"subject":"from Ann"`)

	var box []struct {
		Student, ID, Subject string
		StudentID            string `json:"student_id"`
		Port                 int
	}
	base := "/api/classroom/classes/" + cv.ID + "/mailbox"
	tc.must(http.StatusOK, "GET", base, nil, &box)
	if len(box) != 2 || box[0].Student != "Ben" || box[1].Student != "Ann" || box[1].Subject != "from Ann" || box[1].Port != 587 {
		t.Fatalf("class mailbox: %+v", box)
	}
	code, raw := tc.do("GET", base+"/"+ja.Student+"/"+mid+"/raw", nil)
	if code != http.StatusOK || !strings.Contains(string(raw), "Subject: from Ann") {
		t.Fatalf("raw: %d %q", code, raw)
	}
	if code, _ := tc.do("GET", base+"/"+jb.Student+"/"+mid+"/raw", nil); code != http.StatusNotFound {
		t.Errorf("Ann's message under Ben's name: %d, want 404", code)
	}
	for _, p := range []string{base, base + "/" + ja.Student + "/" + mid + "/raw"} {
		if code, _ := a.do("GET", p, nil); code != http.StatusUnauthorized {
			t.Errorf("a student GET %s: %d, want 401", p, code)
		}
	}
	if code, _ := a.do("DELETE", base, nil); code != http.StatusUnauthorized {
		t.Errorf("a student cleared the class mailbox: %d, want 401", code)
	}

	tc.must(http.StatusOK, "DELETE", base, nil, nil)
	tc.must(http.StatusOK, "GET", base, nil, &box)
	if len(box) != 0 || len(s.Store().List(ja.Lab.ID)) != 0 {
		t.Fatalf("after clearing: %+v, Ann's lab holds %d", box, len(s.Store().List(ja.Lab.ID)))
	}
	var me struct{ Class struct{ Clears int } }
	a.must(http.StatusOK, "GET", "/api/classroom/me", nil, &me)
	if me.Class.Clears != 1 {
		t.Errorf("Ann's page was not told of the clearing: %+v", me)
	}
}

// dial publishes what the gateway and the relay say of connections.
func dial(s *sandbox.Sandbox, lab string, es ...events.Event) {
	for _, e := range es {
		e.Lab, e.Time = lab, time.Now()
		s.Bus().Publish(e)
	}
}

// TestPortBoardAndRoute: each student's row carries the port board in
// brief (the last connection to each port: answered, refused, timed out),
// and the teacher's transcript adds the route the student took.
func TestPortBoardAndRoute(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	_, j := joinClass(t, s, cv.Code, "Cy")
	dial(s, j.Lab.ID,
		events.Event{Kind: events.Dial, Host: "mx.sandbox.test", Port: 25, Text: "refused: home ISP blocks 25"},
		events.Event{Kind: events.Dial, Host: "legacy.mail.test", Port: 465, Text: "dropped: cloud firewall"},
		events.Event{Kind: events.Connect, Conn: 7, Host: "smtp.relay.test", Port: 587, Text: "connection from 192.0.2.10"},
		events.Event{Kind: events.TLS, Conn: 7, Host: "smtp.relay.test", Port: 587, TLSVersion: "TLS 1.3", TLSCipher: "TLS_AES_128_GCM_SHA256"},
		events.Event{Kind: events.Auth, Conn: 7, Host: "smtp.relay.test", Port: 587, User: "u", OK: true, Secure: true},
		events.Event{Kind: events.Message, Conn: 7, Host: "smtp.relay.test", Port: 587, Text: "stored"},
		events.Event{Kind: events.Reply, Conn: 7, Host: "smtp.relay.test", Port: 587, Text: "250 2.0.0 Ok: queued", Secure: true},
	)
	waitRow(t, tc, cv.ID, j.Student, func(r row) bool { return r.LastReply == "250" })
	var d struct {
		Rows []struct{ Ports map[string]string }
	}
	tc.must(http.StatusOK, "GET", "/api/classroom/classes/"+cv.ID, nil, &d)
	r := d.Rows[0]
	want := map[string]string{"25": "refused", "465": "timed out", "587": "answered"}
	if len(r.Ports) != len(want) {
		t.Fatalf("port board %v, want %v", r.Ports, want)
	}
	for p, v := range want {
		if r.Ports[p] != v {
			t.Errorf("port %s: %q, want %q", p, r.Ports[p], v)
		}
	}

	var tr struct {
		Profile string
		Lines   []struct{ Kind, Text string }
		Route   []struct {
			Host, Verdict, Why, TLS, Auth, Last string
			Port, Messages                      int
		}
	}
	tc.must(http.StatusOK, "GET", "/api/classroom/classes/"+cv.ID+"/students/"+j.Student+"/transcript", nil, &tr)
	for _, l := range tr.Lines {
		if l.Kind == "tls" && l.Text != "TLS 1.3 TLS_AES_128_GCM_SHA256" {
			t.Errorf("the transcript's TLS line: %q", l.Text)
		}
	}
	if len(tr.Route) != 3 || tr.Profile == "" {
		t.Fatalf("route: %+v", tr)
	}
	if h := tr.Route[0]; h.Port != 25 || h.Verdict != "refused" || !strings.Contains(h.Why, "home ISP") {
		t.Errorf("first hop: %+v", h)
	}
	if h := tr.Route[1]; h.Port != 465 || h.Verdict != "timed out" {
		t.Errorf("second hop: %+v", h)
	}
	if h := tr.Route[2]; h.Port != 587 || h.Verdict != "answered" || h.TLS != "TLS 1.3" || h.Auth != "accepted" || h.Messages != 1 || h.Last != "250 2.0.0 Ok: queued" {
		t.Errorf("third hop: %+v", h)
	}
}

// TestResetLabs: "reset every lab" empties each student's mailbox,
// transcript and port board, keeps their progress, and tells their pages.
func TestResetLabs(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	a, j := joinClass(t, s, cv.Code, "Di")
	a.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "first-contact", "step": 5, "total": 5, "state": "passed"}, nil)
	deliver(t, s, j.Lab.ID, "before")
	dial(s, j.Lab.ID, events.Event{Kind: events.Dial, Host: "mx.sandbox.test", Port: 25, Text: "refused: blocked"},
		events.Event{Kind: events.Reply, Conn: 3, Host: "mx.sandbox.test", Port: 25, Text: "220 hi"})
	waitRow(t, tc, cv.ID, j.Student, func(r row) bool { return r.LastReply == "220" })

	tc.must(http.StatusOK, "POST", "/api/classroom/classes/"+cv.ID+"/reset", nil, nil)
	var d struct {
		Rows []struct {
			Ports     map[string]string
			LastReply string `json:"last_reply"`
			Passed    []string
		}
	}
	tc.must(http.StatusOK, "GET", "/api/classroom/classes/"+cv.ID, nil, &d)
	if r := d.Rows[0]; len(r.Ports) != 0 || r.LastReply != "" || len(r.Passed) != 1 {
		t.Errorf("row after the reset: %+v", r)
	}
	if n := len(s.Store().List(j.Lab.ID)); n != 0 {
		t.Errorf("the lab holds %d messages after the reset", n)
	}
	var tr struct{ Lines []any }
	a.must(http.StatusOK, "GET", "/api/classroom/me/transcript", nil, &tr)
	if len(tr.Lines) != 0 {
		t.Errorf("transcript after the reset: %+v", tr)
	}
	var me struct{ Class struct{ Resets int } }
	a.must(http.StatusOK, "GET", "/api/classroom/me", nil, &me)
	if me.Class.Resets != 1 {
		t.Errorf("the page was not told of the reset: %+v", me)
	}
	if code, _ := a.do("POST", "/api/classroom/classes/"+cv.ID+"/reset", nil); code != http.StatusUnauthorized {
		t.Errorf("a student reset the class: %d, want 401", code)
	}
}

// TestRouteInTeachersLanguage: a student at home knocks on port 25
// through the real gateway; the teacher reading the route in German sees
// the network's reason in German, in English in English. The reason was
// English on every page.
func TestRouteInTeachersLanguage(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	_, j := joinClass(t, s, cv.Code, "Di")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := (tunnel.Dialer{}).Dial(ctx, tunnel.Target{Server: s.URL(), Lab: j.Lab.ID, Key: j.Lab.Key, Profile: "home-isp", Host: "mx.sandbox.test", Port: 25}); !errors.Is(err, tunnel.ErrRefused) {
		t.Fatalf("port 25 from home: %v, want refused", err)
	}
	type route struct {
		Route []struct {
			Port         int
			Verdict, Why string
		}
	}
	read := func(lang string) route {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var tr route
			tc.must(http.StatusOK, "GET", "/api/classroom/classes/"+cv.ID+"/students/"+j.Student+"/transcript?lang="+lang, nil, &tr)
			if len(tr.Route) > 0 {
				return tr
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("no route after the dial (%s)", lang)
			}
		}
	}
	de, en := read("de"), read("en")
	if h := de.Route[0]; h.Port != 25 || h.Verdict != "refused" || !strings.Contains(h.Why, "abgewiesen") {
		t.Errorf("the German route: %+v", h)
	}
	if h := en.Route[0]; !strings.Contains(h.Why, "is refused") {
		t.Errorf("the English route: %+v", h)
	}
}
