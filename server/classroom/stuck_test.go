package classroom

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/lab"
)

// fakeLabs stands in for the lab manager: this test is about the
// classroom's clock, not labs (the sandbox tests use the real manager).
type fakeLabs struct {
	n       int
	deleted []string
}

func (f *fakeLabs) CreateInClass(profile string) (lab.Lab, error) {
	f.n++
	id := "lab" + itoa(f.n)
	return lab.Lab{ID: id, Key: "k" + id, Profile: profile}, nil
}
func (f *fakeLabs) Open(id, key string) (lab.Lab, error) { return lab.Lab{ID: id}, nil }
func (f *fakeLabs) SetProfile(id, p string) (lab.Lab, error) {
	return lab.Lab{ID: id, Profile: p}, nil
}
func (f *fakeLabs) ResetPolicy(id string) error { return nil }
func (f *fakeLabs) Delete(id string) error {
	f.deleted = append(f.deleted, id)
	return nil
}

// TestStuckWithoutProgress: a student who has not moved on for the
// class's minutes is marked stuck, and checkStuck tells the dashboard.
func TestStuckWithoutProgress(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c, err := New(ctx, Config{Store: st, Labs: &fakeLabs{}, Password: "pw", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := store.Class{ID: "c", Name: "A", Code: "AAAAAA", Created: now, Capacity: 5, StuckFail: 3, StuckMins: 5}
	if err := st.CreateClass(ctx, sc); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.classes["c"] = newClass(sc)
	c.mu.Unlock()

	req := httptest.NewRequest("POST", "/api/classroom/join", strings.NewReader(`{"code":"AAAAAA","name":"Di"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("join: %d %s", rec.Code, rec.Body)
	}
	c.mu.Lock()
	cl := c.classes["c"]
	s := cl.students[0]
	wt := newWatcher()
	cl.watchers[wt] = struct{}{}
	c.mu.Unlock()

	now = now.Add(4 * time.Minute)
	c.checkStuck()
	if ids, _ := wt.take(); len(ids) != 0 {
		t.Fatalf("after 4 minutes the dashboard was sent %v", ids)
	}
	now = now.Add(time.Minute)
	c.checkStuck()
	ids, _ := wt.take()
	c.mu.Lock()
	why := s.row(now).Stuck
	c.mu.Unlock()
	if len(ids) != 1 || why != "no progress for 5 min" {
		t.Fatalf("after 5 minutes: sent %v, stuck %q", ids, why)
	}
	c.checkStuck() // unchanged: nothing more to send
	if ids, _ := wt.take(); len(ids) != 0 {
		t.Fatalf("a second check sent %v again", ids)
	}
}
