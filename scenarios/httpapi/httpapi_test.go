//go:build !js

package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/smtp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/server/sandbox"
)

// TestClient reads the real sandbox's API (started in-process; only the
// test imports the server).
func TestClient(t *testing.T) {
	s, err := sandbox.New(sandbox.Config{PortOffset: "-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &httpapi.Client{Server: s.URL() + "/"}
	ctx := context.Background()

	lab, err := c.CreateLab(ctx, "home-isp")
	if err != nil || lab.ID == "" || lab.Key == "" || lab.User == "" || lab.Password == "" || lab.Profile != "home-isp" || time.Until(lab.ExpiresAt) < time.Hour {
		t.Fatalf("CreateLab = %+v, %v", lab, err)
	}
	if _, err := c.CreateLab(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "400 Bad Request: unknown network profile") {
		t.Errorf("CreateLab(nope) = %v", err)
	}

	// A message submitted with the lab's own account lands in its mailbox.
	conn, err := net.Dial("tcp", s.SMTPAddr(587))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := smtp.NewClient(conn, "smtp.relay.test")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.StartTLS(s.CA().ClientConfig("smtp.relay.test")); err != nil {
		t.Fatal(err)
	}
	if err := sc.Auth(smtp.PlainAuth("", lab.User, lab.Password, "smtp.relay.test")); err != nil {
		t.Fatal(err)
	}
	sc.Mail("student@sandbox.test")
	sc.Rcpt("bob@sandbox.test")
	w, err := sc.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: through the API\r\n\r\nhi\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sc.Quit()

	msgs, err := httpapi.Mailbox{Client: c, Lab: lab}.Messages(ctx)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Messages = %v, %v", msgs, err)
	}
	m := msgs[0]
	if m.ID == "" || m.From != "student@sandbox.test" || len(m.To) != 1 || m.To[0] != "bob@sandbox.test" || m.Subject != "through the API" ||
		m.Port != 587 || m.Host != "smtp.relay.test" || !m.TLS || !strings.HasPrefix(m.TLSVersion, "TLS 1.") || m.AuthUser != lab.User || m.ReceivedAt.IsZero() {
		t.Errorf("message %+v", m)
	}
	if _, err := c.Messages(ctx, &httpapi.Lab{ID: "other", Key: lab.Key}); err == nil {
		t.Error("Messages of an unknown lab: no error")
	}
	if _, err := c.Messages(ctx, &httpapi.Lab{ID: lab.ID}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Messages without the key: %v", err)
	}
	if pool, err := c.CA(ctx); err != nil || pool == nil {
		t.Errorf("CA = %v, %v", pool, err)
	}
	if err := c.DeleteLab(ctx, lab); err != nil {
		t.Error(err)
	}
	if _, err := c.Messages(ctx, lab); err == nil {
		t.Error("Messages of a deleted lab: no error")
	}
}

// ClassProgress posts a student's record with their class token; the
// teacher's dashboard shows it, and a record the server refuses is an
// error with its words.
func TestClassProgress(t *testing.T) {
	const pw = "correct horse"
	s, err := sandbox.New(sandbox.Config{PortOffset: "-1", TeacherPassword: pw})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The teacher's side: a browser with the session cookie, from the
	// server's own origin.
	jar, _ := cookiejar.New(nil)
	teacher := &http.Client{Jar: jar}
	call := func(method, path string, body, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, s.URL()+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", s.URL())
		res, err := teacher.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s", method, path, res.Status)
		}
		if out != nil {
			if err := json.NewDecoder(res.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	call("POST", "/api/classroom/session", map[string]string{"password": pw}, nil)
	var class struct{ ID, Code string }
	call("POST", "/api/classroom/classes", map[string]any{"name": "Networks 1"}, &class)
	var joined struct{ Token string }
	call("POST", "/api/classroom/join", map[string]string{"code": class.Code, "name": "Ada"}, &joined)

	c := &httpapi.Client{Server: s.URL()}
	ctx := context.Background()
	if err := c.ClassProgress(ctx, joined.Token, httpapi.Progress{Kind: "progress", Lesson: "first-contact", Step: 5, Total: 5, State: "passed", Steps: map[string]string{"ehlo": "student"}}); err != nil {
		t.Fatal(err)
	}
	var d struct {
		Rows []struct {
			Name   string
			Passed []string
		}
	}
	call("GET", "/api/classroom/classes/"+class.ID, nil, &d)
	if len(d.Rows) != 1 || d.Rows[0].Name != "Ada" || !slices.Equal(d.Rows[0].Passed, []string{"first-contact"}) {
		t.Errorf("the dashboard reads %+v", d)
	}
	if err := c.ClassProgress(ctx, joined.Token, httpapi.Progress{Kind: "progress", Lesson: "no-such-lesson"}); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "known lesson") {
		t.Errorf("a record of an unknown lesson: %v", err)
	}
	if err := c.ClassProgress(ctx, "not-a-token", httpapi.Progress{Kind: "open", Lesson: "first-contact", State: "new"}); err == nil || !strings.Contains(err.Error(), "no such student") {
		t.Errorf("a record with a token of no student: %v", err)
	}
}

// A server that is not portlab: its /ca.pem holds no certificate.
func TestCANotPEM(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not pem") }))
	defer srv.Close()
	if _, err := (&httpapi.Client{Server: srv.URL}).CA(context.Background()); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA = %v", err)
	}
}

// UICatalog builds the language's catalog from the served file, English
// under it for the keys the file lacks or leaves empty.
func TestUICatalog(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/messages/de.json" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"nav.playground": "Spielwiese", "nav.ports": ""}`)
	}))
	defer srv.Close()
	c := &httpapi.Client{Server: srv.URL}
	cat, err := c.UICatalog(context.Background(), "/messages/de.json", "de")
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.T("nav.playground"); got != "Spielwiese" {
		t.Errorf("nav.playground = %q", got)
	}
	if got := cat.T("nav.ports"); got != "Ports" {
		t.Errorf("nav.ports = %q, want the English", got)
	}
	if _, err := c.UICatalog(context.Background(), "/messages/xx.json", "de"); err == nil {
		t.Error("a 404 gave a catalog")
	}
}
