package sse

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestStream: the headers a browser and a proxy need, then the comment,
// the event with its JSON, the keep-alive, each as the EventSource format
// frames them (a blank line ends each).
func TestStream(t *testing.T) {
	rec := httptest.NewRecorder()
	st := Start(rec, "portlab events", time.Second)
	st.Send("reply", map[string]string{"text": "250 2.0.0 Ok"})
	st.KeepAlive()
	if !st.Flush() {
		t.Fatal("Flush reported the client gone")
	}
	h := rec.Header()
	if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-store" || h.Get("X-Accel-Buffering") != "no" || rec.Code != 200 {
		t.Errorf("%d %v", rec.Code, h)
	}
	want := ": portlab events\n\nevent: reply\ndata: {\"text\":\"250 2.0.0 Ok\"}\n\n: keep-alive\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("stream:\n%q\nwant\n%q", got, want)
	}
}
