package classroom

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/internal/httpjson"
	"github.com/portlab/portlab/server/mailbox"
)

// Mail is what the classroom needs of the sandbox's mailboxes: the class
// mailbox is every student's lab's mail, read-only.
type Mail interface {
	List(lab string) []*mailbox.Message
	Get(lab, id string) (*mailbox.Message, bool)
	DeleteLab(lab string)
}

// ClassMail is one message of the class mailbox: whose lab took it and
// how it arrived.
type ClassMail struct {
	Student   string    `json:"student"`
	StudentID string    `json:"student_id"`
	ID        string    `json:"id"`
	At        time.Time `json:"received_at"`
	From      string    `json:"from"`
	To        []string  `json:"to"`
	Subject   string    `json:"subject"`
	Size      int       `json:"size"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	TLS       string    `json:"tls,omitempty"` // the TLS version, "" in the clear
	AuthUser  string    `json:"auth_user,omitempty"`
}

func classMail(s *student, m *mailbox.Message) ClassMail {
	cm := ClassMail{Student: s.Name, StudentID: s.ID, ID: m.ID, At: m.ReceivedAt, From: m.From, To: m.To, Subject: m.Subject,
		Size: m.Size, Host: m.Host, Port: m.Port, AuthUser: m.AuthUser}
	if m.TLS {
		cm.TLS = m.TLSVersion
		if cm.TLS == "" {
			cm.TLS = "TLS"
		}
	}
	return cm
}

// maxClassMail bounds the class mailbox's answer: the newest messages.
const maxClassMail = 500

// classMailbox lists every student's mail, newest first.
func (c *Classroom) classMailbox(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	cl := c.classOf(w, r)
	if cl == nil {
		c.mu.Unlock()
		return
	}
	out := []ClassMail{}
	if c.cfg.Mail != nil {
		for _, s := range cl.students {
			if s.lab.ID == "" {
				continue
			}
			for _, m := range c.cfg.Mail.List(s.lab.ID) {
				out = append(out, classMail(s, m))
			}
		}
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b ClassMail) int { return b.At.Compare(a.At) })
	if len(out) > maxClassMail {
		out = out[:maxClassMail]
	}
	httpjson.Write(w, http.StatusOK, out)
}

// classMailRaw is one message as received, as text: the teacher reads
// it; nothing renders it.
func (c *Classroom) classMailRaw(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	cl := c.classOf(w, r)
	if cl == nil {
		c.mu.Unlock()
		return
	}
	s := c.students[r.PathValue("sid")]
	var m *mailbox.Message
	if s != nil && s.class == cl && s.lab.ID != "" && c.cfg.Mail != nil {
		m, _ = c.cfg.Mail.Get(s.lab.ID, r.PathValue("mid"))
	}
	c.mu.Unlock()
	if m == nil {
		httpjson.Error(w, http.StatusNotFound, "no such message in this class's mailbox")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(m.Raw)
}

// clearMailbox empties every student's mailbox; the students' pages
// show their empty mailbox at once.
func (c *Classroom) clearMailbox(w http.ResponseWriter, r *http.Request) {
	var ch Change
	defer c.announce(&ch) // after c.mu is released
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.classOf(w, r)
	if cl == nil {
		return
	}
	next, err := c.cfg.Store.Count(r.Context(), cl.ID, 0, 1)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not keep the change: "+err.Error())
		return
	}
	c.clearMailLocked(cl)
	cl.Class = next
	c.classChangedLocked(cl)
	ch = Change{Kind: ChangeClear, Class: cl.ID}
	httpjson.Write(w, http.StatusOK, cl.view(r))
}

func (c *Classroom) clearMailLocked(cl *class) {
	if c.cfg.Mail == nil {
		return
	}
	for _, s := range cl.students {
		if s.lab.ID != "" {
			c.cfg.Mail.DeleteLab(s.lab.ID)
		}
	}
}

// resetLabs puts every student's lab back as it was at joining: no mail,
// the sandbox's own policy, an empty transcript and port board, on the
// class's network when the teacher set one. Progress stays: it is the
// class's record. The students' pages reload on the reset lab.
func (c *Classroom) resetLabs(w http.ResponseWriter, r *http.Request) {
	var ch Change
	defer c.announce(&ch) // after c.mu is released
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.classOf(w, r)
	if cl == nil {
		return
	}
	next, err := c.cfg.Store.Count(r.Context(), cl.ID, 1, 0)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not keep the change: "+err.Error())
		return
	}
	c.clearMailLocked(cl)
	for _, s := range cl.students {
		if s.lab.ID == "" {
			continue
		}
		c.cfg.Labs.ResetPolicy(s.lab.ID) // a lab gone since is new anyway
		if cl.Profile != "" {
			if l, err := c.cfg.Labs.SetProfile(s.lab.ID, cl.Profile); err == nil {
				s.lab.Profile = l.Profile
			}
		}
		s.transcript, s.ports = nil, nil
		s.lastReply, s.lastReplyAt = "", time.Time{}
		c.changedLocked(s)
	}
	cl.Class = next
	c.classChangedLocked(cl)
	ch = Change{Kind: ChangeReset, Class: cl.ID}
	httpjson.Write(w, http.StatusOK, cl.view(r))
}

// Port board verdicts: what the last connection to a port came to, as
// the student's own port board says it.
const (
	portAnswered = "answered"
	portRefused  = "refused"
	portTimedOut = "timed out"
	portUnknown  = "unknown host"
)

// verdict is what a connection event says of the port it names; "" for
// the events inside a connection. The gateway's dial events say
// "refused…", "dropped…" or "unknown host…" (server/gateway); a
// connection the relay answers starts with a connect event.
func verdict(e events.Event) string {
	switch e.Kind {
	case events.Connect:
		return portAnswered
	case events.Dial:
		switch {
		case strings.HasPrefix(e.Text, "refused"):
			return portRefused
		case strings.HasPrefix(e.Text, "dropped"):
			return portTimedOut
		case strings.HasPrefix(e.Text, "unknown host"):
			return portUnknown
		}
	}
	return ""
}

// Hop is one connection of the route a student took: where it went, what
// the network did with it, and how far it got.
type Hop struct {
	Time     time.Time `json:"time"`
	Host     string    `json:"host"`
	Port     int       `json:"port"`
	Verdict  string    `json:"verdict"`          // answered, refused, timed out, unknown host
	Why      string    `json:"why,omitempty"`    // the network's reason, for a connection that failed
	TLS      string    `json:"tls,omitempty"`    // the TLS version negotiated
	Auth     string    `json:"auth,omitempty"`   // the last AUTH: "accepted" or "refused"
	Messages int       `json:"messages"`         // messages stored
	Last     string    `json:"last,omitempty"`   // the last reply line
	Secure   bool      `json:"secure,omitempty"` // the last reply crossed inside TLS
}

// route folds a transcript into its connections, oldest first.
func route(lines []Line) []Hop {
	hops := []Hop{}
	open := map[uint64]int{} // connection id -> index in hops
	for _, l := range lines {
		switch l.Kind {
		case string(events.Dial):
			hops = append(hops, Hop{Time: l.Time, Host: l.Host, Port: l.Port, Verdict: l.verdict, Why: l.Text})
			continue
		case string(events.Connect):
			open[l.Conn] = len(hops)
			hops = append(hops, Hop{Time: l.Time, Host: l.Host, Port: l.Port, Verdict: portAnswered})
			continue
		}
		i, ok := open[l.Conn]
		if !ok || l.Conn == 0 {
			continue
		}
		h := &hops[i]
		switch l.Kind {
		case string(events.TLS):
			h.TLS = l.tls
		case string(events.Auth):
			h.Auth = l.auth
		case string(events.Message):
			h.Messages++
		case string(events.Reply):
			h.Last, h.Secure = l.Text, l.Secure
		}
	}
	return hops
}
