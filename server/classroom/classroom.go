// Package classroom is a teacher's view of a class: classes with a join
// code, students who join with a display name and get their own lab, the
// students' progress (posted by their pages) and SMTP transcripts (taken
// from the event bus), a live dashboard over Server-Sent Events, class
// controls and export.
//
// Everything is under /api/classroom/ (the pages /teach and /join are
// web's, and call this API):
//
//	POST   /api/classroom/session            {"password"}: the teacher signs in (cookie)
//	DELETE /api/classroom/session            signs out
//	GET    /api/classroom/session            {"teacher": bool}
//	GET    /api/classroom/classes            the classes (teacher)
//	POST   /api/classroom/classes            {"name","capacity"}: a new class (teacher)
//	GET    /api/classroom/classes/{id}       the class and one row per student (teacher)
//	PATCH  /api/classroom/classes/{id}       {"locked","lesson","ended","stuck_fails","stuck_minutes"} (teacher)
//	POST   /api/classroom/classes/{id}/profile      {"profile"}: everyone's network; "" undoes (teacher)
//	POST   /api/classroom/classes/{id}/reset        every lab back as at joining (teacher)
//	GET    /api/classroom/classes/{id}/mailbox      every student's mail, newest first (teacher)
//	DELETE /api/classroom/classes/{id}/mailbox      empties it (teacher)
//	GET    /api/classroom/classes/{id}/mailbox/{sid}/{mid}/raw  one message as received (teacher)
//	GET    /api/classroom/classes/{id}/events       the class, the rows and new mail, live (SSE, teacher)
//	GET    /api/classroom/classes/{id}/students/{sid}/transcript  with the route taken (teacher)
//	GET    /api/classroom/classes/{id}/export.csv, export.json (teacher)
//	GET    /api/classroom/classes/{id}/qr.svg   the join link as a QR code (teacher)
//	GET    /api/classroom/join/{code}        the class's name, and whether it admits students
//	POST   /api/classroom/join               {"code","name"}: a student joins; answers the token once
//	GET    /api/classroom/me                 the student, the class and the lab (Bearer TOKEN)
//	GET    /api/classroom/me/events?token=T  the class's instructions to the student, live (SSE)
//	POST   /api/classroom/me/progress        a progress record (Bearer TOKEN)
//	GET    /api/classroom/me/transcript      the student's own transcript (Bearer TOKEN)
//
// Teacher routes need the teacher's session cookie (HttpOnly,
// SameSite=Strict) and, when they change anything, a request from this
// server's own origin. A student token opens only that student's routes.
//
// Several replicas may serve one school from one store: sign-ins live in
// the store, a class or student a replica does not hold is read from it,
// and each change is announced to the other replicas through [Sync],
// which apply it and tell their own live streams.
package classroom

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync"
	"time"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/failures"
	"github.com/portlab/portlab/server/internal/httpjson"
	"github.com/portlab/portlab/server/lab"
)

// Labs is what the classroom needs of the lab manager.
type Labs interface {
	// CreateInClass opens a lab that does not count against its client
	// address's labs: a class has its own capacity.
	CreateInClass(profile string) (lab.Lab, error)
	Open(id, key string) (lab.Lab, error)
	SetProfile(id, profile string) (lab.Lab, error)
	ResetPolicy(id string) error
	// Delete ends a lab.
	Delete(id string) error
}

// Config is what a Classroom needs.
type Config struct {
	Store store.Store
	Labs  Labs
	Bus   *events.Bus
	// Mail is the labs' mailboxes (nil: the class mailbox is empty).
	Mail Mail
	// Sync passes changes to the other replicas' classrooms (nil: this
	// process alone serves the classes).
	Sync Sync
	// Password is the teacher's password; empty generates one (see
	// [Classroom.GeneratedPassword]). Once the first sign-in has hashed
	// it, only its bcrypt hash is kept.
	Password string
	// Profiles and Lessons say whether a network profile or a lesson
	// exists (nil: any).
	Profiles, Lessons func(name string) bool
	// Capacity is a new class's default number of students (default 60).
	Capacity int
	// LoginFailures is how many wrong passwords one client address may
	// try per LoginWindow before it must wait (default 5 per 10 minutes).
	LoginFailures int
	LoginWindow   time.Duration
	// SessionTTL is how long a teacher's sign-in lasts (default 12h).
	SessionTTL time.Duration
	// Transcript bounds the lines kept per student (default 500).
	Transcript int
	// Heartbeat is how often an idle live stream sends a comment
	// (default 25 s).
	Heartbeat time.Duration
	Now       func() time.Time
}

// Classroom serves the classroom API and keeps the classes' live state.
type Classroom struct {
	cfg       Config
	generated string // the password when Config had none
	// The teacher password's bcrypt hash is made at the first sign-in,
	// not at start: it takes some 60 ms, which every sandbox a test
	// starts would pay. password is "" from then on.
	hashOnce sync.Once
	password string
	hash     []byte
	hashErr  error

	mu       sync.Mutex
	classes  map[string]*class   // by id
	students map[string]*student // by id
	// byLab finds a student by current lab id; a sync.Map because the
	// bus asks it of every event, and the relay must not wait on mu.
	byLab sync.Map // string -> *student
	// failures counts wrong passwords per client address, on this
	// replica only: behind a load balancer a guesser gets the limit on
	// each replica, a few times five guesses per window against a
	// password of 80 bits (or the teacher's own) and bcrypt.
	failures *failures.Window

	mux  *http.ServeMux
	sub  *events.Subscription
	done chan struct{}
	wg   sync.WaitGroup
}

// New loads the classes from the store and starts following the bus.
func New(ctx context.Context, cfg Config) (*Classroom, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Profiles == nil {
		cfg.Profiles = func(string) bool { return true }
	}
	if cfg.Lessons == nil {
		cfg.Lessons = func(string) bool { return true }
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = 60
	}
	if cfg.LoginFailures == 0 {
		cfg.LoginFailures = 5
	}
	if cfg.LoginWindow == 0 {
		cfg.LoginWindow = 10 * time.Minute
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Transcript == 0 {
		cfg.Transcript = 500
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 25 * time.Second
	}
	c := &Classroom{
		cfg: cfg, classes: map[string]*class{}, students: map[string]*student{},
		failures: failures.New(cfg.LoginWindow, cfg.Now), done: make(chan struct{}),
	}
	c.setPassword(cfg.Password)
	c.mux = c.routes()
	if cfg.Sync != nil {
		cfg.Sync.Receive(c.apply)
	}
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	if cfg.Bus != nil {
		c.sub = cfg.Bus.Subscribe(4096, c.inClass)
		c.wg.Add(1)
		go c.follow()
	}
	c.wg.Add(1)
	go c.tick()
	return c, nil
}

// GeneratedPassword is the teacher password New made up, for the start-up
// message; "" when Config gave one.
func (c *Classroom) GeneratedPassword() string { return c.generated }

// Close stops following the bus and the live streams.
func (c *Classroom) Close() {
	select {
	case <-c.done:
		return
	default:
		close(c.done)
	}
	if c.sub != nil {
		c.sub.Close()
	}
	c.wg.Wait()
}

// load rebuilds every class's rows from the store: what a restart keeps.
func (c *Classroom) load(ctx context.Context) error {
	classes, err := c.cfg.Store.Classes(ctx)
	if err != nil {
		return err
	}
	for _, sc := range classes {
		if _, _, err := c.ensureClass(ctx, sc.ID); err != nil {
			return err
		}
	}
	return nil
}

// codeAlphabet has no 0/O, 1/I/L: a code read off a projector is typed
// right.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

func joinCode() string {
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// ServeHTTP serves /api/classroom/.
func (c *Classroom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mux.ServeHTTP(w, r)
}

func (c *Classroom) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/classroom/session", c.login)
	mux.HandleFunc("DELETE /api/classroom/session", c.teacher(c.logout))
	mux.HandleFunc("GET /api/classroom/session", c.sessionInfo)
	mux.HandleFunc("GET /api/classroom/classes", c.teacher(c.listClasses))
	mux.HandleFunc("POST /api/classroom/classes", c.teacher(c.createClass))
	mux.HandleFunc("GET /api/classroom/classes/{id}", c.teacher(c.getClass))
	mux.HandleFunc("PATCH /api/classroom/classes/{id}", c.teacher(c.patchClass))
	mux.HandleFunc("POST /api/classroom/classes/{id}/profile", c.teacher(c.setProfile))
	mux.HandleFunc("POST /api/classroom/classes/{id}/reset", c.teacher(c.resetLabs))
	mux.HandleFunc("GET /api/classroom/classes/{id}/mailbox", c.teacher(c.classMailbox))
	mux.HandleFunc("DELETE /api/classroom/classes/{id}/mailbox", c.teacher(c.clearMailbox))
	mux.HandleFunc("GET /api/classroom/classes/{id}/mailbox/{sid}/{mid}/raw", c.teacher(c.classMailRaw))
	mux.HandleFunc("GET /api/classroom/classes/{id}/events", c.teacher(c.classEvents))
	mux.HandleFunc("GET /api/classroom/classes/{id}/students/{sid}/transcript", c.teacher(c.teacherTranscript))
	mux.HandleFunc("GET /api/classroom/classes/{id}/export.csv", c.teacher(c.exportCSV))
	mux.HandleFunc("GET /api/classroom/classes/{id}/export.json", c.teacher(c.exportJSON))
	mux.HandleFunc("GET /api/classroom/classes/{id}/qr.svg", c.teacher(c.qr))
	mux.HandleFunc("POST /api/classroom/join", c.join)
	mux.HandleFunc("GET /api/classroom/join/{code}", c.joinInfo)
	mux.HandleFunc("GET /api/classroom/me", c.student(c.me))
	mux.HandleFunc("GET /api/classroom/me/events", c.student(c.meEvents))
	mux.HandleFunc("POST /api/classroom/me/progress", c.student(c.progress))
	mux.HandleFunc("GET /api/classroom/me/transcript", c.student(c.myTranscript))
	mux.HandleFunc("/api/classroom/", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "no such classroom endpoint")
	})
	return mux
}
