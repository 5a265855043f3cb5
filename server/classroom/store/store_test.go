package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func open(t *testing.T, dir string) *SQL {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestKeptAcrossReopen: a class, its student and their progress are read
// back from a database closed and opened again, and the migrations are
// not run twice.
func TestKeptAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
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
	c.Locked, c.Profile = true, "hotel-wifi"
	if err := s.UpdateClass(ctx, c); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, dir)
	if v, err := s.Version(ctx); err != nil || v != 1 {
		t.Fatalf("schema version %d, %v; want 1", v, err)
	}
	got, err := s.ClassByCode(ctx, "ABC123")
	if err != nil || got != c {
		t.Fatalf("class read back %+v, %v; want %+v", got, err, c)
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
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	s := open(t, "")
	if _, err := s.Class(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Class: %v", err)
	}
	if _, err := s.StudentByToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("StudentByToken: %v", err)
	}
	if err := s.UpdateClass(ctx, Class{ID: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateClass: %v", err)
	}
	// A student must belong to a class that exists.
	if err := s.AddStudent(ctx, Student{ID: "s", ClassID: "nope", TokenHash: "x"}); err == nil {
		t.Error("a student of a class that does not exist was added")
	}
}
