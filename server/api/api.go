// Package api is the sandbox's JSON API: labs, their mailboxes and live
// event streams, and the network profiles and hosts a page can offer. The
// browser client and the headless scenario runner both use it.
package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/portlab/portlab/server/internal/httpguard"
	"github.com/portlab/portlab/server/internal/httpjson"
	"github.com/portlab/portlab/server/internal/sse"

	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/world"
)

// Config is what the API serves.
type Config struct {
	Labs     *lab.Manager
	Store    *mailbox.Store
	Bus      *events.Bus
	Profiles *netsim.Set
	World    *world.World
	// MaxStreams bounds the live event streams open per lab (the shared
	// classroom excepted: the whole class watches it).
	MaxStreams int
	// MaxStreamsPerClient bounds the live event streams one client
	// address holds, over all labs, so one address cannot take every
	// view of the classroom; MaxStreamsTotal bounds them all.
	MaxStreamsPerClient, MaxStreamsTotal int
	// Heartbeat is how often an idle event stream sends a comment, so
	// proxies keep it open.
	Heartbeat time.Duration
	// WriteTimeout bounds one write to an event stream: a reader that
	// stops reading is let go.
	WriteTimeout time.Duration
}

// API is an http.Handler for /api/.
//
// A lab's routes need its key (see package lab): "Authorization: Bearer
// KEY", or, on the event stream alone, "?key=KEY", because a browser's
// EventSource cannot set headers. A query parameter rather than a cookie:
// a cookie would be sent by the browser with any request, including ones
// another site's page triggers, and one browser holds several labs (one
// per tab); the key is never logged by the server, and an EventSource
// URL is not shown in the address bar, history or Referer.
type API struct {
	cfg     Config
	mux     *http.ServeMux
	mu      sync.Mutex
	streams map[string]int
	clients map[netip.Addr]int
	total   int
}

// New returns the API handler.
func New(cfg Config) *API {
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = 8
	}
	if cfg.MaxStreamsPerClient == 0 {
		cfg.MaxStreamsPerClient = 32
	}
	if cfg.MaxStreamsTotal == 0 {
		cfg.MaxStreamsTotal = 2048
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 25 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	a := &API{cfg: cfg, mux: http.NewServeMux(), streams: map[string]int{}, clients: map[netip.Addr]int{}}
	// Method patterns: the mux answers a known path with a wrong method
	// 405 and an Allow header.
	a.mux.HandleFunc("POST /api/labs", a.createLab)
	a.mux.HandleFunc("GET /api/labs/{id}", a.getLab)
	a.mux.HandleFunc("PATCH /api/labs/{id}", a.patchLab)
	a.mux.HandleFunc("DELETE /api/labs/{id}", a.deleteLab)
	a.mux.HandleFunc("GET /api/labs/{id}/messages", a.messages)
	a.mux.HandleFunc("GET /api/labs/{id}/messages/{mid}/raw", a.raw)
	a.mux.HandleFunc("GET /api/labs/{id}/events", a.events)
	a.mux.HandleFunc("GET /api/labs/{id}/policy", a.getPolicy)
	a.mux.HandleFunc("PUT /api/labs/{id}/policy", a.putPolicy)
	a.mux.HandleFunc("DELETE /api/labs/{id}/policy", a.deletePolicy)
	a.mux.HandleFunc("GET /api/profiles", a.profiles)
	a.mux.HandleFunc("GET /api/hosts", a.hosts)
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if miss, pattern := a.mux.Handler(r); pattern == "" {
		// No route: miss is the mux's own 404 or 405 (with Allow) in
		// plain text; the API answers in JSON.
		jsonMiss(w, r, miss)
		return
	}
	a.mux.ServeHTTP(w, r) // sets the path values, which Handler does not
}

// jsonMiss runs the mux's answer to a request without a route, to learn
// 404 or 405 and its Allow header, and writes the body as the API's JSON
// error.
func jsonMiss(w http.ResponseWriter, r *http.Request, miss http.Handler) {
	rec := &statusOnly{header: http.Header{}}
	miss.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if rec.code == http.StatusMethodNotAllowed {
		httpjson.Error(w, rec.code, r.Method+" is not allowed here; allowed: "+rec.header.Get("Allow"))
		return
	}
	httpjson.Error(w, http.StatusNotFound, "no such API endpoint")
}

// statusOnly keeps a response's status and headers and drops its body.
type statusOnly struct {
	header http.Header
	code   int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.code = code }

func labError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, lab.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "no such lab (labs expire when idle, and none survive a restart of the server)")
	case errors.Is(err, lab.ErrNoKey):
		w.Header().Set("WWW-Authenticate", `Bearer realm="portlab lab"`)
		httpjson.Error(w, http.StatusUnauthorized, "this lab needs its key: send Authorization: Bearer KEY (the key came with the lab's creation)")
	case errors.Is(err, lab.ErrBadKey):
		httpjson.Error(w, http.StatusForbidden, "wrong key for this lab")
	case errors.Is(err, lab.ErrShared):
		httpjson.Error(w, http.StatusForbidden, "the shared classroom lab cannot be changed or deleted; create your own lab with POST /api/labs")
	case errors.Is(err, lab.ErrTooMany):
		httpjson.Error(w, http.StatusTooManyRequests, "too many labs for this address (the server's --labs-per-client): in a class, join with the teacher's link (/join), whose labs do not count here; else end a lab (the page's new-lab button ends the old one), wait for an idle one to expire (--lab-ttl), or have the server started with a higher --labs-per-client")
	case errors.Is(err, lab.ErrFull):
		httpjson.Error(w, http.StatusServiceUnavailable, "the sandbox is full: try again when idle labs have expired")
	case errors.Is(err, lab.ErrProfile):
		httpjson.Error(w, http.StatusBadRequest, "unknown network profile")
	case errors.Is(err, lab.ErrPolicyTooLarge):
		httpjson.Error(w, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, lab.ErrPoliciesFull):
		httpjson.Error(w, http.StatusServiceUnavailable, "the sandbox holds its maximum of lab policies: try again when idle labs have expired")
	default:
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
	}
}

// open is the lab a request names, if it brings the lab's key; otherwise
// it answers the request.
func (a *API) open(w http.ResponseWriter, r *http.Request, key string) (lab.Lab, bool) {
	l, err := a.cfg.Labs.Open(r.PathValue("id"), key)
	if err != nil {
		labError(w, err)
		return lab.Lab{}, false
	}
	return l, true
}

type profileBody struct {
	Profile string `json:"profile"`
}

func (a *API) createLab(w http.ResponseWriter, r *http.Request) {
	var b profileBody
	if !httpjson.Read(w, r, &b, 4096) {
		return
	}
	l, err := a.cfg.Labs.Create(httpguard.ClientAddr(r.RemoteAddr), b.Profile)
	if err != nil {
		labError(w, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, l) // the only answer that holds the key
}

func (a *API) getLab(w http.ResponseWriter, r *http.Request) {
	if l, ok := a.open(w, r, httpjson.Bearer(r)); ok {
		httpjson.Write(w, http.StatusOK, l)
	}
}

func (a *API) patchLab(w http.ResponseWriter, r *http.Request) {
	l, ok := a.open(w, r, httpjson.Bearer(r))
	if !ok {
		return
	}
	var b profileBody
	if !httpjson.Read(w, r, &b, 4096) {
		return
	}
	l, err := a.cfg.Labs.SetProfile(l.ID, b.Profile)
	if err != nil {
		labError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, l)
}

func (a *API) deleteLab(w http.ResponseWriter, r *http.Request) {
	l, ok := a.open(w, r, httpjson.Bearer(r))
	if !ok {
		return
	}
	if err := a.cfg.Labs.Delete(l.ID); err != nil {
		labError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) messages(w http.ResponseWriter, r *http.Request) {
	l, ok := a.open(w, r, httpjson.Bearer(r))
	if !ok {
		return
	}
	msgs := a.cfg.Store.List(l.ID)
	if msgs == nil {
		msgs = []*mailbox.Message{}
	}
	httpjson.Write(w, http.StatusOK, msgs)
}

func (a *API) raw(w http.ResponseWriter, r *http.Request) {
	l, ok := a.open(w, r, httpjson.Bearer(r))
	if !ok {
		return
	}
	m, ok := a.cfg.Store.Get(l.ID, r.PathValue("mid"))
	if !ok {
		httpjson.Error(w, http.StatusNotFound, "no such message (the mailbox keeps the newest ones)")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(m.Raw)
}

// events streams a lab's events as Server-Sent Events. An unknown or
// expired lab is a 404 with a JSON reason, so a page can tell "expired"
// from "reconnecting".
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	key := httpjson.Bearer(r)
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	l, ok := a.open(w, r, key)
	if !ok {
		return
	}
	id := l.ID
	client := httpguard.ClientAddr(r.RemoteAddr)
	if !a.openStream(id, client) {
		httpjson.Error(w, http.StatusTooManyRequests, "too many live views of this lab or from this address; close some tabs")
		return
	}
	defer a.closeStream(id, client)
	sub := a.cfg.Bus.Subscribe(256, func(e events.Event) bool { return e.Lab == id })
	defer sub.Close()
	st := sse.Start(w, "portlab events", a.cfg.WriteTimeout)
	if !st.Flush() {
		return
	}
	tick := time.NewTicker(a.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			st.KeepAlive()
		case e := <-sub.C:
			st.Send(string(e.Kind), e)
		}
		if !st.Flush() {
			return
		}
	}
}

func (a *API) openStream(id string, client netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id != lab.Classroom && a.streams[id] >= a.cfg.MaxStreams ||
		a.clients[client] >= a.cfg.MaxStreamsPerClient || a.total >= a.cfg.MaxStreamsTotal {
		return false
	}
	a.streams[id]++
	a.clients[client]++
	a.total++
	return true
}

func (a *API) closeStream(id string, client netip.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streams[id]--; a.streams[id] <= 0 {
		delete(a.streams, id)
	}
	if a.clients[client]--; a.clients[client] <= 0 {
		delete(a.clients, client)
	}
	a.total--
}

// ProfileInfo is a profile as the pages list it.
type ProfileInfo struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

func (a *API) profiles(w http.ResponseWriter, r *http.Request) {
	var out []ProfileInfo
	for _, p := range a.cfg.Profiles.Profiles() {
		out = append(out, ProfileInfo{p.Name, p.Title, p.Description})
	}
	httpjson.Write(w, http.StatusOK, out)
}

// HostInfo is a simulated host as the pages list it.
type HostInfo struct {
	Name  string     `json:"name"`
	Title string     `json:"title"`
	Doors []DoorInfo `json:"doors"`
}

// DoorInfo is one open port of a host.
type DoorInfo struct {
	Port    int    `json:"port"`
	Service string `json:"service"`
}

func (a *API) hosts(w http.ResponseWriter, r *http.Request) {
	var out []HostInfo
	for _, h := range a.cfg.World.Hosts() {
		hi := HostInfo{Name: h.Name, Title: h.Title, Doors: []DoorInfo{}}
		for _, d := range h.Doors {
			hi.Doors = append(hi.Doors, DoorInfo{d.Port, string(d.Service)})
		}
		out = append(out, hi)
	}
	httpjson.Write(w, http.StatusOK, out)
}

// PolicyBody is a lab's relay policy (docs/teaching-map.md L27): its text,
// and whether it is the lab's own (false: the server's, which the lab
// follows until it sets its own).
type PolicyBody struct {
	Text string `json:"text"`
	Own  bool   `json:"own"`
}

// PolicyError is one error of a refused policy, at its line.
type PolicyError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request) {
	l, ok := a.open(w, r, httpjson.Bearer(r))
	if !ok {
		return
	}
	a.writePolicy(w, l.ID)
}

func (a *API) writePolicy(w http.ResponseWriter, id string) {
	text, own, err := a.cfg.Labs.Policy(id)
	if err != nil {
		labError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, PolicyBody{Text: text, Own: own})
}

// putPolicy sets a lab's own policy. A policy with errors is a 422 that
// lists them, each with its line; the lab keeps the policy it had.
func (a *API) putPolicy(w http.ResponseWriter, r *http.Request) {
	l, ok := a.open(w, r, httpjson.Bearer(r))
	if !ok {
		return
	}
	var b struct {
		Text string `json:"text"`
	}
	// JSON escapes may double a text's size (every newline is \n).
	if !httpjson.Read(w, r, &b, 2*lab.MaxPolicy+1024) {
		return
	}
	errs, err := a.cfg.Labs.SetPolicy(l.ID, b.Text)
	if err != nil {
		labError(w, err)
		return
	}
	if len(errs) > 0 {
		out := struct {
			Error  string        `json:"error"`
			Errors []PolicyError `json:"errors"`
		}{Error: fmt.Sprintf("the policy has errors (%d); your lab keeps the policy it had", len(errs))}
		for _, e := range errs {
			out.Errors = append(out.Errors, PolicyError{Line: e.Line, Message: e.Msg})
		}
		httpjson.Write(w, http.StatusUnprocessableEntity, out)
		return
	}
	a.writePolicy(w, l.ID)
}

// deletePolicy puts a lab back on the server's policy and answers it.
func (a *API) deletePolicy(w http.ResponseWriter, r *http.Request) {
	l, ok := a.open(w, r, httpjson.Bearer(r))
	if !ok {
		return
	}
	if err := a.cfg.Labs.ResetPolicy(l.ID); err != nil {
		labError(w, err)
		return
	}
	a.writePolicy(w, l.ID)
}
