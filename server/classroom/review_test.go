package classroom

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/internal/secret"
)

// faultyStore is the embedded store with faults: AddStudent and
// StudentByToken answer err when it is set, and AddStudent calls during
// first (the classroom's lock can be tried there).
type faultyStore struct {
	store.Store
	err    error
	during func()
}

func (f *faultyStore) AddStudent(ctx context.Context, s store.Student) error {
	if f.during != nil {
		f.during()
	}
	if f.err != nil {
		return f.err
	}
	return f.Store.AddStudent(ctx, s)
}

func (f *faultyStore) StudentByToken(ctx context.Context, h string) (store.Student, error) {
	if f.err != nil {
		return store.Student{}, f.err
	}
	return f.Store.StudentByToken(ctx, h)
}

// testClassroom is a classroom on the embedded store (wrapped in fs)
// with one class, code AAAAAA.
func testClassroom(t *testing.T, fs *faultyStore) (*Classroom, *fakeLabs) {
	t.Helper()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return testClassroomAt(t, fs, &now)
}

// testClassroomAt is testClassroom on a clock the test moves.
func testClassroomAt(t *testing.T, fs *faultyStore, now *time.Time) (*Classroom, *fakeLabs) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs.Store = st
	if err := st.CreateClass(ctx, store.Class{ID: "c", Name: "A", Code: "AAAAAA", Created: *now, Capacity: 5, StuckFail: 3, StuckMins: 5}); err != nil {
		t.Fatal(err)
	}
	labs := &fakeLabs{}
	c, err := New(ctx, Config{Store: fs, Labs: labs, Password: "pw", Now: func() time.Time { return *now }, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, labs
}

func serve(c *Classroom, method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	return rec
}

// TestJoinWritesOutsideLock: the store write of a join runs without the
// classroom-wide lock (a slow database must not stall every class), and
// a write that fails ends the lab made for the student.
func TestJoinWritesOutsideLock(t *testing.T) {
	fs := &faultyStore{}
	c, labs := testClassroom(t, fs)
	heldDuringWrite := false
	fs.during = func() {
		if c.mu.TryLock() {
			c.mu.Unlock()
		} else {
			heldDuringWrite = true
		}
	}
	if rec := serve(c, "POST", "/api/classroom/join", `{"code":"AAAAAA","name":"Di"}`); rec.Code != http.StatusCreated {
		t.Fatalf("join: %d %s", rec.Code, rec.Body)
	}
	if heldDuringWrite {
		t.Error("the classroom lock was held while the store was written")
	}

	fs.err = errors.New("disk full")
	if rec := serve(c, "POST", "/api/classroom/join", `{"code":"AAAAAA","name":"Ed"}`); rec.Code != http.StatusInternalServerError {
		t.Fatalf("join with a failing store: %d %s", rec.Code, rec.Body)
	}
	if !slices.Equal(labs.deleted, []string{"lab2"}) {
		t.Errorf("labs ended after the failed join: %v, want [lab2]", labs.deleted)
	}
	c.mu.Lock()
	n, joining := len(c.classes["c"].students), c.classes["c"].joining
	c.mu.Unlock()
	if n != 1 || joining != 0 {
		t.Errorf("after a failed join: %d students, %d places held; want 1, 0", n, joining)
	}
}

// TestStudentStoreErrorNot404: a store that fails is not "no such
// student" (a page told 404 sends its student to join again).
func TestStudentStoreErrorNot404(t *testing.T) {
	fs := &faultyStore{}
	c, _ := testClassroom(t, fs)
	rec := serve(c, "POST", "/api/classroom/join", `{"code":"AAAAAA","name":"Di"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("join: %d %s", rec.Code, rec.Body)
	}
	tok := rec.Body.String()
	tok = tok[strings.Index(tok, `"token":"`)+9:]
	tok = tok[:strings.IndexByte(tok, '"')]
	if rec := serve(c, "GET", "/api/classroom/me", "", "Authorization", "Bearer "+tok); rec.Code != http.StatusOK {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(c, "GET", "/api/classroom/me", "", "Authorization", "Bearer nope"); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown token: %d, want 404", rec.Code)
	}
	fs.err = errors.New("connection refused")
	rec = serve(c, "GET", "/api/classroom/me", "", "Authorization", "Bearer "+tok)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "did not answer") {
		t.Errorf("a failing store: %d %s, want 503", rec.Code, rec.Body)
	}
}

// TestPasswordHashedAtFirstSignIn: New does not hash the teacher password
// (bcrypt's ~60 ms, paid by every sandbox a test starts); the first
// sign-in does, and a wrong password is still refused.
func TestPasswordHashedAtFirstSignIn(t *testing.T) {
	c, _ := testClassroom(t, &faultyStore{})
	if c.hash != nil {
		t.Fatal("New hashed the teacher password")
	}
	if rec := serve(c, "POST", "/api/classroom/session", `{"password":"nope"}`); rec.Code != http.StatusForbidden {
		t.Fatalf("a wrong password: %d %s", rec.Code, rec.Body)
	}
	if c.hash == nil || c.password != "" {
		t.Error("the first sign-in did not keep the hash alone")
	}
	rec := serve(c, "POST", "/api/classroom/session", `{"password":"pw"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("the right password: %d %s", rec.Code, rec.Body)
	}
	ck := rec.Result().Cookies()[0]
	if rec := serve(c, "GET", "/api/classroom/classes", "", "Cookie", ck.Name+"="+ck.Value); rec.Code != http.StatusOK {
		t.Errorf("signed in: %d %s", rec.Code, rec.Body)
	}
}

// TestLabKeySealed: a lab key sealed with a token opens with that token
// only.
func TestLabKeySealed(t *testing.T) {
	sealed := sealLabKey("tok1", "key1")
	if strings.Contains(sealed, "key1") {
		t.Fatal("the sealed key shows the key")
	}
	if k, ok := openLabKey("tok1", sealed); !ok || k != "key1" {
		t.Errorf("opened with its token: %q %v", k, ok)
	}
	if _, ok := openLabKey("tok2", sealed); ok {
		t.Error("opened with another token")
	}
}

// TestApplyChanges: a classroom that shares its store with another (two
// replicas) but hears nothing from it knows nothing of a student who
// joined there; a reload (after the link between them was lost) brings
// the student, their lab and their records.
func TestApplyChanges(t *testing.T) {
	fs := &faultyStore{}
	a, _ := testClassroom(t, fs)
	b, err := New(context.Background(), Config{Store: fs, Labs: &fakeLabs{}, Password: "pw", Now: a.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec := serve(a, "POST", "/api/classroom/join", `{"code":"AAAAAA","name":"Di"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("join: %d %s", rec.Code, rec.Body)
	}
	tok := rec.Body.String()
	tok = tok[strings.Index(tok, `"token":"`)+9:]
	tok = tok[:strings.IndexByte(tok, '"')]
	for range 2 {
		if rec := serve(a, "POST", "/api/classroom/me/progress", `{"kind":"hint","lesson":"first-contact","step":1,"total":5}`, "Authorization", "Bearer "+tok); rec.Code != http.StatusNoContent {
			t.Fatalf("progress: %d %s", rec.Code, rec.Body)
		}
	}
	hints := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		cl := b.classes["c"]
		if len(cl.students) != 1 {
			return -len(cl.students)
		}
		if _, ok := b.byLab.Load(cl.students[0].Lab); !ok {
			return -10 // its lab's events would not reach the row
		}
		return cl.students[0].hints
	}
	if n := hints(); n != 0 {
		t.Fatalf("before any change, B sees %d", n)
	}
	b.apply(Change{Kind: ChangeReload})
	if n := hints(); n != 2 {
		t.Fatalf("after a reload B sees %d hints, want 2 (one student, on their lab)", n)
	}
	b.apply(Change{Kind: ChangeReload}) // records already folded are not folded twice
	if n := hints(); n != 2 {
		t.Fatalf("after a second reload B sees %d hints, want 2", n)
	}
}

// TestSignInKeptInStore: a teacher's sign-in is in the store, as the
// cookie value's hash only; it ends when its time is up, and at sign-out.
func TestSignInKeptInStore(t *testing.T) {
	fs := &faultyStore{}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c, _ := testClassroomAt(t, fs, &now)
	signIn := func() string {
		rec := serve(c, "POST", "/api/classroom/session", `{"password":"pw"}`)
		if rec.Code != http.StatusOK {
			t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
		}
		return rec.Result().Cookies()[0].Value
	}
	ck := signIn()
	if _, err := fs.Session(context.Background(), ck); err == nil {
		t.Error("the store holds the cookie value itself")
	}
	if _, err := fs.Session(context.Background(), secret.Hash(ck)); err != nil {
		t.Fatalf("the store lacks the sign-in: %v", err)
	}
	classes := func(ck string) int {
		return serve(c, "GET", "/api/classroom/classes", "", "Cookie", cookieName+"="+ck).Code
	}
	now = now.Add(59 * time.Minute)
	if code := classes(ck); code != http.StatusOK {
		t.Fatalf("within the hour: %d", code)
	}
	now = now.Add(time.Minute)
	if code := classes(ck); code != http.StatusUnauthorized {
		t.Errorf("after the hour: %d, want 401", code)
	}
	if _, err := fs.Session(context.Background(), secret.Hash(ck)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a sign-in run out is still kept: %v", err)
	}
	ck = signIn()
	if rec := serve(c, "DELETE", "/api/classroom/session", "", "Cookie", cookieName+"="+ck); rec.Code != http.StatusNoContent {
		t.Fatalf("sign-out: %d %s", rec.Code, rec.Body)
	}
	if code := classes(ck); code != http.StatusUnauthorized {
		t.Errorf("after the sign-out: %d, want 401", code)
	}
}
