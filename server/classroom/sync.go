package classroom

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/lab"
)

// Sync passes the changes one replica makes to its classes to the other
// replicas (package replica does it with PostgreSQL's NOTIFY). It is nil
// where one process serves every class (the embedded store).
//
// The store stays the truth: a replica reads from it any class or
// student it does not hold, and a change only says what to read again,
// or carries a record small enough for a NOTIFY payload.
type Sync interface {
	// Announce tells the other replicas of a change this one made, once
	// it is in the store; it returns when the change is sent.
	Announce(Change)
	// Receive names the function that applies the other replicas'
	// changes, one at a time in the order they were sent. New calls it
	// before it reads the store, so no change written after is missed.
	Receive(func(Change))
}

// Change is one change to a class, as it crosses replicas.
type Change struct {
	Kind    string `json:"kind"` // one of the Change… constants
	Class   string `json:"class"`
	Student string `json:"student,omitempty"`
	// Progress is the record a ChangeProgress adds (without Who, which
	// no live state reads); nil: read the student's records again.
	Progress *store.Progress `json:"progress,omitempty"`
}

// The kinds of [Change].
const (
	// ChangeClass: a class was created, or its settings changed (lock,
	// lesson, end, stuck thresholds, profile for everyone or its undo).
	ChangeClass = "class"
	// ChangeStudent: a student joined, or got a new lab.
	ChangeStudent = "student"
	// ChangeProgress: a student's page posted a record.
	ChangeProgress = "progress"
	// ChangeReset: the teacher reset every lab of the class.
	ChangeReset = "reset"
	// ChangeClear: the teacher emptied the class mailbox.
	ChangeClear = "clear"
	// ChangeReload: changes may have been missed (the link to the other
	// replicas was lost a while): read every class again.
	ChangeReload = "reload"
)

// announce sends ch to the other replicas, if there are any and ch says
// something. Called without c.mu: it waits for the database.
func (c *Classroom) announce(ch *Change) {
	if c.cfg.Sync != nil && ch.Kind != "" {
		c.cfg.Sync.Announce(*ch)
	}
}

// syncTimeout bounds the store reads that apply another replica's change.
const syncTimeout = 10 * time.Second

// apply brings this replica's memory up to another replica's change and
// tells this replica's live streams.
func (c *Classroom) apply(ch Change) {
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	if ch.Kind == ChangeReload {
		c.reload(ctx)
		return
	}
	cl, loaded, err := c.ensureClass(ctx, ch.Class)
	if err != nil || loaded {
		return // a class read now has the change already
	}
	switch ch.Kind {
	case ChangeClass, ChangeReset, ChangeClear:
		sc, err := c.cfg.Store.Class(ctx, ch.Class)
		if err != nil {
			return
		}
		u, uerr := c.cfg.Store.Undo(ctx, ch.Class)
		c.mu.Lock()
		if ch.Kind == ChangeReset {
			for _, s := range cl.students {
				s.transcript, s.ports = nil, nil
				s.lastReply, s.lastReplyAt = "", time.Time{}
			}
		}
		cl.Class = sc
		cl.setUndo(u, uerr == nil)
		c.classChangedLocked(cl)
		for _, s := range cl.students { // the stuck thresholds change rows
			c.changedLocked(s)
		}
		c.mu.Unlock()
	case ChangeStudent:
		st, err := c.cfg.Store.Student(ctx, ch.Student)
		if err != nil {
			return
		}
		c.ensureStudent(ctx, st)
	case ChangeProgress:
		c.mu.Lock()
		s := c.students[ch.Student]
		if s != nil && ch.Progress != nil {
			if s.apply(*ch.Progress) {
				c.changedLocked(s)
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if st, err := c.cfg.Store.Student(ctx, ch.Student); err == nil {
			c.reloadProgress(ctx, st)
		}
	}
}

// reload reads every class again from the store, and folds in what this
// replica missed: settings, students, their labs and records.
func (c *Classroom) reload(ctx context.Context) {
	all, err := c.cfg.Store.Classes(ctx)
	if err != nil {
		return
	}
	for _, sc := range all {
		cl, loaded, err := c.ensureClass(ctx, sc.ID)
		if err != nil || loaded {
			continue
		}
		sts, err := c.cfg.Store.Students(ctx, sc.ID)
		if err != nil {
			continue
		}
		for _, st := range sts {
			c.ensureStudent(ctx, st)
		}
		ps, err := c.cfg.Store.Progress(ctx, sc.ID)
		if err != nil {
			continue
		}
		u, uerr := c.cfg.Store.Undo(ctx, sc.ID)
		c.mu.Lock()
		for _, p := range ps {
			if s := c.students[p.StudentID]; s != nil {
				s.apply(p) // the records already folded are skipped
			}
		}
		cl.Class = sc
		cl.setUndo(u, uerr == nil)
		c.classChangedLocked(cl)
		for _, s := range cl.students {
			c.changedLocked(s)
		}
		c.mu.Unlock()
	}
}

// setUndo keeps what the last "profile for everyone" replaced; c.mu is
// held.
func (cl *class) setUndo(u store.Undo, ok bool) {
	cl.hasUndo, cl.prevClass, cl.prevProfiles = ok, u.Class, u.Profiles
	if !ok {
		cl.prevClass, cl.prevProfiles = "", nil
	}
}

// ensureClass is the class with id, read from the store (with its
// students and their progress) when this replica does not hold it yet;
// loaded says it was read now. The store is read without c.mu.
func (c *Classroom) ensureClass(ctx context.Context, id string) (cl *class, loaded bool, err error) {
	c.mu.Lock()
	cl = c.classes[id]
	c.mu.Unlock()
	if cl != nil {
		return cl, false, nil
	}
	if id == "" {
		return nil, false, store.ErrNotFound
	}
	sc, err := c.cfg.Store.Class(ctx, id)
	if err != nil {
		return nil, false, err
	}
	sts, err := c.cfg.Store.Students(ctx, id)
	if err != nil {
		return nil, false, err
	}
	ps, err := c.cfg.Store.Progress(ctx, id)
	if err != nil {
		return nil, false, err
	}
	u, uerr := c.cfg.Store.Undo(ctx, id)
	if uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
		return nil, false, uerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl = c.classes[id]; cl != nil { // read meanwhile
		return cl, false, nil
	}
	return c.addClassLocked(sc, sts, ps, u, uerr == nil), true, nil
}

// addClassLocked builds a class's live state from what the store holds.
func (c *Classroom) addClassLocked(sc store.Class, sts []store.Student, ps []store.Progress, u store.Undo, undo bool) *class {
	cl := newClass(sc)
	cl.setUndo(u, undo)
	c.classes[sc.ID] = cl
	for _, st := range sts {
		c.addStudentLocked(st, cl)
	}
	for _, p := range ps {
		if s := c.students[p.StudentID]; s != nil {
			s.apply(p)
		}
	}
	return cl
}

// addStudentLocked adds a student read from the store; their lab's key
// is not known until the student's own request brings their token.
func (c *Classroom) addStudentLocked(st store.Student, cl *class) *student {
	s := newStudent(st, cl, c.cfg.Transcript)
	cl.students = append(cl.students, s)
	c.students[st.ID] = s
	if st.Lab != "" {
		s.lab = lab.Lab{ID: st.Lab}
		c.byLab.Store(st.Lab, s) // its transcript, whichever replica serves the lab
	}
	return s
}

// ensureStudent is the student st, added to this replica's memory if it
// joined elsewhere, and on st's lab if another replica gave it a new one.
func (c *Classroom) ensureStudent(ctx context.Context, st store.Student) (*student, error) {
	cl, loaded, err := c.ensureClass(ctx, st.ClassID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	s := c.students[st.ID]
	switch {
	case s == nil:
		// Joined after this replica read the class, and its change
		// has not come yet: its records, if any, come with it.
		c.mu.Unlock()
		ps, err := c.cfg.Store.Progress(ctx, st.ClassID)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if s = c.students[st.ID]; s == nil {
			s = c.addStudentLocked(st, cl)
			for _, p := range ps {
				if p.StudentID == st.ID {
					s.apply(p)
				}
			}
			c.changedLocked(s)
			c.classChangedLocked(cl) // the count of students
		}
	case s.Lab != st.Lab && !loaded:
		c.byLab.Delete(s.Lab)
		s.Lab, s.LabKey = st.Lab, st.LabKey
		s.lab = lab.Lab{ID: st.Lab}
		if st.Lab != "" {
			c.byLab.Store(st.Lab, s)
		}
		c.changedLocked(s)
	}
	c.mu.Unlock()
	return s, nil
}

// reloadProgress folds a student's records again from the store: what a
// change too large to carry its record asks.
func (c *Classroom) reloadProgress(ctx context.Context, st store.Student) {
	s, err := c.ensureStudent(ctx, st)
	if err != nil {
		return
	}
	ps, err := c.cfg.Store.Progress(ctx, st.ClassID)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		if p.StudentID == s.ID {
			s.apply(p) // the records already folded are skipped
		}
	}
	c.changedLocked(s)
}

// A student's lab key is kept in the store sealed (AES-GCM) with a key
// drawn from the student's token, which the store does not hold (only
// its hash): any replica can open the student's lab when the student's
// own request brings the token, and the database alone opens nothing.
func labKeyAEAD(token string) cipher.AEAD {
	k := sha256.Sum256([]byte("portlab lab key\x00" + token))
	b, _ := aes.NewCipher(k[:])
	g, _ := cipher.NewGCM(b)
	return g
}

func sealLabKey(token, key string) string {
	g := labKeyAEAD(token)
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(key)+g.Overhead())
	rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(g.Seal(nonce, nonce, []byte(key), nil))
}

func openLabKey(token, sealed string) (string, bool) {
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	g := labKeyAEAD(token)
	if err != nil || len(b) < g.NonceSize() {
		return "", false
	}
	key, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], nil)
	return string(key), err == nil
}
