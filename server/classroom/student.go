package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/internal/httpjson"
	"github.com/portlab/portlab/server/internal/secret"
	"github.com/portlab/portlab/server/internal/sse"
	"github.com/portlab/portlab/server/lab"
)

// Joined is what a student's page gets: who it is, its class and its lab
// (with the lab's key). Only the answer to a join holds Token.
type Joined struct {
	Token   string  `json:"token,omitempty"`
	Student string  `json:"student"`
	Name    string  `json:"name"`
	Class   Notice  `json:"class"`
	Lab     lab.Lab `json:"lab"`
}

// Notice is what a student sees of the class: its name and the teacher's
// instructions.
type Notice struct {
	Name    string `json:"name"`
	Lesson  string `json:"lesson,omitempty"`  // the teacher asks everyone to open it
	Profile string `json:"profile,omitempty"` // the network the teacher set for everyone
	Ended   bool   `json:"ended,omitempty"`
	// LabProfile is the student's lab's own profile, what the page goes
	// back to when the teacher undoes a profile for everyone.
	LabProfile string `json:"lab_profile,omitempty"`
	// Resets and Clears count the teacher's resets of every lab and
	// clearings of the class mailbox, kept in the store: a page
	// that sees one go up reloads its lab, or its mailbox.
	Resets int `json:"resets,omitempty"`
	Clears int `json:"clears,omitempty"`
}

func (cl *class) notice() Notice {
	return Notice{Name: cl.Name, Lesson: cl.Lesson, Profile: cl.Profile, Ended: !cl.Ended.IsZero(), Resets: cl.Resets, Clears: cl.Clears}
}

// closedWhy says why a class admits no one now ("" if it does).
func (cl *class) closedWhy() (int, string) {
	switch {
	case !cl.Ended.IsZero():
		return http.StatusGone, "this class has ended"
	case cl.Locked:
		return http.StatusForbidden, "the teacher has locked this class: ask them to open it for joining"
	case len(cl.students)+cl.joining >= cl.Capacity:
		return http.StatusServiceUnavailable, "this class is full: the teacher can create another class"
	}
	return 0, ""
}

// joinInfo names the class a join link leads to, so the page can say
// which class the student is joining before they type a name.
func (c *Classroom) joinInfo(w http.ResponseWriter, r *http.Request) {
	cl, err := c.classByCode(r.Context(), r.PathValue("code"))
	if err != nil {
		classError(w, err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, why := cl.closedWhy()
	httpjson.Write(w, http.StatusOK, map[string]any{"name": cl.Name, "open": why == "", "why": why})
}

// classByCode is the class a join code names, read from the store when
// this replica does not hold it yet.
func (c *Classroom) classByCode(ctx context.Context, code string) (*class, error) {
	sc, err := c.cfg.Store.ClassByCode(ctx, strings.ToUpper(strings.TrimSpace(code)))
	if err != nil {
		return nil, err
	}
	cl, _, err := c.ensureClass(ctx, sc.ID)
	return cl, err
}

// classError answers a store error: 404 for no such class, 503 for a
// store that did not answer.
func classError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		httpjson.Error(w, http.StatusNotFound, "no class has this code: check it with your teacher")
		return
	}
	httpjson.Error(w, http.StatusServiceUnavailable, "the class database did not answer: try again in a moment ("+err.Error()+")")
}

func (c *Classroom) join(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		httpjson.Error(w, http.StatusForbidden, "join from this server's own /join page")
		return
	}
	var b struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if !httpjson.Read(w, r, &b, 16<<10) {
		return
	}
	name, ok := cleanName(b.Name, 40)
	if !ok {
		httpjson.Error(w, http.StatusBadRequest, "type a display name of 1 to 40 characters")
		return
	}
	cl, err := c.classByCode(r.Context(), b.Code)
	if err != nil {
		classError(w, err)
		return
	}
	// A place is held while the lab is made and the store written,
	// without c.mu: a slow database must not stall every class.
	c.mu.Lock()
	if code, why := cl.closedWhy(); why != "" {
		c.mu.Unlock()
		httpjson.Error(w, code, why)
		return
	}
	cl.joining++
	profile := cl.Profile
	c.mu.Unlock()
	release := func() {
		c.mu.Lock()
		cl.joining--
		c.mu.Unlock()
	}
	l, err := c.cfg.Labs.CreateInClass(profile)
	if err != nil {
		release()
		httpjson.Error(w, http.StatusServiceUnavailable, "no lab for you: "+err.Error())
		return
	}
	tok := secret.New(32)
	st := store.Student{ID: secret.New(10), ClassID: cl.ID, Name: name, TokenHash: secret.Hash(tok), Joined: c.cfg.Now().UTC(), Lab: l.ID, LabKey: sealLabKey(tok, l.Key)}
	if err := c.cfg.Store.AddStudent(r.Context(), st); err != nil {
		c.cfg.Labs.Delete(l.ID) // nobody holds its key: it would only take room
		release()
		if errors.Is(err, store.ErrFull) { // the last place went on another replica
			httpjson.Error(w, http.StatusServiceUnavailable, "this class is full: the teacher can create another class")
			return
		}
		httpjson.Error(w, http.StatusInternalServerError, "could not keep you in the class: "+err.Error())
		return
	}
	c.mu.Lock()
	cl.joining--
	s := c.addStudentLocked(st, cl)
	s.lab = l
	c.changedLocked(s)
	c.classChangedLocked(cl) // the count of students
	j := Joined{Token: tok, Student: s.ID, Name: s.Name, Class: cl.notice(), Lab: l}
	c.mu.Unlock()
	c.announce(&Change{Kind: ChangeStudent, Class: cl.ID, Student: s.ID})
	httpjson.Write(w, http.StatusCreated, j)
}

// student serves h for the student whose token the request brings
// (Authorization: Bearer TOKEN, or ?token= on the event stream, which
// EventSource cannot give headers).
func (c *Classroom) student(h func(http.ResponseWriter, *http.Request, *student)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if changes(r) && !sameOrigin(r) {
			httpjson.Error(w, http.StatusForbidden, "requests from another site are refused")
			return
		}
		t := httpjson.Bearer(r)
		if t == "" && r.Method == http.MethodGet {
			t = r.URL.Query().Get("token")
		}
		if t == "" {
			httpjson.Error(w, http.StatusUnauthorized, "this needs your class token (join the class at /join)")
			return
		}
		st, err := c.cfg.Store.StudentByToken(r.Context(), secret.Hash(t))
		if errors.Is(err, store.ErrNotFound) {
			httpjson.Error(w, http.StatusNotFound, "no such student: join the class again at /join")
			return
		} else if err != nil {
			// Not "no such student": the page would send them to join again.
			httpjson.Error(w, http.StatusServiceUnavailable, "the class database did not answer: try again in a moment ("+err.Error()+")")
			return
		}
		s, err := c.ensureStudent(r.Context(), st)
		if err != nil {
			httpjson.Error(w, http.StatusServiceUnavailable, "the class database did not answer: try again in a moment ("+err.Error()+")")
			return
		}
		c.mu.Lock()
		// The lab's key, which a replica the student did not join on
		// knows only from the token.
		if s.lab.Key == "" && s.lab.ID != "" && s.lab.ID == st.Lab {
			if k, ok := openLabKey(t, st.LabKey); ok {
				s.lab.Key = k
			}
		}
		c.mu.Unlock()
		h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)), s)
	}
}

// tokenKey holds the student's token in a request's context: a new lab's
// key is sealed with it.
type tokenKey struct{}

// labLocked is the student's lab, a new one if it expired or the server
// restarted without a shared store (labs then live in memory; the
// student and their progress do not). renewed: a new lab, which the
// other replicas must hear of.
func (c *Classroom) labLocked(ctx context.Context, s *student) (l lab.Lab, renewed bool, err error) {
	if s.lab.ID != "" {
		if l, err := c.cfg.Labs.Open(s.lab.ID, s.lab.Key); err == nil {
			l.Key = s.lab.Key
			s.lab = l
			return l, false, nil
		}
		c.byLab.Delete(s.lab.ID)
	}
	l, err = c.cfg.Labs.CreateInClass(s.class.Profile)
	if err != nil {
		return lab.Lab{}, false, err
	}
	tok, _ := ctx.Value(tokenKey{}).(string)
	sealed := sealLabKey(tok, l.Key)
	if err := c.cfg.Store.SetStudentLab(ctx, s.ID, l.ID, sealed); err != nil {
		c.cfg.Labs.Delete(l.ID)
		return lab.Lab{}, false, err
	}
	s.lab = l
	c.byLab.Store(l.ID, s)
	s.Lab, s.LabKey = l.ID, sealed
	c.changedLocked(s)
	return l, true, nil
}

func (c *Classroom) me(w http.ResponseWriter, r *http.Request, s *student) {
	c.mu.Lock()
	l, renewed, err := c.labLocked(r.Context(), s)
	n := s.class.notice()
	c.mu.Unlock()
	if err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "no lab for you: "+err.Error())
		return
	}
	if renewed {
		c.announce(&Change{Kind: ChangeStudent, Class: s.ClassID, Student: s.ID})
	}
	httpjson.Write(w, http.StatusOK, Joined{Student: s.ID, Name: s.Name, Class: n, Lab: l})
}

// meEvents streams the class's instructions to a student's page: the
// lesson to open, the network for everyone, the end of the class.
func (c *Classroom) meEvents(w http.ResponseWriter, r *http.Request, s *student) {
	c.mu.Lock()
	st := sse.Start(w, "portlab classroom", writeTimeout)
	n := s.class.notice()
	wt := newWatcher()
	s.watchers[wt] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(s.watchers, wt)
		c.mu.Unlock()
	}()
	st.Send("class", n)
	if !st.Flush() {
		return
	}
	c.run(r, st, wt, func(_ []string, changed bool) {
		if !changed {
			return
		}
		c.mu.Lock()
		n, held := s.class.notice(), s.lab
		c.mu.Unlock()
		n.LabProfile = c.labProfile(held)
		st.Send("class", n)
	})
}

// progressBody is one record a student's page posts.
type progressBody struct {
	Kind   string            `json:"kind"` // progress, step-failed, hint, open
	Lesson string            `json:"lesson"`
	Step   int               `json:"step"`
	Total  int               `json:"total"`
	State  string            `json:"state"`
	Steps  map[string]string `json:"steps"`
}

var kinds = map[string]bool{"progress": true, "step-failed": true, "hint": true, "open": true}
var states = map[string]bool{"": true, "new": true, "running": true, "passed": true, "watched": true, "failed": true}

// maxRecords bounds one student's progress records: the whole course is a
// few hundred; a page that posts without end is refused, not stored.
const maxRecords = 20000

func (c *Classroom) progress(w http.ResponseWriter, r *http.Request, s *student) {
	c.mu.Lock()
	full := s.records >= maxRecords
	c.mu.Unlock()
	if full {
		httpjson.Error(w, http.StatusTooManyRequests, "this student has posted the most progress records a student may")
		return
	}
	var b progressBody
	if !httpjson.Read(w, r, &b, 16<<10) {
		return
	}
	if !kinds[b.Kind] || !states[b.State] || b.Lesson == "" || !c.cfg.Lessons(b.Lesson) ||
		b.Step < 0 || b.Step > 1000 || b.Total < 0 || b.Total > 1000 || len(b.Steps) > 1000 {
		httpjson.Error(w, http.StatusBadRequest, "a progress record names a known lesson, a kind (progress, step-failed, hint, open) and a state")
		return
	}
	who, _ := json.Marshal(b.Steps)
	p := store.Progress{StudentID: s.ID, At: c.cfg.Now().UTC(), Kind: b.Kind, Lesson: b.Lesson, Step: b.Step, Total: b.Total, State: b.State, Who: string(who)}
	p, err := c.cfg.Store.AddProgress(r.Context(), p)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not keep the record: "+err.Error())
		return
	}
	c.mu.Lock()
	s.apply(p)
	c.changedLocked(s)
	c.mu.Unlock()
	// Without Who, which no live state reads: the change stays small.
	p.Who = ""
	c.announce(&Change{Kind: ChangeProgress, Class: s.ClassID, Student: s.ID, Progress: &p})
	w.WriteHeader(http.StatusNoContent)
}

func (c *Classroom) myTranscript(w http.ResponseWriter, r *http.Request, s *student) {
	c.mu.Lock()
	defer c.mu.Unlock()
	httpjson.Write(w, http.StatusOK, transcriptView(s, pageLang(r)))
}
