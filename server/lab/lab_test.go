package lab

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestManager(c *clock, expired *[]string) *Manager {
	return NewManager(Config{
		TTL: time.Hour, MaxPerClient: 2, MaxLabs: 100, Default: "home-isp", Now: c.now,
		Profiles: func(p string) bool { return p == "home-isp" || p == "cloud-vm" },
		OnExpire: func(id string) { *expired = append(*expired, id) },
	})
}

func TestLabLifecycle(t *testing.T) {
	c := &clock{time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	var expired []string
	m := newTestManager(c, &expired)
	a := netip.MustParseAddr("192.0.2.1")
	l, err := m.Create(a, "")
	if err != nil || l.Profile != "home-isp" || len(l.ID) != 26 || l.Password == "" || l.User != l.ID {
		t.Fatalf("Create = %+v, %v", l, err)
	}
	if _, err := m.Create(a, "moon-base"); !errors.Is(err, ErrProfile) {
		t.Errorf("unknown profile: %v", err)
	}
	if pass, lab, ok := m.Lookup(l.ID); !ok || pass != l.Password || lab != l.ID {
		t.Errorf("Lookup = %q %q %v", pass, lab, ok)
	}
	if _, _, ok := m.Lookup(Classroom); ok {
		t.Error("the classroom has an account")
	}
	// Activity keeps a lab alive; an hour of silence ends it.
	c.t = c.t.Add(50 * time.Minute)
	if _, err := m.Get(l.ID); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(50 * time.Minute)
	m.Sweep()
	if _, err := m.Get(l.ID); err != nil {
		t.Fatalf("lab touched 50 minutes ago expired: %v", err)
	}
	c.t = c.t.Add(61 * time.Minute)
	if _, err := m.Get(l.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("idle lab still there: %v", err)
	}
	m.Sweep()
	if len(expired) != 1 || expired[0] != l.ID {
		t.Errorf("expired = %v", expired)
	}
	if _, err := m.Get(Classroom); err != nil {
		t.Errorf("the classroom expired: %v", err)
	}
}

func TestLabsPerClient(t *testing.T) {
	c := &clock{time.Now()}
	var expired []string
	m := newTestManager(c, &expired)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	m.Create(a, "")
	l2, _ := m.Create(a, "")
	if _, err := m.Create(a, ""); !errors.Is(err, ErrTooMany) {
		t.Fatalf("third lab for one address: %v", err)
	}
	if _, err := m.Create(b, ""); err != nil {
		t.Fatalf("another address is refused: %v", err)
	}
	if err := m.Delete(l2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(a, ""); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	if err := m.Delete(Classroom); !errors.Is(err, ErrNotFound) {
		t.Error("the classroom can be deleted")
	}
	if got, _ := m.SetProfile(l2.ID, "cloud-vm"); got.ID != "" {
		t.Error("a deleted lab changed profile")
	}
}

func TestMaxLabsOverall(t *testing.T) {
	c := &clock{time.Now()}
	m := NewManager(Config{TTL: time.Hour, MaxPerClient: 10, MaxLabs: 2, Default: "home-isp", Now: c.now})
	for i := range 2 {
		if _, err := m.Create(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), ""); err != nil {
			t.Fatalf("lab %d of 2: %v", i+1, err)
		}
	}
	if _, err := m.Create(netip.MustParseAddr("192.0.2.99"), ""); !errors.Is(err, ErrFull) {
		t.Fatalf("third lab with MaxLabs 2: %v", err)
	}
}
