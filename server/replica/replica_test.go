package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portlab/portlab/server/classroom"
	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/pgtest"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open links a replica to a fresh database; more replicas on the same
// database come from join.
func open(t *testing.T) (first *Replica, join func() *Replica) {
	t.Helper()
	dsn := pgtest.DSN(t)
	join = func() *Replica {
		st, err := store.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(context.Background(), st.DB(), dsn, events.NewBus(), log.New(io.Discard, "", 0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); st.Close() })
		return r
	}
	return join(), join
}

// TestBoundsAsInMemory: one sequence of deliveries over many labs, into
// the memory store and into the database, gets the same answers, keeps
// the same messages and evicts the same ones.
func TestBoundsAsInMemory(t *testing.T) {
	r, _ := open(t)
	const perLab, maxBytes = 3, 16 * 12 << 10 // 12 KiB a lab
	mem, shared := mailbox.New(perLab, maxBytes, nil), mailbox.New(perLab, maxBytes, nil)
	shared.Share(r)
	busMem, busShared := events.NewBus(), events.NewBus()
	mem.Notify(busMem)
	shared.Notify(busShared)
	evMem, evShared := busMem.Subscribe(1000, nil), busShared.Subscribe(1000, nil)
	at := time.UnixMilli(1_700_000_000_000)
	for i := range 40 {
		if err := r.SaveLab(lab.Record{Lab: lab.Lab{ID: fmt.Sprintf("lab%d", i), Expires: at.Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := shared.Deliver(&mailbox.Message{Lab: "gone", Raw: []byte("Subject: x\r\n\r\nx\r\n")}); !errors.Is(err, mailbox.ErrNoLab) {
		t.Fatalf("mail for a lab no replica holds: %v", err)
	}
	answers := map[error]int{}
	for i := range 240 {
		labID := fmt.Sprintf("lab%d", i%40)
		raw := []byte("Subject: m" + fmt.Sprint(i) + "\r\n\r\n" + strings.Repeat("x", (i*7919)%14000) + "\r\n")
		id := fmt.Sprintf("M%03d", i)
		errMem := mem.Deliver(&mailbox.Message{ID: id, Lab: labID, Raw: raw, ReceivedAt: at})
		errShared := shared.Deliver(&mailbox.Message{ID: id, Lab: labID, Raw: raw, ReceivedAt: at})
		if !errors.Is(errShared, errMem) && errMem != errShared {
			t.Fatalf("delivery %d to %s: memory %v, database %v", i, labID, errMem, errShared)
		}
		answers[errMem]++
	}
	// The sequence reaches every bound.
	if answers[nil] == 0 || answers[mailbox.ErrTooBig] == 0 || answers[mailbox.ErrFull] == 0 {
		t.Fatalf("answers %v: the sequence misses a bound", answers)
	}
	for i := range 40 {
		labID := fmt.Sprintf("lab%d", i)
		if a, b := ids(mem.List(labID)), ids(shared.List(labID)); !slices.Equal(a, b) {
			t.Errorf("%s: memory keeps %v, database %v", labID, a, b)
		}
	}
	nm, bm, em := mem.Stats()
	ns, bs, es := shared.Stats()
	if nm != ns || bm != bs || em != es || em == 0 {
		t.Errorf("stats: memory %d messages %d bytes %d evicted; database %d %d %d", nm, bm, em, ns, bs, es)
	}
	if a, b := evicted(evMem), evicted(evShared); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("evicted events: memory %v, database %v", a, b)
	}
	if m, ok := shared.Get("lab0", shared.List("lab0")[0].ID); !ok || len(m.Raw) == 0 {
		t.Error("a stored message's raw bytes are not read back")
	}
}

func ids(ms []*mailbox.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func evicted(sub *events.Subscription) []string {
	var out []string
	for {
		select {
		case e := <-sub.C:
			out = append(out, e.MessageID+" "+e.Text)
		default:
			return out
		}
	}
}

// clock is a settable time for the lab managers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestLabExpiryAcrossReplicas: a lab created on A opens on B; activity on
// B keeps it alive for A too; once idle for the TTL on every replica it is
// gone everywhere, and its mail with it.
func TestLabExpiryAcrossReplicas(t *testing.T) {
	ra, join := open(t)
	rb := join()
	clk := &clock{t: time.UnixMilli(1_700_000_000_000)}
	const ttl = time.Hour
	mail := mailbox.New(10, 1<<20, nil)
	mail.Share(ra)
	a := lab.NewManager(lab.Config{TTL: ttl, MaxPerClient: 10, MaxLabs: 100, Now: clk.Now, Shared: ra, OnExpire: mail.DeleteLab})
	b := lab.NewManager(lab.Config{TTL: ttl, MaxPerClient: 10, MaxLabs: 100, Now: clk.Now, Shared: rb})
	l, err := a.CreateInClass("")
	if err != nil {
		t.Fatal(err)
	}
	if err := mail.Deliver(&mailbox.Message{Lab: l.ID, Raw: []byte("Subject: kept\r\n\r\nx\r\n")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(l.ID, l.Key); err != nil {
		t.Fatalf("B opens A's lab: %v", err)
	}
	if _, err := b.Open(l.ID, "wrong"); !errors.Is(err, lab.ErrBadKey) {
		t.Fatalf("B opens A's lab with a wrong key: %v", err)
	}
	if pw, id, ok := b.Lookup(l.ID); !ok || id != l.ID || pw != l.Password {
		t.Fatal("B's relay does not know A's lab account")
	}
	var record string
	if err := ra.db.QueryRow(`SELECT record FROM labs WHERE id = $1`, l.ID).Scan(&record); err != nil || strings.Contains(record, l.Key) {
		t.Fatalf("the database holds the lab's key: %s, %v", record, err)
	}
	clk.Add(ttl * 3 / 4)
	b.Touch(l.ID) // in use on B
	clk.Add(ttl / 2)
	a.Sweep() // idle on A for 1.25 TTL, not on B
	if _, err := a.Open(l.ID, l.Key); err != nil {
		t.Fatalf("A lost a lab B kept in use: %v", err)
	}
	if len(mail.List(l.ID)) != 1 {
		t.Fatal("the lab's mail went while B kept it in use")
	}
	// A lab of a replica that is gone (b never sweeps) ends too.
	orphan, err := b.CreateInClass("")
	if err != nil {
		t.Fatal(err)
	}
	if err := mail.Deliver(&mailbox.Message{Lab: orphan.ID, Raw: []byte("Subject: orphan\r\n\r\nx\r\n")}); err != nil {
		t.Fatal(err)
	}
	clk.Add(ttl + time.Minute)
	a.Sweep()
	if n := len(mail.List(orphan.ID)); n != 0 {
		t.Fatalf("the lab of a gone replica, expired, still has %d messages", n)
	}
	if _, err := a.Open(orphan.ID, orphan.Key); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("the lab of a gone replica, expired, opens: %v", err)
	}
	if _, err := b.Open(l.ID, l.Key); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("after the TTL idle everywhere, B opens the lab: %v", err)
	}
	if n := len(mail.List(l.ID)); n != 0 {
		t.Fatalf("the expired lab still has %d messages", n)
	}
}

// TestLabBoundsAcrossReplicas: the labs one address may hold, and the
// labs overall, are counted over every replica.
func TestLabBoundsAcrossReplicas(t *testing.T) {
	ra, join := open(t)
	rb := join()
	a := lab.NewManager(lab.Config{TTL: time.Hour, MaxPerClient: 2, MaxLabs: 3, Shared: ra})
	b := lab.NewManager(lab.Config{TTL: time.Hour, MaxPerClient: 2, MaxLabs: 3, Shared: rb})
	school := netip.MustParseAddr("192.0.2.7")
	if _, err := a.Create(school, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(school, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(school, ""); !errors.Is(err, lab.ErrTooMany) {
		t.Fatalf("a third lab for one address, over two replicas: %v", err)
	}
	if _, err := b.CreateInClass(""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateInClass(""); !errors.Is(err, lab.ErrFull) {
		t.Fatalf("a fourth lab over two replicas: %v", err)
	}
}

// TestClassroomChanges: a classroom change one replica announces reaches
// the other's classroom, not its own; and when the link to the database
// is lost and made again, the classroom is told to read its classes
// again (what was announced meanwhile is lost).
func TestClassroomChanges(t *testing.T) {
	a, join := open(t)
	b := join()
	gotA, gotB := make(chan classroom.Change, 10), make(chan classroom.Change, 10)
	a.Receive(func(ch classroom.Change) { gotA <- ch })
	b.Receive(func(ch classroom.Change) { gotB <- ch })
	sent := classroom.Change{Kind: classroom.ChangeProgress, Class: "c1", Student: "s1", Progress: &store.Progress{StudentID: "s1", Seq: 7, Kind: "hint", Lesson: "first-contact"}}
	a.Announce(sent)
	a.Announce(classroom.Change{Kind: classroom.ChangeClear, Class: "c1"})
	got := <-gotB
	if got.Kind != sent.Kind || got.Student != "s1" || got.Progress == nil || got.Progress.Seq != 7 {
		t.Fatalf("B received %+v", got)
	}
	if got := <-gotB; got.Kind != classroom.ChangeClear {
		t.Fatalf("B received %+v second, want the clear", got)
	}
	select {
	case got := <-gotA:
		t.Fatalf("A received its own change %+v", got)
	default:
	}

	// End B's listening connection, as a failover of the database does.
	if _, err := b.db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	for got := range gotB {
		if got.Kind == classroom.ChangeReload {
			break
		}
	}
}

// TestEventsSentTogether: a burst of a lab's events on A reaches B whole
// and in order, in fewer NOTIFYs than events. One NOTIFY per event (the
// old way) fell behind a busy class, and the bus dropped what did not fit.
func TestEventsSentTogether(t *testing.T) {
	a, join := open(t)
	b := join()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		t.Fatal(err)
	}
	got := b.bus.Subscribe(4096, func(e events.Event) bool { return e.Lab == "burst" })
	defer got.Close()
	const n = 1000
	for i := range n {
		a.bus.Publish(events.Event{Kind: events.Command, Lab: "burst", Text: fmt.Sprintf("NOOP %d", i)})
	}
	deadline := time.After(time.Minute)
	for i := range n {
		select {
		case e := <-got.C:
			if want := fmt.Sprintf("NOOP %d", i); e.Text != want || !e.Remote {
				t.Fatalf("event %d on B: %q (remote %v), want %q from A", i, e.Text, e.Remote, want)
			}
		case <-deadline:
			t.Fatalf("B had %d of %d events after a minute", i, n)
		}
	}
	notes := 0
	for notes < n {
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			break // all of them read
		}
		notes++
	}
	if notes == 0 || notes >= n {
		t.Errorf("%d events crossed in %d NOTIFYs; want several to a NOTIFY", n, notes)
	}
	t.Logf("%d events in %d NOTIFYs", n, notes)
}
