// Package replica lets several portlab processes serve one school from one
// PostgreSQL database (--store postgres://…): the labs ([lab.Shared]) and
// their mail ([mailbox.Shared]) live in the database, in the tables of the
// classroom store's migrations, and every lab's events (its transcript,
// a message stored, one evicted) cross replicas through PostgreSQL's
// LISTEN/NOTIFY, so a page served by one replica sees what happens on
// another (a real client on its port 587, a tunnel) without polling.
//
// The classroom's changes (a class created or changed, a student joined,
// a progress record, a teacher's control) cross on a channel of their own
// ([Replica] is a [classroom.Sync]); each replica applies them to its
// memory and tells its own live streams.
//
// A message is in the database before the relay answers 250, so a replica
// that dies loses no acknowledged mail.
package replica

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portlab/portlab/server/classroom"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
)

// channel is the NOTIFY channel the replicas' events cross;
// classChannel the one the classroom's changes cross. Two channels: a
// replica tells them apart without decoding.
const (
	channel      = "portlab_events"
	classChannel = "portlab_classroom"
)

// maxPayload is what a NOTIFY payload may hold (8000 bytes), less a
// margin.
const maxPayload = 7900

// deliveryLock is the advisory lock one delivery holds: the overall mail
// budget is over every lab, so deliveries take their turns.
const deliveryLock = 7201103

// Replica is this process's link to the others.
type Replica struct {
	db     *sql.DB
	dsn    string
	self   string // this replica's id, to skip its own notifications
	bus    *events.Bus
	logger *log.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// changes holds the classroom's changes from the other replicas,
	// in order, for one goroutine to apply: applying one reads the
	// store, which must not hold up the lab events.
	changes chan classroom.Change
	applyMu sync.Mutex
	applyFn func(classroom.Change)
}

var (
	_ lab.Shared     = (*Replica)(nil)
	_ mailbox.Shared = (*Replica)(nil)
	_ classroom.Sync = (*Replica)(nil)
)

// timeout bounds one database call made where the caller has no context
// (the lab manager's and the mailbox's interfaces).
const timeout = 10 * time.Second

// New links this process to the database at dsn through db (opened and
// migrated by the classroom store), and passes the lab events of bus to
// the other replicas and theirs to bus. It listens before it returns,
// so nothing published after is missed. Close stops it.
func New(ctx context.Context, db *sql.DB, dsn string, bus *events.Bus, logger *log.Logger) (*Replica, error) {
	var id [8]byte
	rand.Read(id[:])
	r := &Replica{db: db, dsn: dsn, self: hex.EncodeToString(id[:]), bus: bus, logger: logger, changes: make(chan classroom.Change, 1024)}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	conn, err := r.listen(ctx)
	if err != nil {
		r.cancel()
		return nil, err
	}
	sub := bus.Subscribe(4096, func(e events.Event) bool { return !e.Remote && e.Lab != "" })
	r.wg.Go(func() { r.receive(conn) })
	r.wg.Go(func() { r.send(sub) })
	r.wg.Go(r.applyChanges)
	return r, nil
}

// Close stops passing events.
func (r *Replica) Close() {
	r.cancel()
	r.wg.Wait()
}

// note is one event crossing replicas.
type note struct {
	From   string            `json:"from"`
	Events []json.RawMessage `json:"events"`
}

// send passes this replica's lab events to the others, in order. The
// events waiting when a NOTIFY goes are sent in it together, as many as
// fit its payload: one round trip per event fell behind a busy class
// (the bench counted 44 events per lesson lost to a full subscription).
func (r *Replica) send(sub *events.Subscription) {
	defer sub.Close()
	var next json.RawMessage // an event that did not fit the last batch
	for {
		if next == nil {
			select {
			case <-r.ctx.Done():
				return
			case e := <-sub.C:
				next = encode(e)
			}
		}
		batch, size := []json.RawMessage{next}, len(next)+64
		next = nil
	fill:
		for {
			select {
			case e := <-sub.C:
				b := encode(e)
				if size+len(b)+1 > maxPayload {
					next = b
					break fill
				}
				batch, size = append(batch, b), size+len(b)+1
			default:
				break fill
			}
		}
		p, _ := json.Marshal(note{From: r.self, Events: batch})
		ctx, cancel := context.WithTimeout(r.ctx, timeout)
		if _, err := r.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, string(p)); err != nil && r.ctx.Err() == nil {
			r.logger.Printf("replica: notify: %v", err)
		}
		cancel()
	}
}

// encode is one event as a NOTIFY carries it. A payload is at most 8000
// bytes: a long text is cut, the event itself still goes.
func encode(e events.Event) json.RawMessage {
	b, _ := json.Marshal(e)
	if len(b)+64 > maxPayload {
		e.Text = e.Text[:min(len(e.Text), 1000)]
		b, _ = json.Marshal(e)
	}
	return b
}

func (r *Replica) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		return nil, err
	}
	for _, ch := range []string{channel, classChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			conn.Close(ctx)
			return nil, err
		}
	}
	return conn, nil
}

// receive publishes the other replicas' events on this one's bus; a lost
// connection is opened again.
func (r *Replica) receive(conn *pgx.Conn) {
	defer func() { conn.Close(context.Background()) }()
	for {
		n, err := conn.WaitForNotification(r.ctx)
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			r.logger.Printf("replica: listen: %v", err)
			conn.Close(context.Background())
			for {
				select {
				case <-r.ctx.Done():
					return
				case <-time.After(time.Second):
				}
				// A failed attempt leaves conn as it was (closed, not
				// nil): the deferred Close must not meet a nil.
				if c, err := r.listen(r.ctx); err == nil {
					conn = c
					break
				}
			}
			// What the others announced meanwhile is lost: the
			// classroom reads its classes again.
			select {
			case r.changes <- classroom.Change{Kind: classroom.ChangeReload}:
			case <-r.ctx.Done():
				return
			}
			continue
		}
		if n.Channel == classChannel {
			var cn classNote
			if json.Unmarshal([]byte(n.Payload), &cn) != nil || cn.From == r.self {
				continue
			}
			select {
			case r.changes <- cn.Change:
			case <-r.ctx.Done():
				return
			}
			continue
		}
		var nt note
		if json.Unmarshal([]byte(n.Payload), &nt) != nil || nt.From == r.self {
			continue
		}
		for _, raw := range nt.Events {
			var e events.Event
			if json.Unmarshal(raw, &e) == nil {
				e.Remote = true
				r.bus.Publish(e)
			}
		}
	}
}

// classNote is one classroom change crossing replicas.
type classNote struct {
	From   string           `json:"from"`
	Change classroom.Change `json:"change"`
}

// Announce passes a classroom change to the other replicas; it returns
// once PostgreSQL has it, so a student's next record is sent after it.
func (r *Replica) Announce(ch classroom.Change) {
	b, _ := json.Marshal(classNote{From: r.self, Change: ch})
	if len(b) > maxPayload { // the receivers read the record from the store
		ch.Progress = nil
		b, _ = json.Marshal(classNote{From: r.self, Change: ch})
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	if _, err := r.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, classChannel, string(b)); err != nil && r.ctx.Err() == nil {
		r.logger.Printf("replica: notify the classroom: %v", err)
	}
}

// Receive names the function that applies the other replicas' changes.
func (r *Replica) Receive(f func(classroom.Change)) {
	r.applyMu.Lock()
	r.applyFn = f
	r.applyMu.Unlock()
}

// applyChanges applies the other replicas' classroom changes in order.
func (r *Replica) applyChanges() {
	for {
		select {
		case <-r.ctx.Done():
			return
		case ch := <-r.changes:
			r.applyMu.Lock()
			f := r.applyFn
			r.applyMu.Unlock()
			if f != nil {
				f(ch)
			}
		}
	}
}

// SaveLab writes a lab's record.
func (r *Replica) SaveLab(rec lab.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	_, err = r.db.ExecContext(ctx, `INSERT INTO labs (id, client, record, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET record = excluded.record, expires_at = GREATEST(labs.expires_at, excluded.expires_at)`,
		rec.ID, rec.Client, string(b), rec.Expires.UnixMilli())
	return err
}

// LoadLab reads a lab's record; its expiry is the latest any replica saw.
func (r *Replica) LoadLab(id string) (lab.Record, bool) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	var rec lab.Record
	var b string
	var expires int64
	if err := r.db.QueryRowContext(ctx, `SELECT record, expires_at FROM labs WHERE id = $1`, id).Scan(&b, &expires); err != nil {
		if !errors.Is(err, sql.ErrNoRows) {
			r.logger.Printf("replica: load lab: %v", err)
		}
		return rec, false
	}
	if json.Unmarshal([]byte(b), &rec) != nil {
		return rec, false
	}
	rec.Expires = time.UnixMilli(expires)
	return rec, true
}

// CountLabs counts the labs of client, and all, not expired at now.
func (r *Replica) CountLabs(client string, now time.Time) (ofClient, all int, err error) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	err = r.db.QueryRowContext(ctx, `SELECT COUNT(*) FILTER (WHERE client = $1 AND client <> ''), COUNT(*) FROM labs WHERE expires_at > $2`,
		client, now.UnixMilli()).Scan(&ofClient, &all)
	return ofClient, all, err
}

// ExtendLab moves a lab's expiry later, never earlier: replicas that saw
// it in use at different times agree on the latest.
func (r *Replica) ExtendLab(id string, expires time.Time) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	if _, err := r.db.ExecContext(ctx, `UPDATE labs SET expires_at = GREATEST(expires_at, $2) WHERE id = $1`, id, expires.UnixMilli()); err != nil && r.ctx.Err() == nil {
		r.logger.Printf("replica: extend lab: %v", err)
	}
}

// DeleteLab removes a lab; its mail goes with DeleteMessages.
func (r *Replica) DeleteLab(id string) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	if _, err := r.db.ExecContext(ctx, `DELETE FROM labs WHERE id = $1`, id); err != nil {
		r.logger.Printf("replica: delete lab: %v", err)
	}
}

// ExpireLabs removes the labs no replica has seen in use for their TTL.
func (r *Replica) ExpireLabs(now time.Time) []string {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	rows, err := r.db.QueryContext(ctx, `DELETE FROM labs WHERE expires_at <= $1 RETURNING id`, now.UnixMilli())
	if err != nil {
		r.logger.Printf("replica: expire labs: %v", err)
		return nil
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// DeliverMessage stores m under the bounds, as mailbox.Store does in
// memory: the lab's own oldest messages make room, or nothing is stored.
func (r *Replica) DeliverMessage(m *mailbox.Message, held int64, b mailbox.Bounds) (evicted []*mailbox.Message, total uint64, err error) {
	meta, err := json.Marshal(m)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, deliveryLock); err != nil {
		return nil, 0, err
	}
	// The lab's row, held until the message is in: a lab deleted
	// meanwhile on any replica either waits for this delivery (and
	// then deletes the message with the lab) or refuses it here.
	if m.Lab != lab.Classroom {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM labs WHERE id = $1 FOR SHARE`, m.Lab).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, 0, mailbox.ErrNoLab
		} else if err != nil {
			return nil, 0, err
		}
	}
	var all, seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(held), 0), COALESCE(MAX(seq), 0) FROM messages`).Scan(&all, &seq); err != nil {
		return nil, 0, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, held, meta FROM messages WHERE lab = $1 ORDER BY seq`, m.Lab)
	if err != nil {
		return nil, 0, err
	}
	type old struct {
		id   string
		held int64
		size int
	}
	var box []old
	var labBytes int64
	for rows.Next() {
		var o old
		var meta string
		if err := rows.Scan(&o.id, &o.held, &meta); err != nil {
			rows.Close()
			return nil, 0, err
		}
		var mm mailbox.Message
		json.Unmarshal([]byte(meta), &mm)
		o.size = mm.Size
		box = append(box, o)
		labBytes += o.held
	}
	rows.Close()
	if all-labBytes+held > b.MaxBytes {
		return nil, 0, mailbox.ErrFull
	}
	for len(box) > 0 && (len(box) >= b.PerLab || labBytes+held > b.LabBytes || all+held > b.MaxBytes) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id = $1`, box[0].id); err != nil {
			return nil, 0, err
		}
		evicted = append(evicted, &mailbox.Message{ID: box[0].id, Size: box[0].size})
		labBytes -= box[0].held
		all -= box[0].held
		box = box[1:]
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO mailboxes (lab, evicted) VALUES ($1, $2)
		ON CONFLICT (lab) DO UPDATE SET evicted = mailboxes.evicted + excluded.evicted RETURNING evicted`,
		m.Lab, len(evicted)).Scan(&total); err != nil {
		return nil, 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, lab, seq, held, meta, raw) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ID, m.Lab, seq+1, held, string(meta), m.Raw); err != nil {
		return nil, 0, err
	}
	return evicted, total, tx.Commit()
}

// ListMessages is a lab's mail, newest first.
func (r *Replica) ListMessages(labID string) []*mailbox.Message {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	rows, err := r.db.QueryContext(ctx, `SELECT meta, raw FROM messages WHERE lab = $1 ORDER BY seq DESC`, labID)
	if err != nil {
		r.logger.Printf("replica: list mail: %v", err)
		return nil
	}
	defer rows.Close()
	var out []*mailbox.Message
	for rows.Next() {
		if m, err := scanMessage(rows); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// GetMessage is one message of a lab.
func (r *Replica) GetMessage(labID, id string) (*mailbox.Message, bool) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	m, err := scanMessage(r.db.QueryRowContext(ctx, `SELECT meta, raw FROM messages WHERE lab = $1 AND id = $2`, labID, id))
	return m, err == nil
}

func scanMessage(row interface{ Scan(...any) error }) (*mailbox.Message, error) {
	var meta string
	m := &mailbox.Message{}
	if err := row.Scan(&meta, &m.Raw); err != nil {
		return nil, err
	}
	return m, json.Unmarshal([]byte(meta), m)
}

// DeleteMessages forgets a lab's mail once no replica keeps the lab: a
// replica that saw it expire may be behind one that saw it in use.
func (r *Replica) DeleteMessages(labID string) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	if _, err := r.db.ExecContext(ctx, `DELETE FROM messages WHERE lab = $1 AND NOT EXISTS (SELECT 1 FROM labs WHERE id = $1)`, labID); err != nil {
		r.logger.Printf("replica: delete mail: %v", err)
	}
	r.db.ExecContext(ctx, `DELETE FROM mailboxes WHERE lab = $1 AND NOT EXISTS (SELECT 1 FROM labs WHERE id = $1)`, labID)
}

// MailStats counts the mail every replica holds.
func (r *Replica) MailStats() (messages int, bytes int64, evictions uint64) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	r.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(held), 0) FROM messages`).Scan(&messages, &bytes)
	r.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(evicted), 0) FROM mailboxes`).Scan(&evictions)
	return messages, bytes, evictions
}
