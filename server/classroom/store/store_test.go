package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portlab/portlab/server/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend opens one kind of database; each call of its open returns a new
// Store on the same database (a reopen, or a second replica).
type backend struct {
	name string
	new  func(t *testing.T) (open func() *SQL)
}

// backends are every database a Store runs on: each test below runs
// against each.
var backends = []backend{
	{"sqlite", func(t *testing.T) func() *SQL {
		dir := t.TempDir()
		return func() *SQL { return mustOpen(t, func(ctx context.Context) (*SQL, error) { return Open(ctx, dir) }) }
	}},
	{"postgres", func(t *testing.T) func() *SQL {
		dsn := pgtest.DSN(t)
		return func() *SQL {
			return mustOpen(t, func(ctx context.Context) (*SQL, error) { return OpenPostgres(ctx, dsn) })
		}
	}},
}

func mustOpen(t *testing.T, open func(context.Context) (*SQL, error)) *SQL {
	t.Helper()
	s, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// each runs test once per backend.
func each(t *testing.T, test func(t *testing.T, open func() *SQL)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.new(t)) })
	}
}

// TestKeptAcrossReopen: a class, its student and their progress are read
// back from a database closed and opened again, and the migrations are
// not run twice.
func TestKeptAcrossReopen(t *testing.T) {
	each(t, func(t *testing.T, open func() *SQL) {
		ctx := context.Background()
		s := open()
		now := time.UnixMilli(1_700_000_000_000).UTC()
		c := Class{ID: "c1", Name: "Networks 1", Code: "ABC123", Created: now, Capacity: 40, StuckFail: 3, StuckMins: 5}
		if err := s.CreateClass(ctx, c); err != nil {
			t.Fatal(err)
		}
		st := Student{ID: "s1", ClassID: "c1", Name: "Ada", TokenHash: "h1", Joined: now, Lab: "lab1"}
		if err := s.AddStudent(ctx, st); err != nil {
			t.Fatal(err)
		}
		for i, kind := range []string{"progress", "hint", "step-failed"} {
			p, err := s.AddProgress(ctx, Progress{StudentID: "s1", At: now.Add(time.Duration(i) * time.Second), Kind: kind, Lesson: "first-contact", Step: 2, Total: 5, State: "running"})
			if err != nil {
				t.Fatal(err)
			}
			if p.Seq != int64(i+1) {
				t.Fatalf("record %d has seq %d", i, p.Seq)
			}
		}
		c.Locked, c.Profile, c.Ended = true, "hotel-wifi", now.Add(time.Hour)
		if err := s.UpdateClass(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStudentLab(ctx, "s1", "lab2", "sealed"); err != nil {
			t.Fatal(err)
		}
		st.Lab, st.LabKey = "lab2", "sealed"
		s.Close()

		s = open()
		if v, err := s.Version(ctx); err != nil || v != 3 {
			t.Fatalf("schema version %d, %v; want 3", v, err)
		}
		got, err := s.ClassByCode(ctx, "ABC123")
		if err != nil || got != c {
			t.Fatalf("class read back %+v, %v; want %+v", got, err, c)
		}
		if all, err := s.Classes(ctx); err != nil || len(all) != 1 || all[0] != c {
			t.Fatalf("classes read back %+v, %v", all, err)
		}
		sts, err := s.Students(ctx, "c1")
		if err != nil || len(sts) != 1 || sts[0] != st {
			t.Fatalf("students read back %+v, %v", sts, err)
		}
		if byTok, err := s.StudentByToken(ctx, "h1"); err != nil || byTok.ID != "s1" {
			t.Fatalf("student by token: %+v, %v", byTok, err)
		}
		ps, err := s.Progress(ctx, "c1")
		if err != nil || len(ps) != 3 || ps[1].Kind != "hint" || !ps[2].At.Equal(now.Add(2*time.Second)) {
			t.Fatalf("progress read back %+v, %v", ps, err)
		}
	})
}

func TestNotFound(t *testing.T) {
	each(t, func(t *testing.T, open func() *SQL) {
		ctx := context.Background()
		s := open()
		if _, err := s.Class(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Class: %v", err)
		}
		if _, err := s.ClassByCode(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("ClassByCode: %v", err)
		}
		if _, err := s.StudentByToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("StudentByToken: %v", err)
		}
		if err := s.UpdateClass(ctx, Class{ID: "nope"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateClass: %v", err)
		}
		if err := s.SetStudentLab(ctx, "nope", "lab", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetStudentLab: %v", err)
		}
		// A student must belong to a class that exists.
		if err := s.AddStudent(ctx, Student{ID: "s", ClassID: "nope", TokenHash: "x"}); err == nil {
			t.Error("a student of a class that does not exist was added")
		}
	})
}

// TestTwoReplicas: stores opened at once on one database (replicas
// starting together) migrate it once, and records written through both at
// the same time for one student get distinct numbers, none lost.
func TestTwoReplicas(t *testing.T) {
	each(t, func(t *testing.T, open func() *SQL) {
		ctx := context.Background()
		var stores [2]*SQL
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { stores[i] = open() })
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		a, b := stores[0], stores[1]
		if err := a.CreateClass(ctx, Class{ID: "c", Name: "n", Code: "C", Capacity: 2}); err != nil {
			t.Fatal(err)
		}
		if err := b.AddStudent(ctx, Student{ID: "s", ClassID: "c", Name: "Ada", TokenHash: "h"}); err != nil {
			t.Fatal(err)
		}
		const each = 20
		errs := make(chan error, 2*each)
		for _, s := range stores {
			for i := range each {
				wg.Go(func() {
					_, err := s.AddProgress(ctx, Progress{StudentID: "s", At: time.UnixMilli(int64(i + 1)), Kind: "hint"})
					errs <- err
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		ps, err := a.Progress(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, p := range ps {
			seen[p.Seq] = true
		}
		if len(ps) != 2*each || len(seen) != 2*each {
			t.Fatalf("%d records, %d distinct numbers; want %d", len(ps), len(seen), 2*each)
		}
		if v, err := b.Version(ctx); err != nil || v != 3 {
			t.Fatalf("schema version %d, %v", v, err)
		}
		// Each migration ran once.
		var rows int
		if err := a.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&rows); err != nil || rows != 3 {
			t.Fatal(fmt.Sprint("schema_version rows ", rows, err))
		}
	})
}

// TestSessionsAndUndo: a teacher's sign-in, a class's undo and a
// student's sealed lab key are read back through another Store on the
// same database (another replica); a sign-in ended or run out is gone.
func TestSessionsAndUndo(t *testing.T) {
	each(t, func(t *testing.T, open func() *SQL) {
		ctx := context.Background()
		a, b := open(), open()
		now := time.UnixMilli(1_700_000_000_000).UTC()
		if err := a.AddSession(ctx, "h1", now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
		if exp, err := b.Session(ctx, "h1"); err != nil || !exp.Equal(now.Add(time.Hour)) {
			t.Fatalf("session on the other store: %v, %v", exp, err)
		}
		// A later sign-in forgets the one run out.
		if err := b.AddSession(ctx, "h2", now.Add(3*time.Hour), now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Session(ctx, "h1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a sign-in run out is still kept: %v", err)
		}
		if err := a.DeleteSession(ctx, "h2"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Session(ctx, "h2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a sign-out did not end the sign-in everywhere: %v", err)
		}

		if err := a.CreateClass(ctx, Class{ID: "c1", Name: "N", Code: "C1", Created: now, Capacity: 5}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Undo(ctx, "c1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("undo before any: %v", err)
		}
		// Counts taken on two stores at once add up.
		a.Count(ctx, "c1", 1, 0)
		if got, err := b.Count(ctx, "c1", 1, 2); err != nil || got.Resets != 2 || got.Clears != 2 {
			t.Errorf("counts: %+v, %v; want 2 resets, 2 clears", got, err)
		}
		if err := a.UpdateClass(ctx, Class{ID: "c1", Name: "M", Capacity: 5}); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.Class(ctx, "c1"); got.Resets != 2 || got.Name != "M" {
			t.Errorf("a settings update moved the counts: %+v", got)
		}
		if _, err := a.Count(ctx, "nope", 1, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("count of no class: %v", err)
		}
		u := Undo{Class: "home-isp", Profiles: map[string]string{"s1": "corporate"}}
		if err := a.SetUndo(ctx, "c1", &u); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Undo(ctx, "c1"); err != nil || got.Class != u.Class || got.Profiles["s1"] != "corporate" {
			t.Errorf("undo read back %+v, %v", got, err)
		}
		if err := a.SetUndo(ctx, "c1", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Undo(ctx, "c1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("undo forgotten: %v", err)
		}

		st := Student{ID: "s1", ClassID: "c1", Name: "Ada", TokenHash: "t1", Joined: now, Lab: "l1", LabKey: "sealed1"}
		if err := a.AddStudent(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Student(ctx, "s1"); err != nil || got != st {
			t.Errorf("student by id: %+v, %v", got, err)
		}
		if _, err := b.Student(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("no such student: %v", err)
		}
	})
}

// TestCapacityAcrossReplicas: ten joins at once through two stores on one
// database (two replicas) take a class's three places and no more; the
// others get ErrFull. Counting in each replica's memory let both take the
// last place.
func TestCapacityAcrossReplicas(t *testing.T) {
	each(t, func(t *testing.T, open func() *SQL) {
		ctx := context.Background()
		a, b := open(), open()
		if err := a.CreateClass(ctx, Class{ID: "c", Name: "Networks", Code: "ABCDEF", Capacity: 3, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				errs[i] = s.AddStudent(ctx, Student{ID: fmt.Sprint("s", i), ClassID: "c", Name: "n", TokenHash: fmt.Sprint("h", i), Joined: time.Now()})
			})
		}
		wg.Wait()
		joined, full := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				joined++
			case errors.Is(err, ErrFull):
				full++
			default:
				t.Errorf("a join failed otherwise: %v", err)
			}
		}
		sts, err := b.Students(ctx, "c")
		if joined != 3 || full != 7 || err != nil || len(sts) != 3 {
			t.Errorf("%d joined, %d full; the class holds %d (%v); want 3, 7, 3", joined, full, len(sts), err)
		}
		if err := a.AddStudent(ctx, Student{ID: "x", ClassID: "nope", TokenHash: "hx"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("a student for no class: %v, want ErrNotFound", err)
		}
	})
}

// TestCountClasses: the count /metrics reads, without loading the classes.
func TestCountClasses(t *testing.T) {
	each(t, func(t *testing.T, open func() *SQL) {
		ctx := context.Background()
		s := open()
		for i := range 3 {
			if err := s.CreateClass(ctx, Class{ID: fmt.Sprint("c", i), Name: "n", Code: fmt.Sprint("CODE", i), Capacity: 1, Created: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := open().CountClasses(ctx); n != 3 || err != nil {
			t.Errorf("CountClasses = %d, %v; want 3", n, err)
		}
	})
}
