package classroom

import (
	"net/http"
	"sync"
	"time"

	"github.com/portlab/portlab/server/internal/sse"
)

// watcher is one live stream: a teacher's dashboard or a student's page.
// Changes mark what to send and wake the stream, which sends the newest
// state of what is marked: a burst of changes to one student is one row,
// and a slow reader never holds up the relay or the other streams.
type watcher struct {
	mu    sync.Mutex
	dirty map[string]bool // student ids
	class bool            // the class's settings
	mail  []ClassMail     // new messages in the class mailbox, oldest first
	wake  chan struct{}
}

// maxMailQueued bounds the messages one slow dashboard holds; past it the
// oldest go (the class mailbox's list has them all).
const maxMailQueued = 200

func (w *watcher) addMail(m ClassMail) {
	w.mu.Lock()
	w.mail = append(w.mail, m)
	if over := len(w.mail) - maxMailQueued; over > 0 {
		w.mail = append(w.mail[:0:0], w.mail[over:]...)
	}
	w.mu.Unlock()
	w.poke()
}

func (w *watcher) takeMail() []ClassMail {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.mail
	w.mail = nil
	return m
}

func newWatcher() *watcher {
	return &watcher{dirty: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (w *watcher) mark(student string, class bool) {
	w.mu.Lock()
	if student != "" {
		w.dirty[student] = true
	}
	w.class = w.class || class
	w.mu.Unlock()
	w.poke()
}

func (w *watcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) take() (ids []string, class bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.dirty {
		ids = append(ids, id)
	}
	clear(w.dirty)
	class, w.class = w.class, false
	return ids, class
}

// changedLocked tells the class's dashboards that a student's row
// changed.
func (c *Classroom) changedLocked(s *student) {
	s.stuckShown = s.stuck(c.cfg.Now()) != ""
	for w := range s.class.watchers {
		w.mark(s.ID, false)
	}
}

// sendMail gives the class's dashboards a message stored in a student's
// lab. The message is read without c.mu: with a shared store that is a
// database query, and this runs on the one goroutine that follows the
// bus for every class.
func (c *Classroom) sendMail(s *student, labID, id string) {
	m, ok := c.cfg.Mail.Get(labID, id)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cm := classMail(s, m)
	for w := range s.class.watchers {
		w.addMail(cm)
	}
}

// classChangedLocked tells the dashboards and the students' pages that
// the class's settings changed.
func (c *Classroom) classChangedLocked(cl *class) {
	for w := range cl.watchers {
		w.mark("", true)
	}
	for _, s := range cl.students {
		for w := range s.watchers {
			w.mark("", true)
		}
	}
}

// writeTimeout bounds each write of a live stream.
const writeTimeout = 30 * time.Second

// run sends what the watcher marks until the request or the classroom
// ends; send writes the events for one wake-up.
func (c *Classroom) run(r *http.Request, st *sse.Stream, wt *watcher, send func(ids []string, class bool)) {
	tick := time.NewTicker(c.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-c.done:
			return
		case <-tick.C:
			st.KeepAlive()
		case <-wt.wake:
			send(wt.take())
		}
		if !st.Flush() {
			return
		}
	}
}
