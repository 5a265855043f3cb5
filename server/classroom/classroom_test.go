package classroom_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/leakcheck"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/sandbox"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const password = "correct horse"

func start(t *testing.T, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	if cfg.TeacherPassword == "" {
		cfg.TeacherPassword = password
	}
	s, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// client is one browser: a cookie jar, and the headers its pages send.
type client struct {
	t      *testing.T
	base   string
	http   *http.Client
	origin string // sent on every request that is not a GET, as a browser does
	token  string // a student's token, sent as a bearer
}

func newClient(t *testing.T, s *sandbox.Sandbox) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.URL(), http: &http.Client{Jar: jar}, origin: s.URL()}
}

func (c *client) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet && c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// must does a request that must answer want, and decodes its body into v.
func (c *client) must(want int, method, path string, body, v any) {
	c.t.Helper()
	code, b := c.do(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

type classView struct {
	ID, Name, Code string
	JoinURL        string `json:"join_url"`
	Profile        string
	Locked         bool
	Students       int
}

type row struct {
	ID, Name, Lesson, State, Stuck string
	Step, Total, Hints, Fails      int
	Passed, Watched                []string
	LastReply                      string `json:"last_reply"`
	Lab                            string
}

type joined struct {
	Token, Student, Name string
	Lab                  struct{ ID, Key, Profile string }
	Class                struct{ Name, Lesson, Profile string }
}

func teacher(t *testing.T, s *sandbox.Sandbox) *client {
	t.Helper()
	c := newClient(t, s)
	c.must(http.StatusOK, "POST", "/api/classroom/session", map[string]string{"password": password}, nil)
	return c
}

func newClass(t *testing.T, tc *client, name string) classView {
	t.Helper()
	var cv classView
	tc.must(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": name}, &cv)
	return cv
}

func joinClass(t *testing.T, s *sandbox.Sandbox, code, name string) (*client, joined) {
	t.Helper()
	sc := newClient(t, s)
	var j joined
	sc.must(http.StatusCreated, "POST", "/api/classroom/join", map[string]string{"code": code, "name": name}, &j)
	sc.token = j.Token
	return sc, j
}

// TestKeptAcrossRestart: a class, its students and their progress survive
// a restart on the same --data, and a student's token still opens their
// place in the class, with a new lab.
func TestKeptAcrossRestart(t *testing.T) {
	data := t.TempDir()
	s := start(t, sandbox.Config{Data: data})
	tc := teacher(t, s)
	cv := newClass(t, tc, "Networks 1")
	if len(cv.Code) != 6 || !strings.HasSuffix(cv.JoinURL, "/join/"+cv.Code) {
		t.Fatalf("class %+v: want a 6-character code and its join link", cv)
	}
	sc, j := joinClass(t, s, strings.ToLower(cv.Code), "Ada")
	if j.Lab.ID == "" || j.Lab.Key == "" || j.Class.Name != "Networks 1" {
		t.Fatalf("join answered %+v", j)
	}
	sc.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "first-contact", "step": 5, "total": 5, "state": "passed", "steps": map[string]string{"ehlo": "student"}}, nil)
	sc.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "hint", "lesson": "tls-before-auth", "step": 1, "total": 6, "state": "running"}, nil)
	s.Close()

	s2 := start(t, sandbox.Config{Data: data})
	tc2 := teacher(t, s2)
	var d struct {
		Class classView
		Rows  []row
	}
	tc2.must(http.StatusOK, "GET", "/api/classroom/classes/"+cv.ID, nil, &d)
	if d.Class.Code != cv.Code || len(d.Rows) != 1 {
		t.Fatalf("after the restart: %+v", d)
	}
	r := d.Rows[0]
	if r.Name != "Ada" || len(r.Passed) != 1 || r.Passed[0] != "first-contact" || r.Hints != 1 || r.Lesson != "tls-before-auth" {
		t.Fatalf("row after the restart: %+v", r)
	}
	// The page carries on: its token opens the student's place, and the
	// lab (labs live in memory) is a new one.
	sc.base = s2.URL()
	sc.origin = s2.URL()
	var me joined
	sc.must(http.StatusOK, "GET", "/api/classroom/me", nil, &me)
	if me.Name != "Ada" || me.Lab.ID == "" || me.Lab.ID == j.Lab.ID || me.Lab.Key == "" {
		t.Fatalf("me after the restart: %+v (lab before %s)", me, j.Lab.ID)
	}
	var again joined
	sc.must(http.StatusOK, "GET", "/api/classroom/me", nil, &again)
	if again.Lab.ID != me.Lab.ID {
		t.Errorf("a second visit got another lab: %s, then %s", me.Lab.ID, again.Lab.ID)
	}
}

// TestTeacherRoutesRefused: without the session, from another origin,
// or with a student's token, teacher routes answer nothing of the class.
func TestTeacherRoutesRefused(t *testing.T) {
	s := start(t, sandbox.Config{Origins: []string{"docs.example.com"}})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	sc, _ := joinClass(t, s, cv.Code, "Bo")

	anon := newClient(t, s)
	for _, p := range []string{"/api/classroom/classes", "/api/classroom/classes/" + cv.ID, "/api/classroom/classes/" + cv.ID + "/events", "/api/classroom/classes/" + cv.ID + "/export.csv", "/api/classroom/classes/" + cv.ID + "/qr.svg"} {
		if code, _ := anon.do("GET", p, nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a session: %d, want 401", p, code)
		}
		if code, _ := sc.do("GET", p, nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a student token: %d, want 401", p, code)
		}
	}
	// An embedding site may open tunnels (httpguard lets it through), but
	// not act as the teacher, even with the teacher's cookie.
	for _, origin := range []string{"https://docs.example.com", "https://evil.example"} {
		tc.origin = origin
		if code, b := tc.do("PATCH", "/api/classroom/classes/"+cv.ID, map[string]any{"locked": true}); code != http.StatusForbidden {
			t.Errorf("PATCH from %s: %d %s, want 403", origin, code, b)
		}
		if code, _ := tc.do("POST", "/api/classroom/classes", map[string]any{"name": "x"}); code != http.StatusForbidden {
			t.Errorf("POST a class from %s: %d, want 403", origin, code)
		}
	}
	tc.origin = s.URL()
	tc.must(http.StatusOK, "PATCH", "/api/classroom/classes/"+cv.ID, map[string]any{"locked": true}, nil)
	// A form post (what another site can send without asking) is refused.
	req, _ := http.NewRequest("POST", s.URL()+"/api/classroom/classes", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := tc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a form post: %d, want 415", res.StatusCode)
	}
}

// TestStudentSeesOnlyOwnTranscript: a student's token reads that student's
// transcript, and no route takes another student's.
func TestStudentSeesOnlyOwnTranscript(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	a, ja := joinClass(t, s, cv.Code, "Ann")
	b, jb := joinClass(t, s, cv.Code, "Ben")
	s.Bus().Publish(events.Event{Time: time.Now(), Kind: events.Command, Lab: ja.Lab.ID, Text: "EHLO ann-secret"})
	s.Bus().Publish(events.Event{Time: time.Now(), Kind: events.Reply, Lab: ja.Lab.ID, Text: "250-mx.sandbox.test"})

	var tr struct{ Lines []struct{ Text string } }
	// The bus delivers to the classroom asynchronously: the teacher's
	// view shows the reply once the row says so.
	waitRow(t, tc, cv.ID, ja.Student, func(r row) bool { return r.LastReply == "250" })
	a.must(http.StatusOK, "GET", "/api/classroom/me/transcript", nil, &tr)
	if len(tr.Lines) != 2 || tr.Lines[0].Text != "EHLO ann-secret" {
		t.Fatalf("Ann's transcript: %+v", tr)
	}
	b.must(http.StatusOK, "GET", "/api/classroom/me/transcript", nil, &tr)
	if len(tr.Lines) != 0 {
		t.Fatalf("Ben's transcript shows %+v", tr)
	}
	for _, p := range []string{
		"/api/classroom/classes/" + cv.ID + "/students/" + ja.Student + "/transcript",
		"/api/classroom/me/transcript?student=" + ja.Student,
	} {
		code, body := b.do("GET", p, nil)
		if strings.Contains(string(body), "ann-secret") {
			t.Errorf("Ben read Ann's transcript at %s (%d)", p, code)
		}
	}
	// The teacher reads both.
	tc.must(http.StatusOK, "GET", "/api/classroom/classes/"+cv.ID+"/students/"+ja.Student+"/transcript", nil, &tr)
	if len(tr.Lines) != 2 {
		t.Errorf("the teacher's view of Ann's transcript: %+v", tr)
	}
	_ = jb
}

// waitRow reads the class's rows until one of the student's satisfies ok.
// The dashboard's stream is what a teacher sees, so the test reads it too.
func waitRow(t *testing.T, tc *client, class, student string, ok func(row) bool) row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", tc.base+"/api/classroom/classes/"+class+"/events", nil)
	res, err := tc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("dashboard stream: %d", res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, found := strings.CutPrefix(line, "data: "); found && event == "row" {
			var r row
			json.Unmarshal([]byte(v), &r)
			if r.ID == student && ok(r) {
				return r
			}
		}
	}
	t.Fatalf("the dashboard never showed the row wanted: %v", sc.Err())
	return row{}
}

// TestDashboardLive: the dashboard's stream sends a student's row when
// the student's page posts progress, and marks the student stuck after
// the class's number of failures of one step.
func TestDashboardLive(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	sc, j := joinClass(t, s, cv.Code, "Cy")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/classroom/classes/"+cv.ID+"/events", nil)
	res, err := tc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows := make(chan row, 64)
	go func() {
		defer close(rows)
		sc := bufio.NewScanner(res.Body)
		event := ""
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok && event == "row" {
				var r row
				json.Unmarshal([]byte(v), &r)
				rows <- r
			}
		}
	}()
	next := func(ok func(row) bool) row {
		t.Helper()
		for r := range rows {
			if r.ID == j.Student && ok(r) {
				return r
			}
		}
		t.Fatal("the stream ended before the row wanted")
		return row{}
	}
	next(func(r row) bool { return r.Name == "Cy" }) // the snapshot
	sc.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "tls-before-auth", "step": 2, "total": 6, "state": "running"}, nil)
	r := next(func(r row) bool { return r.Step == 2 })
	if r.Lesson != "tls-before-auth" || r.Total != 6 || r.Stuck != "" {
		t.Fatalf("row after progress: %+v", r)
	}
	for range 3 {
		sc.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "step-failed", "lesson": "tls-before-auth", "step": 2, "total": 6}, nil)
	}
	r = next(func(r row) bool { return r.Fails == 3 })
	if !strings.Contains(r.Stuck, "3 times") {
		t.Fatalf("after 3 failures of one step: stuck %q", r.Stuck)
	}
	sc.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "tls-before-auth", "step": 3, "total": 6, "state": "running"}, nil)
	r = next(func(r row) bool { return r.Step == 3 })
	if r.Stuck != "" || r.Fails != 0 {
		t.Fatalf("after moving on: %+v", r)
	}
}

// TestWrongPasswordLimited: after five wrong passwords from one address
// even the right one waits, and says for how long.
func TestWrongPasswordLimited(t *testing.T) {
	s := start(t, sandbox.Config{})
	c := newClient(t, s)
	for i := range 5 {
		if code, _ := c.do("POST", "/api/classroom/session", map[string]string{"password": "guess"}); code != http.StatusForbidden {
			t.Fatalf("wrong password %d: %d, want 403", i+1, code)
		}
	}
	code, b := c.do("POST", "/api/classroom/session", map[string]string{"password": password})
	if code != http.StatusTooManyRequests || !strings.Contains(string(b), "try again in") {
		t.Fatalf("the right password after five wrong ones: %d %s, want 429", code, b)
	}
	if code, _ := c.do("GET", "/api/classroom/classes", nil); code != http.StatusUnauthorized {
		t.Errorf("classes without a session: %d", code)
	}
}

// TestClassJoinsOutsideLabsPerClient: a class behind one address admits
// more students than --labs-per-client, up to its own capacity; outside a
// class the per-address limit says what to change.
func TestClassJoinsOutsideLabsPerClient(t *testing.T) {
	s := start(t, sandbox.Config{LabsPerClient: 1})
	tc := teacher(t, s)
	var cv classView
	tc.must(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Small", "capacity": 3}, &cv)
	for _, n := range []string{"A", "B", "C"} {
		joinClass(t, s, cv.Code, n)
	}
	anon := newClient(t, s)
	if code, b := anon.do("POST", "/api/classroom/join", map[string]string{"code": cv.Code, "name": "D"}); code != http.StatusServiceUnavailable || !strings.Contains(string(b), "full") {
		t.Errorf("a fourth student in a class of 3: %d %s", code, b)
	}
	anon.must(http.StatusCreated, "POST", "/api/labs", map[string]string{}, nil)
	code, b := anon.do("POST", "/api/labs", map[string]string{})
	if code != http.StatusTooManyRequests || !strings.Contains(string(b), "--labs-per-client") || !strings.Contains(string(b), "join") {
		t.Errorf("a second lab from one address: %d %s; want 429 saying what to change", code, b)
	}
	// Locked, then ended: no one joins.
	var cv2 classView
	tc.must(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Two"}, &cv2)
	var info struct {
		Name string
		Open bool
		Why  string
	}
	anon.must(http.StatusOK, "GET", "/api/classroom/join/"+strings.ToLower(cv2.Code), nil, &info)
	if info.Name != "Two" || !info.Open {
		t.Errorf("join info of an open class: %+v", info)
	}
	tc.must(http.StatusOK, "PATCH", "/api/classroom/classes/"+cv2.ID, map[string]any{"locked": true}, nil)
	if code, _ := anon.do("POST", "/api/classroom/join", map[string]string{"code": cv2.Code, "name": "E"}); code != http.StatusForbidden {
		t.Errorf("join a locked class: %d, want 403", code)
	}
	anon.must(http.StatusOK, "GET", "/api/classroom/join/"+cv2.Code, nil, &info)
	if info.Open || !strings.Contains(info.Why, "locked") {
		t.Errorf("join info of a locked class: %+v", info)
	}
	if code, _ := anon.do("GET", "/api/classroom/join/NOPE99", nil); code != http.StatusNotFound {
		t.Errorf("join info of no class: %d, want 404", code)
	}
	tc.must(http.StatusOK, "PATCH", "/api/classroom/classes/"+cv2.ID, map[string]any{"locked": false, "ended": true}, nil)
	if code, _ := anon.do("POST", "/api/classroom/join", map[string]string{"code": cv2.Code, "name": "E"}); code != http.StatusGone {
		t.Errorf("join an ended class: %d, want 410", code)
	}
}

// TestProfileForEveryone: the teacher moves every lab to one network and
// back; a student who joins meanwhile starts on it.
func TestProfileForEveryone(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	_, a := joinClass(t, s, cv.Code, "A")
	if _, err := s.Labs().SetProfile(a.Lab.ID, "cloud-vm"); err != nil {
		t.Fatal(err)
	}
	tc.must(http.StatusOK, "POST", "/api/classroom/classes/"+cv.ID+"/profile", map[string]string{"profile": "hotel-wifi"}, nil)
	if l, err := s.Labs().Open(a.Lab.ID, a.Lab.Key); err != nil || l.Profile != "hotel-wifi" {
		t.Fatalf("A's lab after the class switch: %+v, %v", l, err)
	}
	_, b := joinClass(t, s, cv.Code, "B")
	if b.Lab.Profile != "hotel-wifi" || b.Class.Profile != "hotel-wifi" {
		t.Errorf("B joined on %q (class %q), want hotel-wifi", b.Lab.Profile, b.Class.Profile)
	}
	tc.must(http.StatusOK, "POST", "/api/classroom/classes/"+cv.ID+"/profile", map[string]string{"profile": ""}, nil)
	if l, _ := s.Labs().Open(a.Lab.ID, a.Lab.Key); l.Profile != "cloud-vm" {
		t.Errorf("A's lab after undo: %q, want cloud-vm", l.Profile)
	}
	if code, _ := tc.do("POST", "/api/classroom/classes/"+cv.ID+"/profile", map[string]string{"profile": ""}); code != http.StatusConflict {
		t.Errorf("a second undo: %d, want 409", code)
	}
	if code, _ := tc.do("POST", "/api/classroom/classes/"+cv.ID+"/profile", map[string]string{"profile": "moon"}); code != http.StatusBadRequest {
		t.Errorf("an unknown profile: %d, want 400", code)
	}
}

// TestExport: CSV and JSON hold one line per student and lesson, and a
// name that a spreadsheet would run as a formula is quoted.
func TestExport(t *testing.T) {
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	cv := newClass(t, tc, "A")
	sc, _ := joinClass(t, s, cv.Code, "=HYPERLINK(1)")
	sc.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "first-contact", "step": 5, "total": 5, "state": "watched"}, nil)
	var rows []struct {
		Student, Lesson, Result string
		Steps                   int `json:"steps_done"`
	}
	tc.must(http.StatusOK, "GET", "/api/classroom/classes/"+cv.ID+"/export.json", nil, &rows)
	if len(rows) != 1 || rows[0].Result != "watched" || rows[0].Steps != 5 {
		t.Fatalf("export.json: %+v", rows)
	}
	code, b := tc.do("GET", "/api/classroom/classes/"+cv.ID+"/export.csv", nil)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if code != http.StatusOK || len(lines) != 2 || !strings.HasPrefix(lines[1], "'=HYPERLINK(1),first-contact,watched,5,5,") {
		t.Fatalf("export.csv: %d %q", code, b)
	}
	code, b = tc.do("GET", "/api/classroom/classes/"+cv.ID+"/qr.svg", nil)
	if code != http.StatusOK || !bytes.HasPrefix(b, []byte("<svg")) {
		t.Errorf("qr.svg: %d %.40s", code, b)
	}
}
