package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/lab"
)

// A lab's id is seen by others (it is the lab's SMTP user); only its key,
// returned once at creation, opens the lab, its mailbox and its events.
func TestLabNeedsItsKey(t *testing.T) {
	f := newFixture(t)
	_, body := f.do(t, "POST", "/api/labs", `{}`)
	var l lab.Lab
	json.Unmarshal([]byte(body), &l)
	if l.Key == "" || l.Key == l.ID || l.Key == l.Password {
		t.Fatalf("create: no distinct key in %s", body)
	}
	paths := []struct{ method, path, body string }{
		{"GET", "/api/labs/" + l.ID, ""},
		{"PATCH", "/api/labs/" + l.ID, `{"profile":"cloud-vm"}`},
		{"GET", "/api/labs/" + l.ID + "/messages", ""},
		{"GET", "/api/labs/" + l.ID + "/messages/x/raw", ""},
		{"GET", "/api/labs/" + l.ID + "/events", ""},
		{"GET", "/api/labs/" + l.ID + "/events?key=" + l.Password, ""},
		{"DELETE", "/api/labs/" + l.ID, ""},
	}
	for _, key := range []string{"", l.ID, l.Password} {
		for _, p := range paths {
			code, body := f.doKey(t, p.method, p.path, p.body, key)
			if code != http.StatusUnauthorized && code != http.StatusForbidden || strings.Contains(body, l.Password) || !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s with key %q: %d %s", p.method, p.path, key, code, body)
			}
		}
	}
	code, body := f.doKey(t, "GET", "/api/labs/"+l.ID, "", l.Key)
	if code != 200 || !strings.Contains(body, l.Password) || strings.Contains(body, l.Key) {
		t.Errorf("GET with the key: %d %s (want the password, never the key again)", code, body)
	}
	// The shared lab: readable by all, changeable by none.
	if code, body := f.do(t, "GET", "/api/labs/classroom/messages", ""); code != 200 {
		t.Errorf("classroom mailbox: %d %s", code, body)
	}
	for _, m := range []string{"PATCH", "DELETE"} {
		code, body := f.do(t, m, "/api/labs/classroom", map[string]string{"PATCH": `{"profile":"cloud-vm"}`}[m])
		if code != http.StatusForbidden || !strings.Contains(body, `"error":"the shared classroom lab cannot be changed`) {
			t.Errorf("%s classroom: %d %s", m, code, body)
		}
	}
}

// A body another site's page could send without a CORS preflight
// (text/plain, a form) is refused; so is anything after the JSON value;
// a wrong method is 405 with Allow.
func TestRequestShape(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		method, path, ctype, body string
		code                      int
		says                      string
	}{
		{"POST", "/api/labs", "text/plain", `{}`, 415, "Content-Type: application/json"},
		{"POST", "/api/labs", "", ``, 415, "Content-Type: application/json"},
		{"POST", "/api/labs", "application/x-www-form-urlencoded", `profile=x`, 415, "must be JSON"},
		{"POST", "/api/labs", "application/json", `{} {"profile":"x"}`, 400, "data after the JSON value"},
		{"POST", "/api/labs", "application/json", `{}x`, 400, "data after the JSON value"},
		{"GET", "/api/labs", "", ``, 405, "GET is not allowed here"},
		{"PUT", "/api/labs/x", "", ``, 405, "allowed: "},
		{"POST", "/api/profiles", "", ``, 405, "not allowed"},
		{"GET", "/api/nothing", "", ``, 404, "no such API endpoint"},
		{"POST", "/api/labs", "application/json; charset=utf-8", `{}`, 201, `"key"`},
	} {
		req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(b.String(), tc.says) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s (%s %q): %d %s %s, want %d ...%s...", tc.method, tc.path, tc.ctype, tc.body, resp.StatusCode, resp.Header.Get("Content-Type"), b.String(), tc.code, tc.says)
		}
		if tc.code == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
	}
}

// clientFrom is an HTTP client whose connections come from a given
// loopback address (127.0.0.0/8 all reaches loopback on Linux).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// One address cannot hold every live view of the shared classroom: it is
// capped, and another address still gets its stream.
func TestClassroomStreamsPerClient(t *testing.T) {
	f := newFixture(t) // MaxStreams 1: the classroom is exempt
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(c *http.Client) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/labs/classroom/events", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp.StatusCode
	}
	greedy := clientFrom("127.0.0.2")
	for i := range 4 {
		if code := open(greedy); code != 200 {
			t.Fatalf("stream %d from 127.0.0.2: %d", i, code)
		}
	}
	if code := open(greedy); code != http.StatusTooManyRequests {
		t.Errorf("stream over the per-address cap: %d, want 429", code)
	}
	if code := open(clientFrom("127.0.0.3")); code != 200 {
		t.Errorf("another address: %d, want 200", code)
	}
}
