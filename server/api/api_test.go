package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/mailbox"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/world"
)

type fixture struct {
	srv   *httptest.Server
	store *mailbox.Store
	bus   *events.Bus
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	profiles := netsim.Default()
	f := &fixture{store: mailbox.New(10, 1<<20, nil), bus: events.NewBus()}
	labs := lab.NewManager(lab.Config{TTL: time.Hour, MaxPerClient: 2, MaxLabs: 100, Default: "home-isp",
		Profiles: func(n string) bool { _, ok := profiles.Profile(n); return ok }, OnExpire: f.store.DeleteLab})
	f.srv = httptest.NewServer(New(Config{Labs: labs, Store: f.store, Bus: f.bus, Profiles: profiles, World: world.Default(), MaxStreams: 1, MaxStreamsPerClient: 4}))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request without a lab key; a body goes as JSON.
func (f *fixture) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	return f.doKey(t, method, path, body, "")
}

// doKey sends a request with a lab key (none if key is "").
func (f *fixture) doKey(t *testing.T, method, path, body, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLabsLifecycle(t *testing.T) {
	f := newFixture(t)
	code, body := f.do(t, "POST", "/api/labs", `{"profile":"cloud-vm"}`)
	var l lab.Lab
	json.Unmarshal([]byte(body), &l)
	if code != http.StatusCreated || l.ID == "" || l.Profile != "cloud-vm" || l.Password == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := f.doKey(t, "PATCH", "/api/labs/"+l.ID, `{"profile":"hotel-wifi"}`, l.Key); code != 200 || !strings.Contains(body, `"profile":"hotel-wifi"`) {
		t.Errorf("patch: %d %s", code, body)
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"PATCH", "/api/labs/" + l.ID, `{"profile":"moon"}`, 400, "unknown network profile"},
		{"POST", "/api/labs", `{"profile":`, 400, "bad JSON"},
		{"POST", "/api/labs", `{"colour":"red"}`, 400, "bad JSON"},
		{"GET", "/api/labs/nope", "", 404, "no such lab"},
		{"GET", "/api/labs/nope/messages", "", 404, "no such lab"},
		{"GET", "/api/labs/" + l.ID + "/messages/XYZ/raw", "", 404, "no such message"},
		{"GET", "/api/nothing", "", 404, "no such API endpoint"},
		{"GET", "/api/labs/nope/events", "", 404, "no such lab"},
		{"DELETE", "/api/labs/classroom", "", 403, "shared classroom lab cannot be changed"},
	} {
		code, body := f.doKey(t, tc.method, tc.path, tc.body, l.Key)
		if code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("%s %s: %d %s, want %d ...%s...", tc.method, tc.path, code, body, tc.code, tc.says)
		}
	}
	// Labs per client address (the test client is always 127.0.0.1).
	f.do(t, "POST", "/api/labs", `{}`)
	if code, body := f.do(t, "POST", "/api/labs", `{}`); code != http.StatusTooManyRequests {
		t.Errorf("third lab: %d %s", code, body)
	}
	if code, _ := f.doKey(t, "DELETE", "/api/labs/"+l.ID, "", l.Key); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _ := f.doKey(t, "GET", "/api/labs/"+l.ID, "", l.Key); code != 404 {
		t.Errorf("deleted lab still there: %d", code)
	}
}

func TestMessagesAndEvents(t *testing.T) {
	f := newFixture(t)
	_, body := f.do(t, "POST", "/api/labs", `{}`)
	var l lab.Lab
	json.Unmarshal([]byte(body), &l)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// EventSource cannot set headers: the key comes as a query parameter.
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/labs/"+l.ID+"/events?key="+l.Key, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %v %v", resp, err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	br.ReadString('\n') // the opening comment
	// A second live view of the lab is over MaxStreams.
	if code, _ := f.doKey(t, "GET", "/api/labs/"+l.ID+"/events", "", l.Key); code != http.StatusTooManyRequests {
		t.Errorf("second stream: %d", code)
	}

	f.store.Deliver(&mailbox.Message{Lab: l.ID, From: "a@x.test", To: []string{"b@sandbox.test"}, Raw: []byte("Subject: mine\r\n\r\nhi\r\n")})
	f.store.Deliver(&mailbox.Message{Lab: "other", Raw: []byte("Subject: not mine\r\n\r\n")})
	f.bus.Publish(events.Event{Kind: events.Message, Lab: "other", Text: "not for this stream"})
	f.bus.Publish(events.Event{Kind: events.Message, Lab: l.ID, Text: "stored"})
	var got []string
	for len(got) < 2 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, ":") {
			got = append(got, line)
		}
	}
	if got[0] != "event: message" || !strings.Contains(got[1], `"text":"stored"`) || !strings.Contains(got[1], l.ID) {
		t.Errorf("stream said %q", got)
	}

	code, body := f.doKey(t, "GET", "/api/labs/"+l.ID+"/messages", "", l.Key)
	var msgs []map[string]any
	json.Unmarshal([]byte(body), &msgs)
	if code != 200 || len(msgs) != 1 || msgs[0]["subject"] != "mine" {
		t.Fatalf("messages: %d %s", code, body)
	}
	for _, key := range []string{"id", "from", "to", "subject", "port", "host", "tls", "relayed", "received_at", "headers"} {
		if _, ok := msgs[0][key]; !ok {
			t.Errorf("message JSON lacks %q: %s", key, body)
		}
	}
	// The clients (headless runner, browser) decode into scenarios.Message:
	// the server's JSON must fill it.
	var typed []scenarios.Message
	json.Unmarshal([]byte(body), &typed)
	if len(typed) != 1 || typed[0].From != "a@x.test" || len(typed[0].To) != 1 || typed[0].To[0] != "b@sandbox.test" || typed[0].Subject != "mine" || typed[0].ReceivedAt.IsZero() {
		t.Errorf("as scenarios.Message: %+v", typed)
	}
	code, raw := f.doKey(t, "GET", "/api/labs/"+l.ID+"/messages/"+msgs[0]["id"].(string)+"/raw", "", l.Key)
	if code != 200 || raw != "Subject: mine\r\n\r\nhi\r\n" {
		t.Errorf("raw: %d %q", code, raw)
	}
	if code, body := f.do(t, "GET", "/api/profiles", ""); code != 200 || !strings.Contains(body, `"name":"hotel-wifi"`) {
		t.Errorf("profiles: %d %s", code, body)
	}
	if code, body := f.do(t, "GET", "/api/hosts", ""); code != 200 || !strings.Contains(body, `{"port":993,"service":"imaps"}`) {
		t.Errorf("hosts: %d %s", code, body)
	}
}
