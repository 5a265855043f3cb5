// Package store keeps classes, their students and the students' progress
// records. [Store] is the interface the classroom uses; [Open] backs it
// with an embedded SQLite database (pure Go, modernc.org/sqlite) in the
// sandbox's data directory, [OpenPostgres] with PostgreSQL (pgx), shared
// by several replicas. Both run the same SQL and the same migrations
// (placeholders $1.., BIGINT times in Unix milliseconds, no AUTOINCREMENT,
// no SQLite pragmas in the migrations); what differs between them is in
// one place, [dialect].
//
// Migrations are the embedded migrations/NNN_*.sql files, applied in
// order, each in its own transaction with its number written to
// schema_version.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound: no such class or student.
var ErrNotFound = errors.New("not found")

// ErrFull: the class has as many students as its capacity.
var ErrFull = errors.New("the class is full")

// Class is one class a teacher created.
type Class struct {
	ID        string
	Name      string
	Code      string // the short join code students type
	Created   time.Time
	Capacity  int       // students the class admits
	Locked    bool      // no one may join
	Ended     time.Time // zero while the class runs
	Profile   string    // the network profile set for everyone ("" : each their own)
	Lesson    string    // the lesson the teacher asks everyone to open
	StuckFail int       // failures of one step that mark a student stuck
	StuckMins int       // minutes without progress that mark a student stuck
	Resets    int       // the teacher's resets of every lab
	Clears    int       // the teacher's clearings of the class mailbox
}

// Student is one student in a class. The token itself is never stored:
// TokenHash is its SHA-256, so the database does not hold what lets a
// page act as the student.
type Student struct {
	ID        string
	ClassID   string
	Name      string
	TokenHash string
	Joined    time.Time
	Lab       string // the student's current lab
	// LabKey is the lab's key sealed with the student's token (see
	// package classroom): the database alone does not open the lab.
	LabKey string
}

// Undo is what the last "profile for everyone" of a class replaced.
type Undo struct {
	Class    string            // the class's profile before it
	Profiles map[string]string // student id -> the lab's profile before it
}

// Progress is one record a student's page posts: a lesson's step passed,
// finished or failed, a hint asked for.
type Progress struct {
	StudentID string
	Seq       int64 // the student's record number, from 1; set by AddProgress
	At        time.Time
	Kind      string // "progress", "step-failed", "hint", "open"
	Lesson    string
	Step      int
	Total     int
	State     string // running, passed, watched, failed
	Who       string // who did each step (JSON object: step ID -> student, hint, shown, played)
}

// Store is where classes live. Implementations are safe for concurrent use.
type Store interface {
	CreateClass(ctx context.Context, c Class) error
	// UpdateClass writes a class's settings (not Resets or Clears).
	UpdateClass(ctx context.Context, c Class) error
	// Count adds to a class's Resets and Clears in the database itself,
	// so that replicas counting at once lose no count; it returns the
	// class as it is then.
	Count(ctx context.Context, id string, resets, clears int) (Class, error)
	Class(ctx context.Context, id string) (Class, error)
	ClassByCode(ctx context.Context, code string) (Class, error)
	Classes(ctx context.Context) ([]Class, error)
	// CountClasses is how many classes there are, for /metrics.
	CountClasses(ctx context.Context) (int, error)

	AddStudent(ctx context.Context, s Student) error
	// SetStudentLab records a student's new lab and its sealed key.
	SetStudentLab(ctx context.Context, id, lab, labKey string) error
	Student(ctx context.Context, id string) (Student, error)
	StudentByToken(ctx context.Context, tokenHash string) (Student, error)
	Students(ctx context.Context, classID string) ([]Student, error)

	// AddProgress appends a record and returns it with its Seq.
	AddProgress(ctx context.Context, p Progress) (Progress, error)
	// Progress is every record of a class's students, each student's in
	// the order of their numbers (replicas' clocks may disagree a little).
	Progress(ctx context.Context, classID string) ([]Progress, error)

	// SetUndo keeps what a class's "profile for everyone" replaced; nil
	// forgets it. Undo reads it (ErrNotFound: nothing to undo).
	SetUndo(ctx context.Context, classID string, u *Undo) error
	Undo(ctx context.Context, classID string) (Undo, error)

	// AddSession keeps a teacher's sign-in (the cookie value's hash)
	// until expires, and forgets the sign-ins expired at now.
	AddSession(ctx context.Context, tokenHash string, expires, now time.Time) error
	// Session is a sign-in's expiry (ErrNotFound: none).
	Session(ctx context.Context, tokenHash string) (time.Time, error)
	DeleteSession(ctx context.Context, tokenHash string) error

	Close() error
}

//go:embed migrations/*.sql
var migrations embed.FS

// SQL is a Store on a database/sql database whose driver takes $1-style
// placeholders (SQLite does; so does pgx's stdlib driver).
type SQL struct {
	db *sql.DB
	d  dialect
}

var _ Store = (*SQL)(nil)

// Open opens (creating it if need be) the SQLite database classroom.db in
// dir and brings its schema up to date; an empty dir keeps the database
// in memory, for tests and a sandbox without --data.
func Open(ctx context.Context, dir string) (*SQL, error) {
	dsn := "file::memory:"
	if dir != "" {
		dsn = "file:" + filepath.Join(dir, "classroom.db")
	}
	// WAL lets the dashboard read while a student's record is written;
	// the busy time-out waits out the other writer instead of failing.
	dsn += "?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	return open(ctx, sqlite, dsn)
}

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres://
// URL or key=value string, as pgx reads them) and brings its schema up
// to date. Several replicas may open one database at once.
func OpenPostgres(ctx context.Context, dsn string) (*SQL, error) {
	return open(ctx, postgres, dsn)
}

// IsPostgres reports whether a --store value names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func open(ctx context.Context, d dialect, dsn string) (*SQL, error) {
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, err
	}
	if d.maxConns > 0 {
		db.SetMaxOpenConns(d.maxConns)
	}
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, fmt.Errorf("classroom database: %w", err)
	}
	return &SQL{db: db, d: d}, nil
}

// dialect is what differs between the databases; the SQL is shared.
type dialect struct {
	driver string
	// maxConns bounds the pool (0: no bound).
	maxConns int
	// lock and unlock, on one connection, keep replicas that start at
	// once from running one migration twice ("": nothing to lock).
	lock, unlock string
	// txLock, first in a migration's transaction, makes it the only
	// writer before it reads the version ("": lock and unlock do).
	txLock string
	// conflict reports a unique key taken by a concurrent writer: the
	// statement is worth retrying.
	conflict func(error) bool
}

var (
	// SQLite has one writer at a time; one connection also keeps the
	// in-memory database one database, and leaves no concurrent writer.
	// Two processes may still open one file: a write that changes
	// nothing takes SQLite's write lock (waiting out busy_timeout).
	sqlite = dialect{driver: "sqlite", maxConns: 1, txLock: `DELETE FROM schema_version WHERE version < 0`,
		conflict: func(error) bool { return false }}
	// PostgreSQL: any number of connections and replicas. The
	// migration lock is a session advisory lock (its key is arbitrary,
	// the same for every replica); a unique violation is SQLSTATE 23505.
	postgres = dialect{
		driver: "pgx",
		lock:   `SELECT pg_advisory_lock(7201102)`, unlock: `SELECT pg_advisory_unlock(7201102)`,
		conflict: func(err error) bool {
			var e interface{ SQLState() string }
			return errors.As(err, &e) && e.SQLState() == "23505"
		},
	}
)

// migrate applies the migrations db has not had yet, in order.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.lock != "" {
		if _, err := conn.ExecContext(ctx, d.lock); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), d.unlock)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&have); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("%s: the name must start with its number", f)
		}
		if n <= have {
			continue
		}
		body, err := migrations.ReadFile(f)
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		// Another process may have applied it since we looked.
		if d.txLock != "" {
			if _, err := tx.ExecContext(ctx, d.txLock); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&have); err != nil {
			tx.Rollback()
			return err
		}
		if n <= have {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, n); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Ping says whether the database answers (a PostgreSQL server may not):
// what /readyz asks.
func (s *SQL) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// DB is the database, for the labs and mail that replicas share.
func (s *SQL) DB() *sql.DB { return s.db }

// Version is the schema version the database is at.
func (s *SQL) Version(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}

// Close closes the database.
func (s *SQL) Close() error { return s.db.Close() }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

const classCols = `id, name, code, created_at, capacity, locked, ended_at, profile, lesson, stuck_fails, stuck_minutes, resets, clears`

func (s *SQL) CreateClass(ctx context.Context, c Class) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO classes (`+classCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.Name, c.Code, ms(c.Created), c.Capacity, flag(c.Locked), ms(c.Ended), c.Profile, c.Lesson, c.StuckFail, c.StuckMins, c.Resets, c.Clears)
	return err
}

// UpdateClass writes every field but the id, code, creation time and the
// counts, which only [SQL.Count] moves.
func (s *SQL) UpdateClass(ctx context.Context, c Class) error {
	res, err := s.db.ExecContext(ctx, `UPDATE classes SET name = $2, capacity = $3, locked = $4, ended_at = $5, profile = $6, lesson = $7, stuck_fails = $8, stuck_minutes = $9 WHERE id = $1`,
		c.ID, c.Name, c.Capacity, flag(c.Locked), ms(c.Ended), c.Profile, c.Lesson, c.StuckFail, c.StuckMins)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *SQL) Count(ctx context.Context, id string, resets, clears int) (Class, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE classes SET resets = resets + $2, clears = clears + $3 WHERE id = $1`, id, resets, clears)
	if err != nil {
		return Class{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Class{}, ErrNotFound
	}
	return s.Class(ctx, id)
}

type scanner interface{ Scan(...any) error }

func scanClass(r scanner) (Class, error) {
	var c Class
	var created, ended int64
	var locked int
	err := r.Scan(&c.ID, &c.Name, &c.Code, &created, &c.Capacity, &locked, &ended, &c.Profile, &c.Lesson, &c.StuckFail, &c.StuckMins, &c.Resets, &c.Clears)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.Created, c.Ended, c.Locked = fromMS(created), fromMS(ended), locked != 0
	return c, err
}

func (s *SQL) Class(ctx context.Context, id string) (Class, error) {
	return scanClass(s.db.QueryRowContext(ctx, `SELECT `+classCols+` FROM classes WHERE id = $1`, id))
}

func (s *SQL) ClassByCode(ctx context.Context, code string) (Class, error) {
	return scanClass(s.db.QueryRowContext(ctx, `SELECT `+classCols+` FROM classes WHERE code = $1`, code))
}

func (s *SQL) CountClasses(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM classes`).Scan(&n)
	return n, err
}

func (s *SQL) Classes(ctx context.Context) ([]Class, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+classCols+` FROM classes ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Class
	for rows.Next() {
		c, err := scanClass(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const studentCols = `id, class_id, name, token_hash, joined_at, lab_id, lab_key`

// AddStudent adds a student unless the class already has its capacity
// (ErrFull). The class's row is locked first (an UPDATE that changes
// nothing, which both databases lock), so joins on several replicas
// take the last places one at a time.
func (s *SQL) AddStudent(ctx context.Context, st Student) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE classes SET capacity = capacity WHERE id = $1`, st.ClassID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	var n, capacity int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM students WHERE class_id = $1), capacity FROM classes WHERE id = $1`, st.ClassID).Scan(&n, &capacity); err != nil {
		return err
	}
	if n >= capacity {
		return ErrFull
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO students (`+studentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		st.ID, st.ClassID, st.Name, st.TokenHash, ms(st.Joined), st.Lab, st.LabKey); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *SQL) SetStudentLab(ctx context.Context, id, lab, labKey string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE students SET lab_id = $2, lab_key = $3 WHERE id = $1`, id, lab, labKey)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func scanStudent(r scanner) (Student, error) {
	var st Student
	var joined int64
	err := r.Scan(&st.ID, &st.ClassID, &st.Name, &st.TokenHash, &joined, &st.Lab, &st.LabKey)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	st.Joined = fromMS(joined)
	return st, err
}

func (s *SQL) Student(ctx context.Context, id string) (Student, error) {
	return scanStudent(s.db.QueryRowContext(ctx, `SELECT `+studentCols+` FROM students WHERE id = $1`, id))
}

func (s *SQL) StudentByToken(ctx context.Context, tokenHash string) (Student, error) {
	return scanStudent(s.db.QueryRowContext(ctx, `SELECT `+studentCols+` FROM students WHERE token_hash = $1`, tokenHash))
}

func (s *SQL) Students(ctx context.Context, classID string) ([]Student, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+studentCols+` FROM students WHERE class_id = $1 ORDER BY joined_at, id`, classID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Student
	for rows.Next() {
		st, err := scanStudent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func (s *SQL) AddProgress(ctx context.Context, p Progress) (Progress, error) {
	// The next number is taken in the INSERT itself, so two records of
	// one student never share one; where two writers (two replicas) take
	// the same number at once, the primary key refuses the second, which
	// takes the next. The casts tell PostgreSQL the parameters' types,
	// which a SELECT list does not.
	for try := 0; ; try++ {
		err := s.db.QueryRowContext(ctx, `INSERT INTO progress (student_id, seq, at, kind, lesson, step, total, state, who)
		SELECT CAST($1 AS TEXT), COALESCE(MAX(seq), 0) + 1, CAST($2 AS BIGINT), CAST($3 AS TEXT), CAST($4 AS TEXT),
			CAST($5 AS INTEGER), CAST($6 AS INTEGER), CAST($7 AS TEXT), CAST($8 AS TEXT)
		FROM progress WHERE student_id = $1
		RETURNING seq`,
			p.StudentID, ms(p.At), p.Kind, p.Lesson, p.Step, p.Total, p.State, p.Who).Scan(&p.Seq)
		if err != nil && s.d.conflict(err) && try < 20 {
			continue
		}
		return p, err
	}
}

func (s *SQL) Progress(ctx context.Context, classID string) ([]Progress, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.student_id, p.seq, p.at, p.kind, p.lesson, p.step, p.total, p.state, p.who
		FROM progress p JOIN students s ON s.id = p.student_id WHERE s.class_id = $1 ORDER BY p.student_id, p.seq`, classID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Progress
	for rows.Next() {
		var p Progress
		var at int64
		if err := rows.Scan(&p.StudentID, &p.Seq, &at, &p.Kind, &p.Lesson, &p.Step, &p.Total, &p.State, &p.Who); err != nil {
			return nil, err
		}
		p.At = fromMS(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *SQL) SetUndo(ctx context.Context, classID string, u *Undo) error {
	if u == nil {
		_, err := s.db.ExecContext(ctx, `DELETE FROM class_undo WHERE class_id = $1`, classID)
		return err
	}
	b, err := json.Marshal(u.Profiles)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO class_undo (class_id, class_profile, profiles) VALUES ($1, $2, $3)
		ON CONFLICT (class_id) DO UPDATE SET class_profile = excluded.class_profile, profiles = excluded.profiles`,
		classID, u.Class, string(b))
	return err
}

func (s *SQL) Undo(ctx context.Context, classID string) (Undo, error) {
	var u Undo
	var b string
	err := s.db.QueryRowContext(ctx, `SELECT class_profile, profiles FROM class_undo WHERE class_id = $1`, classID).Scan(&u.Class, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	} else if err != nil {
		return u, err
	}
	return u, json.Unmarshal([]byte(b), &u.Profiles)
}

func (s *SQL) AddSession(ctx context.Context, tokenHash string, expires, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO teacher_sessions (token_hash, expires_at) VALUES ($1, $2)`, tokenHash, ms(expires)); err != nil {
		return err
	}
	// Sign-ins that ran out are forgotten here: a sign-in is rare, so
	// this costs little, and the table stays small.
	_, err := s.db.ExecContext(ctx, `DELETE FROM teacher_sessions WHERE expires_at <= $1`, ms(now))
	return err
}

func (s *SQL) Session(ctx context.Context, tokenHash string) (time.Time, error) {
	var exp int64
	err := s.db.QueryRowContext(ctx, `SELECT expires_at FROM teacher_sessions WHERE token_hash = $1`, tokenHash).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	return fromMS(exp), err
}

func (s *SQL) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM teacher_sessions WHERE token_hash = $1`, tokenHash)
	return err
}
