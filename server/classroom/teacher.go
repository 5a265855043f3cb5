package classroom

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portlab/portlab/server/internal/httpguard"
)

// cookieName is the teacher's session cookie.
const cookieName = "portlab_teacher"

// setPassword keeps the bcrypt hash of the teacher's password, making one
// up when none is given. bcrypt's comparison takes the same time however
// much of a guess is right.
func (c *Classroom) setPassword(pw string) error {
	if pw == "" {
		pw = token(10) // 80 bits, 16 characters
		c.generated = pw
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	c.hash = h
	return nil
}

// sameOrigin: a request that changes anything must come from this
// server's own pages (or from a client that sends no Origin, which no
// other site's page can be). httpguard admits the --allow-origin sites
// too, for embedded lessons; teaching a class is not for them.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

func changes(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// teacher serves h only within a teacher's session.
func (c *Classroom) teacher(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if changes(r) && !sameOrigin(r) {
			writeError(w, http.StatusForbidden, "teacher actions are taken only from this server's own pages")
			return
		}
		if !c.signedIn(r) {
			writeError(w, http.StatusUnauthorized, "sign in as the teacher at /teach first")
			return
		}
		h(w, r)
	}
}

func (c *Classroom) signedIn(r *http.Request) bool {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.sessions[hashToken(ck.Value)]
	if !ok {
		return false
	}
	if !c.cfg.Now().Before(exp) {
		delete(c.sessions, hashToken(ck.Value))
		return false
	}
	return true
}

// limited reports how long a client address must wait before it may try
// another password, forgetting failures older than the window.
func (c *Classroom) limited(client string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	kept := c.failures[client][:0]
	for _, t := range c.failures[client] {
		if now.Sub(t) < c.cfg.LoginWindow {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(c.failures, client)
		return 0
	}
	c.failures[client] = kept
	if len(kept) < c.cfg.LoginFailures {
		return 0
	}
	return c.cfg.LoginWindow - now.Sub(kept[0])
}

func (c *Classroom) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "sign in from this server's own /teach page")
		return
	}
	// Counted by the real client address (the connection's), never by a
	// header the client writes.
	client := httpguard.ClientAddr(r.RemoteAddr).String()
	if wait := c.limited(client); wait > 0 {
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, "too many wrong passwords from this address: try again in "+strconv.Itoa(secs)+" s")
		return
	}
	var b struct {
		Password string `json:"password"`
	}
	if !readBody(w, r, &b) {
		return
	}
	if bcrypt.CompareHashAndPassword(c.hash, []byte(b.Password)) != nil {
		c.mu.Lock()
		c.failures[client] = append(c.failures[client], c.cfg.Now())
		c.mu.Unlock()
		writeError(w, http.StatusForbidden, "wrong teacher password (portlab serve printed it at start, or it is the one given by --teacher-password-file, $PORTLAB_TEACHER_PASSWORD or --teacher-password)")
		return
	}
	t := token(32)
	c.mu.Lock()
	c.sessions[hashToken(t)] = c.cfg.Now().Add(c.cfg.SessionTTL)
	c.mu.Unlock()
	// HttpOnly: no script reads it; SameSite=Strict: no other site's page
	// makes the browser send it.
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(c.cfg.SessionTTL / time.Second),
	})
	writeJSON(w, http.StatusOK, map[string]bool{"teacher": true})
}

func (c *Classroom) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.mu.Lock()
		delete(c.sessions, hashToken(ck.Value))
		c.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (c *Classroom) sessionInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"teacher": c.signedIn(r)})
}
