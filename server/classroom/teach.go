package classroom

import (
	"encoding/csv"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/portlab/portlab/internal/i18n/reqlang"
	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/internal/httpjson"
	"github.com/portlab/portlab/server/internal/secret"
	"github.com/portlab/portlab/server/internal/sse"
	"github.com/portlab/portlab/server/lab"
)

// ClassView is a class as the teacher's pages and the API show it.
type ClassView struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Code         string    `json:"code"`
	JoinURL      string    `json:"join_url"`
	Created      time.Time `json:"created_at"`
	Capacity     int       `json:"capacity"`
	Students     int       `json:"students"`
	Locked       bool      `json:"locked"`
	Ended        time.Time `json:"ended_at,omitzero"`
	Profile      string    `json:"profile"`
	CanUndo      bool      `json:"can_undo_profile"`
	Lesson       string    `json:"lesson"`
	StuckFails   int       `json:"stuck_fails"`
	StuckMinutes int       `json:"stuck_minutes"`
}

// joinURL is the link students open, on the address the teacher reached
// this server by (what the students' machines reach too, in a class).
func joinURL(r *http.Request, code string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/join/" + code
}

func (cl *class) view(r *http.Request) ClassView {
	return ClassView{
		ID: cl.ID, Name: cl.Name, Code: cl.Code, JoinURL: joinURL(r, cl.Code), Created: cl.Created,
		Capacity: cl.Capacity, Students: len(cl.students), Locked: cl.Locked, Ended: cl.Ended,
		Profile: cl.Profile, CanUndo: cl.hasUndo, Lesson: cl.Lesson, StuckFails: cl.StuckFail, StuckMinutes: cl.StuckMins,
	}
}

// cleanName trims a display name and refuses control characters; at
// most max runes.
func cleanName(s string, max int) (string, bool) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || len([]rune(s)) > max || strings.ContainsFunc(s, unicode.IsControl) {
		return "", false
	}
	return s, true
}

func (c *Classroom) listClasses(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Sync != nil { // another replica may have created one
		all, err := c.cfg.Store.Classes(r.Context())
		if err != nil {
			httpjson.Error(w, http.StatusServiceUnavailable, "the class database did not answer: try again in a moment ("+err.Error()+")")
			return
		}
		for _, sc := range all {
			if _, _, err := c.ensureClass(r.Context(), sc.ID); err != nil {
				httpjson.Error(w, http.StatusServiceUnavailable, "the class database did not answer: try again in a moment ("+err.Error()+")")
				return
			}
		}
	}
	c.mu.Lock()
	out := []ClassView{}
	for _, cl := range c.classes {
		out = append(out, cl.view(r))
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	httpjson.Write(w, http.StatusOK, out)
}

func (c *Classroom) createClass(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name     string `json:"name"`
		Capacity int    `json:"capacity"`
	}
	if !httpjson.Read(w, r, &b, 16<<10) {
		return
	}
	name, ok := cleanName(b.Name, 80)
	if !ok {
		httpjson.Error(w, http.StatusBadRequest, "a class needs a name of 1 to 80 characters")
		return
	}
	if b.Capacity == 0 {
		b.Capacity = c.cfg.Capacity
	}
	if b.Capacity < 1 || b.Capacity > 1000 {
		httpjson.Error(w, http.StatusBadRequest, "a class holds 1 to 1000 students")
		return
	}
	sc := store.Class{ID: secret.New(10), Name: name, Created: c.cfg.Now().UTC(), Capacity: b.Capacity, StuckFail: 3, StuckMins: 5}
	var err error
	for range 5 { // a code already taken: draw again
		sc.Code = joinCode()
		if err = c.cfg.Store.CreateClass(r.Context(), sc); err == nil {
			break
		}
	}
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not keep the class: "+err.Error())
		return
	}
	c.mu.Lock()
	cl := c.classes[sc.ID]
	if cl == nil { // not already read back by a change from elsewhere
		cl = c.addClassLocked(sc, nil, nil, store.Undo{}, false)
	}
	v := cl.view(r)
	c.mu.Unlock()
	c.announce(&Change{Kind: ChangeClass, Class: sc.ID})
	httpjson.Write(w, http.StatusCreated, v)
}

// classOf is the class a teacher route names; else it answers 404.
func (c *Classroom) classOf(w http.ResponseWriter, r *http.Request) *class {
	cl := c.classes[r.PathValue("id")]
	if cl == nil {
		httpjson.Error(w, http.StatusNotFound, "no such class")
	}
	return cl
}

// ClassDetail is a class and its rows.
type ClassDetail struct {
	Class ClassView `json:"class"`
	Rows  []Row     `json:"rows"`
}

func (c *Classroom) detailLocked(r *http.Request, cl *class) ClassDetail {
	d := ClassDetail{Class: cl.view(r), Rows: []Row{}}
	now := c.cfg.Now()
	for _, s := range cl.students {
		d.Rows = append(d.Rows, s.row(now))
	}
	return d
}

func (c *Classroom) getClass(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.classOf(w, r); cl != nil {
		httpjson.Write(w, http.StatusOK, c.detailLocked(r, cl))
	}
}

// patchClass: lock or unlock joining, assign a lesson, set the stuck
// thresholds, end the class.
func (c *Classroom) patchClass(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name         *string `json:"name"`
		Locked       *bool   `json:"locked"`
		Lesson       *string `json:"lesson"`
		Ended        *bool   `json:"ended"`
		StuckFails   *int    `json:"stuck_fails"`
		StuckMinutes *int    `json:"stuck_minutes"`
	}
	if !httpjson.Read(w, r, &b, 16<<10) {
		return
	}
	if b.Lesson != nil && *b.Lesson != "" && !c.cfg.Lessons(*b.Lesson) {
		httpjson.Error(w, http.StatusBadRequest, "no lesson "+strconv.Quote(*b.Lesson))
		return
	}
	if b.StuckFails != nil && (*b.StuckFails < 0 || *b.StuckFails > 100) || b.StuckMinutes != nil && (*b.StuckMinutes < 0 || *b.StuckMinutes > 600) {
		httpjson.Error(w, http.StatusBadRequest, "stuck after 0 to 100 failures and 0 to 600 minutes (0: never)")
		return
	}
	var ch Change
	defer c.announce(&ch) // after c.mu is released
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.classOf(w, r)
	if cl == nil {
		return
	}
	next := cl.Class
	if b.Name != nil {
		n, ok := cleanName(*b.Name, 80)
		if !ok {
			httpjson.Error(w, http.StatusBadRequest, "a class needs a name of 1 to 80 characters")
			return
		}
		next.Name = n
	}
	if b.Locked != nil {
		next.Locked = *b.Locked
	}
	if b.Lesson != nil {
		next.Lesson = *b.Lesson
	}
	if b.Ended != nil {
		next.Ended = time.Time{}
		if *b.Ended {
			next.Ended = c.cfg.Now().UTC()
		}
	}
	if b.StuckFails != nil {
		next.StuckFail = *b.StuckFails
	}
	if b.StuckMinutes != nil {
		next.StuckMins = *b.StuckMinutes
	}
	if err := c.cfg.Store.UpdateClass(r.Context(), next); err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not keep the change: "+err.Error())
		return
	}
	cl.Class = next
	c.classChangedLocked(cl)
	for _, s := range cl.students { // the stuck thresholds change rows
		c.changedLocked(s)
	}
	ch = Change{Kind: ChangeClass, Class: cl.ID}
	httpjson.Write(w, http.StatusOK, cl.view(r))
}

// setProfile moves every student's lab to one network profile, and keeps
// what each had so that "" undoes it. Students who join later start on
// the class's profile.
func (c *Classroom) setProfile(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Profile string `json:"profile"`
	}
	if !httpjson.Read(w, r, &b, 16<<10) {
		return
	}
	if b.Profile != "" && !c.cfg.Profiles(b.Profile) {
		httpjson.Error(w, http.StatusBadRequest, "unknown network profile "+strconv.Quote(b.Profile))
		return
	}
	var ch Change
	defer c.announce(&ch) // after c.mu is released
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.classOf(w, r)
	if cl == nil {
		return
	}
	next := cl.Class
	if b.Profile == "" { // undo
		if !cl.hasUndo {
			httpjson.Error(w, http.StatusConflict, "nothing to undo")
			return
		}
		next.Profile = cl.prevClass
	} else {
		next.Profile = b.Profile
	}
	if err := c.cfg.Store.UpdateClass(r.Context(), next); err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not keep the change: "+err.Error())
		return
	}
	prev := map[string]string{}
	for _, s := range cl.students {
		if s.lab.ID == "" {
			continue
		}
		want := b.Profile
		if want == "" {
			want = cl.prevProfiles[s.ID]
		}
		if want == "" {
			continue
		}
		if cur, err := c.cfg.Labs.Open(s.lab.ID, s.lab.Key); err == nil {
			s.lab.Profile = cur.Profile // the student may have changed it since
		}
		prev[s.ID] = s.lab.Profile
		if l, err := c.cfg.Labs.SetProfile(s.lab.ID, want); err == nil {
			s.lab.Profile = l.Profile
		}
	}
	// The undo goes to the store, so that any replica can undo.
	var undo *store.Undo
	if b.Profile != "" {
		undo = &store.Undo{Class: cl.Profile, Profiles: prev}
	}
	if err := c.cfg.Store.SetUndo(r.Context(), cl.ID, undo); err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not keep the undo: "+err.Error())
		return
	}
	if undo == nil {
		cl.setUndo(store.Undo{}, false)
	} else {
		cl.setUndo(*undo, true)
	}
	cl.Class = next
	c.classChangedLocked(cl)
	ch = Change{Kind: ChangeClass, Class: cl.ID}
	httpjson.Write(w, http.StatusOK, cl.view(r))
}

// classEvents streams the dashboard: the class and every row at once,
// then each change.
func (c *Classroom) classEvents(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	cl := c.classOf(w, r)
	if cl == nil {
		c.mu.Unlock()
		return
	}
	st := sse.Start(w, "portlab classroom", writeTimeout)
	d := c.detailLocked(r, cl)
	wt := newWatcher()
	cl.watchers[wt] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(cl.watchers, wt)
		c.mu.Unlock()
	}()
	st.Send("class", d.Class)
	for _, row := range d.Rows {
		st.Send("row", row)
	}
	if !st.Flush() {
		return
	}
	c.run(r, st, wt, func(ids []string, changed bool) {
		c.mu.Lock()
		now := c.cfg.Now()
		var rows []Row
		for _, id := range ids {
			if s := c.students[id]; s != nil && s.class == cl {
				rows = append(rows, s.row(now))
			}
		}
		v := cl.view(r)
		c.mu.Unlock()
		if changed {
			st.Send("class", v)
		}
		for _, row := range rows {
			st.Send("row", row)
		}
		for _, m := range wt.takeMail() {
			st.Send("mail", m)
		}
	})
}

func (c *Classroom) teacherTranscript(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	cl := c.classOf(w, r)
	if cl == nil {
		c.mu.Unlock()
		return
	}
	s := c.students[r.PathValue("sid")]
	if s == nil || s.class != cl {
		c.mu.Unlock()
		httpjson.Error(w, http.StatusNotFound, "no such student in this class")
		return
	}
	t := transcriptView(s, pageLang(r))
	t.Route = route(t.Lines)
	held := s.lab
	c.mu.Unlock()
	// Outside the classroom's lock: with a shared store, opening a lab
	// reads the database.
	t.Profile = c.labProfile(held)
	httpjson.Write(w, http.StatusOK, t)
}

// labProfile is the network profile a student's lab has now ("" for no
// lab, or one gone); it may read the database, so c.mu is not held.
func (c *Classroom) labProfile(held lab.Lab) string {
	if held.ID == "" {
		return ""
	}
	l, err := c.cfg.Labs.Open(held.ID, held.Key)
	if err != nil {
		return ""
	}
	return l.Profile
}

// Transcript is a student's connections as the relay saw them. It lives
// in memory: a restart starts it again.
type Transcript struct {
	Student string `json:"student"`
	Lines   []Line `json:"lines"`
	// The teacher's view adds the route the student took: each
	// connection, what the network did with it and how far it got, and
	// the network profile the student's lab is on now.
	Route   []Hop  `json:"route,omitempty"`
	Profile string `json:"profile,omitempty"`
}

func transcriptView(s *student, lang string) Transcript {
	lines := make([]Line, len(s.transcript))
	for i, l := range s.transcript {
		lines[i] = l.in(lang)
	}
	return Transcript{Student: s.Name, Lines: lines}
}

// pageLang is the language the page asking reads, chosen as pages choose
// it (?lang=, the picker's cookie, Accept-Language).
func pageLang(r *http.Request) string {
	lang, _ := reqlang.Of(r)
	return lang
}

// ExportRow is one student's one lesson.
type ExportRow struct {
	Student string    `json:"student"`
	Lesson  string    `json:"lesson"`
	Result  string    `json:"result"` // passed, watched or "" (not finished)
	Steps   int       `json:"steps_done"`
	Total   int       `json:"steps_total"`
	Hints   int       `json:"hints"`
	First   time.Time `json:"first_seen"`
	Last    time.Time `json:"last_seen"`
	Spent   float64   `json:"seconds_spent"` // first to last record
}

func (c *Classroom) export(w http.ResponseWriter, r *http.Request) ([]ExportRow, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.classOf(w, r)
	if cl == nil {
		return nil, "", false
	}
	out := []ExportRow{}
	for _, s := range cl.students {
		names := make([]string, 0, len(s.lessons))
		for n := range s.lessons {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			ls := s.lessons[n]
			out = append(out, ExportRow{Student: s.Name, Lesson: n, Result: ls.Best, Steps: ls.Steps, Total: ls.Total, Hints: ls.Hints,
				First: ls.First, Last: ls.Last, Spent: ls.Last.Sub(ls.First).Seconds()})
		}
	}
	return out, cl.Code, true
}

func (c *Classroom) exportJSON(w http.ResponseWriter, r *http.Request) {
	if rows, _, ok := c.export(w, r); ok {
		httpjson.Write(w, http.StatusOK, rows)
	}
}

func (c *Classroom) exportCSV(w http.ResponseWriter, r *http.Request) {
	rows, code, ok := c.export(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="portlab-class-`+code+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"student", "lesson", "result", "steps_done", "steps_total", "hints", "first_seen", "last_seen", "seconds_spent"})
	for _, e := range rows {
		cw.Write([]string{csvSafe(e.Student), e.Lesson, e.Result, strconv.Itoa(e.Steps), strconv.Itoa(e.Total), strconv.Itoa(e.Hints),
			e.First.Format(time.RFC3339), e.Last.Format(time.RFC3339), strconv.FormatFloat(e.Spent, 'f', 0, 64)})
	}
	cw.Flush()
}

// csvSafe keeps a student's name from being read as a formula by a
// spreadsheet (OWASP "CSV injection").
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
