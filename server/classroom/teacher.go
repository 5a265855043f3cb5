package classroom

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/internal/httpjson"
	"github.com/portlab/portlab/server/internal/secret"
)

// cookieName is the teacher's session cookie.
const cookieName = "portlab_teacher"

// setPassword keeps the teacher's password, making one up when none is
// given, until the first sign-in hashes it.
func (c *Classroom) setPassword(pw string) {
	if pw == "" {
		pw = secret.New(10) // 80 bits, 16 characters
		c.generated = pw
	}
	c.password = pw
}

// passwordHash is the bcrypt hash of the teacher's password, made once.
// bcrypt's comparison takes the same time however much of a guess is
// right.
func (c *Classroom) passwordHash() ([]byte, error) {
	c.hashOnce.Do(func() {
		c.hash, c.hashErr = bcrypt.GenerateFromPassword([]byte(c.password), bcrypt.DefaultCost)
		c.password = ""
	})
	return c.hash, c.hashErr
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

// teacher serves h only within a teacher's session. A class the route
// names that this replica does not hold yet is read from the store.
func (c *Classroom) teacher(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if changes(r) && !sameOrigin(r) {
			httpjson.Error(w, http.StatusForbidden, "teacher actions are taken only from this server's own pages")
			return
		}
		ok, err := c.signedIn(r)
		if err != nil {
			httpjson.Error(w, http.StatusServiceUnavailable, "the class database did not answer: try again in a moment")
			return
		}
		if !ok {
			httpjson.Error(w, http.StatusUnauthorized, "sign in as the teacher at /teach first")
			return
		}
		if id := r.PathValue("id"); id != "" {
			if _, _, err := c.ensureClass(r.Context(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
				httpjson.Error(w, http.StatusServiceUnavailable, "the class database did not answer: try again in a moment")
				return
			}
		}
		h(w, r)
	}
}

// signedIn says whether the request brings a teacher's sign-in that has
// not run out. Sign-ins live in the store, so every replica knows them;
// an error is the store's.
func (c *Classroom) signedIn(r *http.Request) (bool, error) {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return false, nil
	}
	h := secret.Hash(ck.Value)
	exp, err := c.cfg.Store.Session(r.Context(), h)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if !c.cfg.Now().Before(exp) {
		return false, c.cfg.Store.DeleteSession(r.Context(), h)
	}
	return true, nil
}

// limited reports how long a client address must wait before it may try
// another password: once it has LoginFailures within the window, until
// the oldest of them leaves it.
func (c *Classroom) limited(client string) time.Duration {
	r := c.failures.Recent(client)
	if len(r) < c.cfg.LoginFailures {
		return 0
	}
	return c.cfg.LoginWindow - c.cfg.Now().Sub(r[0])
}

func (c *Classroom) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		httpjson.Error(w, http.StatusForbidden, "sign in from this server's own /teach page")
		return
	}
	// Counted by the real client address (the connection's), never by a
	// header the client writes.
	client := httpguard.ClientAddr(r.RemoteAddr).String()
	if wait := c.limited(client); wait > 0 {
		secs := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		httpjson.Error(w, http.StatusTooManyRequests, "too many wrong passwords from this address: try again in "+strconv.Itoa(secs)+" s")
		return
	}
	var b struct {
		Password string `json:"password"`
	}
	if !httpjson.Read(w, r, &b, 16<<10) {
		return
	}
	hash, err := c.passwordHash()
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "could not hash the teacher password: "+err.Error())
		return
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(b.Password)) != nil {
		c.failures.Add(client)
		httpjson.Error(w, http.StatusForbidden, "wrong teacher password (portlab serve printed it at start, or it is the one given by --teacher-password-file, $PORTLAB_TEACHER_PASSWORD or --teacher-password)")
		return
	}
	t := secret.New(32)
	now := c.cfg.Now()
	if err := c.cfg.Store.AddSession(r.Context(), secret.Hash(t), now.Add(c.cfg.SessionTTL), now); err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, "could not keep the sign-in: "+err.Error())
		return
	}
	// HttpOnly: no script reads it; SameSite=Strict: no other site's page
	// makes the browser send it.
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, MaxAge: int(c.cfg.SessionTTL / time.Second),
	})
	httpjson.Write(w, http.StatusOK, map[string]bool{"teacher": true})
}

func (c *Classroom) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(cookieName); err == nil {
		// Gone from the store: signed out on every replica.
		if err := c.cfg.Store.DeleteSession(r.Context(), secret.Hash(ck.Value)); err != nil {
			httpjson.Error(w, http.StatusServiceUnavailable, "could not end the sign-in: "+err.Error())
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (c *Classroom) sessionInfo(w http.ResponseWriter, r *http.Request) {
	ok, _ := c.signedIn(r)
	httpjson.Write(w, http.StatusOK, map[string]bool{"teacher": ok})
}
