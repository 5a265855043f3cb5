// Package sse writes a Server-Sent Events response, the live streams of a
// lab's events and of a class: the headers a proxy must not buffer, no
// read deadline (nothing is read) and a fresh write deadline per write,
// so a stream outlives the server's request time-outs but a stalled
// reader does not hold it forever.
package sse

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Stream is one open event stream.
type Stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// Start answers 200 with an event stream and writes comment first (a
// line the browser ignores, which tells a reader what it opened); each
// write must finish within timeout. Nothing need reach the network until
// Flush, so a caller may start under a lock and flush after it.
func Start(w http.ResponseWriter, comment string, timeout time.Duration) *Stream {
	s := &Stream{w: w, rc: http.NewResponseController(w), timeout: timeout}
	s.rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	s.rc.SetWriteDeadline(time.Now().Add(timeout))
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": %s\n\n", comment)
	return s
}

// Send writes one event with v as its JSON data.
func (s *Stream) Send(event string, v any) {
	data, _ := json.Marshal(v)
	s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, data)
}

// KeepAlive writes a comment, so proxies and the browser see an idle
// stream is alive.
func (s *Stream) KeepAlive() {
	s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	fmt.Fprint(s.w, ": keep-alive\n\n")
}

// Flush sends what was written; false: the client is gone.
func (s *Stream) Flush() bool { return s.rc.Flush() == nil }
