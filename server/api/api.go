// Package api is the sandbox's JSON API: labs, their mailboxes and live
// event streams, and the network profiles and hosts a page can offer. The
// browser client and the headless scenario runner both use it.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"
	"time"

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
	// MaxStreams bounds the live event streams open per lab.
	MaxStreams int
	// Heartbeat is how often an idle event stream sends a comment, so
	// proxies keep it open.
	Heartbeat time.Duration
}

// API is an http.Handler for /api/.
type API struct {
	cfg     Config
	mux     *http.ServeMux
	mu      sync.Mutex
	streams map[string]int
}

// New returns the API handler.
func New(cfg Config) *API {
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = 8
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 25 * time.Second
	}
	a := &API{cfg: cfg, mux: http.NewServeMux(), streams: map[string]int{}}
	a.mux.HandleFunc("POST /api/labs", a.createLab)
	a.mux.HandleFunc("GET /api/labs/{id}", a.getLab)
	a.mux.HandleFunc("PATCH /api/labs/{id}", a.patchLab)
	a.mux.HandleFunc("DELETE /api/labs/{id}", a.deleteLab)
	a.mux.HandleFunc("GET /api/labs/{id}/messages", a.messages)
	a.mux.HandleFunc("GET /api/labs/{id}/messages/{mid}/raw", a.raw)
	a.mux.HandleFunc("GET /api/labs/{id}/events", a.events)
	a.mux.HandleFunc("GET /api/profiles", a.profiles)
	a.mux.HandleFunc("GET /api/hosts", a.hosts)
	a.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint")
	})
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	a.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// readBody decodes a small JSON body; an empty body is an empty object.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

func labError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, lab.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such lab (labs expire when idle)")
	case errors.Is(err, lab.ErrTooMany):
		writeError(w, http.StatusTooManyRequests, "too many labs for this address: delete one or wait for it to expire")
	case errors.Is(err, lab.ErrFull):
		writeError(w, http.StatusServiceUnavailable, "the sandbox is full: try again when idle labs have expired")
	case errors.Is(err, lab.ErrProfile):
		writeError(w, http.StatusBadRequest, "unknown network profile")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

type profileBody struct {
	Profile string `json:"profile"`
}

func (a *API) createLab(w http.ResponseWriter, r *http.Request) {
	var b profileBody
	if !readBody(w, r, &b) {
		return
	}
	var client netip.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		client = ap.Addr().Unmap()
	}
	l, err := a.cfg.Labs.Create(client, b.Profile)
	if err != nil {
		labError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, l)
}

func (a *API) getLab(w http.ResponseWriter, r *http.Request) {
	l, err := a.cfg.Labs.Get(r.PathValue("id"))
	if err != nil {
		labError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (a *API) patchLab(w http.ResponseWriter, r *http.Request) {
	var b profileBody
	if !readBody(w, r, &b) {
		return
	}
	l, err := a.cfg.Labs.SetProfile(r.PathValue("id"), b.Profile)
	if err != nil {
		labError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (a *API) deleteLab(w http.ResponseWriter, r *http.Request) {
	if err := a.cfg.Labs.Delete(r.PathValue("id")); err != nil {
		labError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) messages(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.cfg.Labs.Get(id); err != nil {
		labError(w, err)
		return
	}
	msgs := a.cfg.Store.List(id)
	if msgs == nil {
		msgs = []*mailbox.Message{}
	}
	writeJSON(w, http.StatusOK, msgs)
}

func (a *API) raw(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.cfg.Labs.Get(id); err != nil {
		labError(w, err)
		return
	}
	m, ok := a.cfg.Store.Get(id, r.PathValue("mid"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such message (the mailbox keeps the newest ones)")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(m.Raw)
}

// events streams a lab's events as Server-Sent Events.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.cfg.Labs.Get(id); err != nil {
		labError(w, err)
		return
	}
	if !a.openStream(id) {
		writeError(w, http.StatusTooManyRequests, "too many live views of this lab")
		return
	}
	defer a.closeStream(id)
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	sub := a.cfg.Bus.Subscribe(256, func(e events.Event) bool { return e.Lab == id })
	defer sub.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": portlab events\n\n")
	flusher.Flush()
	tick := time.NewTicker(a.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case e := <-sub.C:
			data, _ := json.Marshal(e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Kind, data)
		}
		flusher.Flush()
	}
}

func (a *API) openStream(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streams[id] >= a.cfg.MaxStreams {
		return false
	}
	a.streams[id]++
	return true
}

func (a *API) closeStream(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streams[id]--; a.streams[id] <= 0 {
		delete(a.streams, id)
	}
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
	writeJSON(w, http.StatusOK, out)
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
	writeJSON(w, http.StatusOK, out)
}
