package lab

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/policy"
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
	if _, err := m.Open(l.ID, l.Key); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(50 * time.Minute)
	m.Sweep()
	if _, err := m.Open(l.ID, l.Key); err != nil {
		t.Fatalf("lab touched 50 minutes ago expired: %v", err)
	}
	c.t = c.t.Add(61 * time.Minute)
	if _, err := m.Open(l.ID, l.Key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("idle lab still there: %v", err)
	}
	m.Sweep()
	if len(expired) != 1 || expired[0] != l.ID {
		t.Errorf("expired = %v", expired)
	}
	if _, err := m.Open(Classroom, ""); err != nil {
		t.Errorf("the classroom expired: %v", err)
	}
}

// A lab that expired and is swept by a Create, before the periodic
// Sweep, is reported like any other, so its mailbox goes too.
func TestCreateReportsExpiredLabs(t *testing.T) {
	c := &clock{time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	var expired []string
	m := newTestManager(c, &expired)
	old, _ := m.Create(netip.MustParseAddr("192.0.2.1"), "")
	c.t = c.t.Add(2 * time.Hour)
	if _, err := m.Create(netip.MustParseAddr("192.0.2.2"), ""); err != nil {
		t.Fatal(err)
	}
	if len(expired) != 1 || expired[0] != old.ID {
		t.Fatalf("expired = %v, want the idle lab %s", expired, old.ID)
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
	if err := m.Delete(Classroom); !errors.Is(err, ErrShared) {
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

// A lab's id is its SMTP user name and so is seen by others; its key is
// the only way in, returned once, and the classroom cannot be changed.
func TestLabKey(t *testing.T) {
	c := &clock{time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	var expired []string
	m := newTestManager(c, &expired)
	l, err := m.Create(netip.MustParseAddr("192.0.2.1"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Key) != 26 || l.Key == l.ID || l.Key == l.Password {
		t.Fatalf("key %q: want 128 random bits distinct from id %q and password %q", l.Key, l.ID, l.Password)
	}
	for _, tc := range []struct {
		key  string
		want error
	}{{"", ErrNoKey}, {l.ID, ErrBadKey}, {l.Password, ErrBadKey}, {l.Key + "x", ErrBadKey}} {
		if _, err := m.Open(l.ID, tc.key); !errors.Is(err, tc.want) {
			t.Errorf("Open with key %q: %v, want %v", tc.key, err, tc.want)
		}
	}
	got, err := m.Open(l.ID, l.Key)
	if err != nil || got.Password != l.Password {
		t.Fatalf("Open with the key: %+v, %v", got, err)
	}
	if got.Key != "" {
		t.Error("Open returns the key again")
	}
	if _, err := m.Open(Classroom, ""); err != nil {
		t.Errorf("the classroom is readable without a key: %v", err)
	}
	if _, err := m.SetProfile(Classroom, "cloud-vm"); !errors.Is(err, ErrShared) {
		t.Errorf("SetProfile(classroom) = %v, want ErrShared", err)
	}
	if err := m.Delete(Classroom); !errors.Is(err, ErrShared) {
		t.Errorf("Delete(classroom) = %v, want ErrShared", err)
	}
	if id, ok := m.LabOf(l.ID); !ok || id != l.ID {
		t.Errorf("LabOf(%q) = %q, %v", l.ID, id, ok)
	}
	if _, ok := m.LabOf("foo"); ok {
		t.Error("LabOf names a lab for a policy account")
	}
}

// A lab's own policy: set, refused with its errors (the one set before
// kept), reset; the classroom and other labs keep the server's.
func TestLabPolicy(t *testing.T) {
	c := &clock{time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	var expired []string
	m := newTestManager(c, &expired)
	a, _ := m.Create(netip.MustParseAddr("192.0.2.1"), "")
	b, _ := m.Create(netip.MustParseAddr("192.0.2.1"), "")
	trust := policy.DefaultText() + "<source 203.0.113.0/24>\n  always-allow-relaying yes\n</source>\n"
	if errs, err := m.SetPolicy(a.ID, trust); err != nil || len(errs) > 0 {
		t.Fatalf("SetPolicy: %v %v", errs, err)
	}
	if errs, err := m.SetPolicy(a.ID, trust+"frobnicate yes\n"); err != nil || len(errs) != 1 || errs[0].Line != strings.Count(trust, "\n")+1 {
		t.Errorf("a bad policy: %v %v, want one error at its line", errs, err)
	}
	if p := m.PolicyFor(a.ID); p == nil || !p.Trusted(netip.MustParseAddr("203.0.113.80")) {
		t.Error("the policy set before a refused one is not kept")
	}
	if text, own, _ := m.Policy(a.ID); !own || text != trust {
		t.Errorf("Policy = own %v, want the text set", own)
	}
	if m.PolicyFor(b.ID) != nil || m.PolicyFor(Classroom) != nil {
		t.Error("another lab or the classroom has a policy of its own")
	}
	if _, err := m.SetPolicy(Classroom, trust); !errors.Is(err, ErrShared) {
		t.Errorf("classroom: %v", err)
	}
	if _, err := m.SetPolicy(a.ID, strings.Repeat("#", MaxPolicy+1)); !errors.Is(err, ErrPolicyTooLarge) {
		t.Errorf("too large: %v", err)
	}
	if err := m.ResetPolicy(a.ID); err != nil || m.PolicyFor(a.ID) != nil {
		t.Errorf("ResetPolicy: %v", err)
	}
	if text, own, _ := m.Policy(a.ID); own || text != policy.DefaultText() {
		t.Error("after a reset the lab does not follow the server's policy")
	}
}

// The labs' policies together are bounded: past the bound a new one is
// refused, and a lab that goes frees its share.
func TestLabPoliciesBounded(t *testing.T) {
	text := policy.DefaultText()
	m := NewManager(Config{TTL: time.Hour, MaxPerClient: 10, MaxLabs: 10, MaxPolicyBytes: len(text) + 10})
	a, _ := m.Create(netip.MustParseAddr("192.0.2.1"), "")
	b, _ := m.Create(netip.MustParseAddr("192.0.2.1"), "")
	if _, err := m.SetPolicy(a.ID, text); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetPolicy(a.ID, text+"# again\n"); err != nil {
		t.Errorf("replacing a lab's own policy counts only the difference: %v", err)
	}
	if _, err := m.SetPolicy(b.ID, text); !errors.Is(err, ErrPoliciesFull) {
		t.Errorf("over the bound: %v, want ErrPoliciesFull", err)
	}
	if err := m.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetPolicy(b.ID, text); err != nil {
		t.Errorf("after the lab with a policy went: %v", err)
	}
}
