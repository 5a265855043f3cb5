package classroom

import (
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/lab"
)

// class is a class's live state; its fields are guarded by Classroom.mu.
type class struct {
	store.Class
	students []*student
	// prevProfiles undo the last "profile for everyone": each student's
	// profile before it, and the class's own.
	prevProfiles map[string]string
	prevClass    string
	hasUndo      bool
	watchers     map[*watcher]struct{}
	// joining counts the students whose join is being written: their
	// places are held.
	joining int
}

func newClass(sc store.Class) *class {
	return &class{Class: sc, watchers: map[*watcher]struct{}{}}
}

// student is one student's live state, rebuilt from the progress records
// after a restart; guarded by Classroom.mu.
type student struct {
	store.Student
	class *class
	lab   lab.Lab // the current lab with its key (in memory only)

	lesson       string
	step, total  int
	state        string
	lessons      map[string]*lessonStat
	hints        int
	failKey      string // lesson/step of the failures counted
	fails        int
	lastReply    string
	lastReplyAt  time.Time
	lastProgress time.Time
	ports        map[int]string // port -> the last connection's verdict

	transcript []Line
	maxLines   int
	watchers   map[*watcher]struct{} // the student's own page
	stuckShown bool                  // the dashboard was last sent "stuck"
	records    int                   // progress records kept
	seq        int64                 // the number of the last record folded
}

// lessonStat is one lesson of one student, for the grid and the export.
type lessonStat struct {
	Best  string // passed or watched, the best finish
	Steps int    // steps done (the furthest)
	Total int
	Hints int
	First time.Time
	Last  time.Time
}

func newStudent(st store.Student, cl *class, maxLines int) *student {
	return &student{Student: st, class: cl, lessons: map[string]*lessonStat{}, maxLines: maxLines, watchers: map[*watcher]struct{}{}, lastProgress: st.Joined}
}

var rank = map[string]int{"watched": 1, "passed": 2}

// apply folds one progress record into the student's state, once: a
// record numbered at or below the last folded is not folded again (a
// replica may read a record from the store and hear of it too). It
// reports whether it folded p.
func (s *student) apply(p store.Progress) bool {
	if p.Seq != 0 && p.Seq <= s.seq {
		return false
	}
	s.seq = max(s.seq, p.Seq)
	s.records++
	if p.Lesson == "" {
		return true
	}
	ls := s.lessons[p.Lesson]
	if ls == nil {
		ls = &lessonStat{First: p.At}
		s.lessons[p.Lesson] = ls
	}
	ls.Last = p.At
	switch p.Kind {
	case "open":
		if s.lesson != p.Lesson {
			s.lesson, s.step, s.total, s.state = p.Lesson, p.Step, p.Total, "open"
		}
	case "hint":
		s.hints++
		ls.Hints++
		s.lesson, s.step = p.Lesson, p.Step
		if p.Total > 0 {
			s.total = p.Total
		}
	case "step-failed":
		key := p.Lesson + "/" + itoa(p.Step)
		if s.failKey == key {
			s.fails++
		} else {
			s.failKey, s.fails = key, 1
		}
		s.lesson, s.step = p.Lesson, p.Step
		if p.Total > 0 {
			s.total = p.Total
		}
	case "progress":
		if s.lesson != p.Lesson || p.Step != s.step || p.State != s.state {
			s.lastProgress = p.At
		}
		s.lesson, s.step, s.total, s.state = p.Lesson, p.Step, p.Total, p.State
		if s.failKey != p.Lesson+"/"+itoa(p.Step) {
			s.failKey, s.fails = "", 0 // moved on from the step that failed
		}
		ls.Steps = max(ls.Steps, p.Step)
		ls.Total = p.Total
		if rank[p.State] > rank[ls.Best] {
			ls.Best = p.State
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }

// Row is one student on the dashboard.
type Row struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Joined      time.Time `json:"joined"`
	Lesson      string    `json:"lesson"`
	Step        int       `json:"step"` // steps done in the current lesson
	Total       int       `json:"total"`
	State       string    `json:"state"`
	Passed      []string  `json:"passed"`
	Watched     []string  `json:"watched"`
	Hints       int       `json:"hints"`
	Fails       int       `json:"fails"` // failures of the current step in a row
	LastReply   string    `json:"last_reply,omitempty"`
	LastReplyAt time.Time `json:"last_reply_at,omitzero"`
	// LastProgress is when the student last moved on (joined, if never).
	LastProgress time.Time `json:"last_progress"`
	Stuck        string    `json:"stuck,omitempty"` // why the student looks stuck; "" if not
	Lab          string    `json:"lab,omitempty"`
	// Ports is the port board in brief: what the last connection to
	// each port came to (answered, refused, timed out, unknown host).
	Ports map[int]string `json:"ports"`
}

func (s *student) row(now time.Time) Row {
	r := Row{
		ID: s.ID, Name: s.Name, Joined: s.Joined, Lesson: s.lesson, Step: s.step, Total: s.total, State: s.state,
		Passed: []string{}, Watched: []string{}, Hints: s.hints, Fails: s.fails,
		LastReply: s.lastReply, LastReplyAt: s.lastReplyAt, LastProgress: s.lastProgress, Lab: s.lab.ID,
		Ports: maps.Clone(s.ports),
	}
	if r.Ports == nil {
		r.Ports = map[int]string{}
	}
	for name, ls := range s.lessons {
		switch ls.Best {
		case "passed":
			r.Passed = append(r.Passed, name)
		case "watched":
			r.Watched = append(r.Watched, name)
		}
	}
	sort.Strings(r.Passed)
	sort.Strings(r.Watched)
	r.Stuck = s.stuck(now)
	return r
}

// stuck says why a student looks stuck: the same step failed the class's
// number of times in a row, or no progress for its number of minutes
// (not counted once the lesson is finished).
func (s *student) stuck(now time.Time) string {
	cl := s.class
	if cl.StuckFail > 0 && s.fails >= cl.StuckFail {
		return "failed step " + itoa(s.step+1) + " " + itoa(s.fails) + " times"
	}
	finished := s.state == "passed" || s.state == "watched"
	if cl.StuckMins > 0 && !finished && now.Sub(s.lastProgress) >= time.Duration(cl.StuckMins)*time.Minute {
		return "no progress for " + itoa(int(now.Sub(s.lastProgress)/time.Minute)) + " min"
	}
	return ""
}

// Line is one line of a student's transcript: what the relay and the
// network saw of the student's connections.
type Line struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Host   string    `json:"host,omitempty"`
	Port   int       `json:"port,omitempty"`
	Text   string    `json:"text"`
	Secure bool      `json:"secure,omitempty"`
	Conn   uint64    `json:"conn,omitempty"` // one connection's lines share it

	// What the route needs, kept typed rather than read back from Text.
	verdict string            // of a connect or dial line: see [verdict]
	tls     string            // the TLS version, on a tls line
	auth    string            // accepted or refused, on an auth line
	why     map[string]string // a failed dial's reason by page language
}

// in is the line as a teacher reading lang sees it: a failed dial's
// reason in that language, the wire's lines as they were.
func (l Line) in(lang string) Line {
	if w, ok := l.why[lang]; ok {
		l.Text = w
	}
	return l
}

// inClass is the bus filter: events of the labs of class students.
func (c *Classroom) inClass(e events.Event) bool {
	_, ok := c.byLab.Load(e.Lab)
	return ok
}

// follow takes the class labs' events off the bus: the transcripts and
// the last reply code.
func (c *Classroom) follow() {
	defer c.wg.Done()
	for e := range c.sub.C {
		v, ok := c.byLab.Load(e.Lab)
		if !ok {
			continue
		}
		s := v.(*student)
		mailLab := "" // a stored message the dashboards are to get
		c.mu.Lock()
		l := Line{Time: e.Time, Kind: string(e.Kind), Host: e.Host, Port: e.Port, Text: e.Text, Secure: e.Secure, Conn: e.Conn, verdict: verdict(e), why: e.Why}
		changed := e.Kind == events.Reply
		if l.verdict != "" && e.Port > 0 {
			if s.ports == nil {
				s.ports = map[int]string{}
			}
			s.ports[e.Port] = l.verdict
			changed = true
		}
		switch e.Kind {
		case events.Reply:
			if len(e.Text) >= 3 && strings.Trim(e.Text[:3], "0123456789") == "" {
				s.lastReply, s.lastReplyAt = e.Text[:3], e.Time
			}
		case events.TLS:
			// The relay names the version as crypto/tls does ("TLS 1.3").
			l.Text = e.TLSVersion + " " + e.TLSCipher
			l.tls = e.TLSVersion
		case events.Auth:
			l.auth = map[bool]string{true: "accepted", false: "refused"}[e.OK]
			l.Text = "AUTH " + e.User + " " + l.auth
		case events.Message:
			if c.cfg.Mail != nil && e.MessageID != "" && len(s.class.watchers) > 0 {
				mailLab = s.lab.ID
			}
		}
		s.transcript = append(s.transcript, l)
		if over := len(s.transcript) - s.maxLines; over > 0 {
			s.transcript = append(s.transcript[:0:0], s.transcript[over:]...)
		}
		if changed {
			c.changedLocked(s)
		}
		c.mu.Unlock()
		if mailLab != "" {
			c.sendMail(s, mailLab, e.MessageID)
		}
	}
}

// tick marks students stuck for want of progress, which no event says.
func (c *Classroom) tick() {
	defer c.wg.Done()
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.checkStuck()
		}
	}
}

// checkStuck sends the rows whose stuck marker changed since last sent.
func (c *Classroom) checkStuck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	for _, cl := range c.classes {
		if len(cl.watchers) == 0 {
			continue
		}
		for _, s := range cl.students {
			if (s.stuck(now) != "") != s.stuckShown {
				c.changedLocked(s)
			}
		}
	}
}
