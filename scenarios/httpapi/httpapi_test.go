package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClient(t *testing.T) {
	mux := http.NewServeMux()
	// keyed answers 401, as the server does, unless the lab's key comes
	// as a bearer token.
	keyed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer k1" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"this lab needs its key"}`)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("POST /api/labs", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		if body["profile"] == "nope" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"unknown network profile"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":"lab1","key":"k1","user":"foo","password":"barbaz","profile":"`+body["profile"]+`","expires_at":"2026-01-01T02:00:00Z"}`)
	})
	mux.HandleFunc("GET /api/labs/lab1/messages", keyed(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"id":"m1","lab":"lab1","from":"","to":["foo@sandbox.test"],"subject":"Undelivered Mail Returned to Sender",
			"port":25,"host":"mx.sandbox.test","tls":true,"tls_version":"TLS 1.3","auth_user":"","relayed":false,
			"received_at":"2026-01-01T01:00:00Z","headers":[],"size":10}]`)
	}))
	mux.HandleFunc("DELETE /api/labs/lab1", keyed(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	mux.HandleFunc("GET /ca.pem", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not pem") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Client{Server: srv.URL + "/"}
	ctx := context.Background()

	lab, err := c.CreateLab(ctx, "home-isp")
	if err != nil || lab.ID != "lab1" || lab.Key != "k1" || lab.User != "foo" || lab.Profile != "home-isp" || !lab.ExpiresAt.Equal(time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("CreateLab = %+v, %v", lab, err)
	}
	if _, err := c.CreateLab(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "400 Bad Request: unknown network profile") {
		t.Errorf("CreateLab(nope) = %v", err)
	}
	msgs, err := Mailbox{Client: c, Lab: lab}.Messages(ctx)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Messages = %v, %v", msgs, err)
	}
	m := msgs[0]
	if m.ID != "m1" || m.From != "" || m.To[0] != "foo@sandbox.test" || m.Port != 25 || m.Host != "mx.sandbox.test" ||
		!m.TLS || m.TLSVersion != "TLS 1.3" || m.Relayed || m.ReceivedAt.IsZero() {
		t.Errorf("message %+v", m)
	}
	if _, err := c.Messages(ctx, &Lab{ID: "other", Key: "k1"}); err == nil {
		t.Error("Messages of an unknown lab: no error")
	}
	if _, err := c.Messages(ctx, &Lab{ID: "lab1"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Messages without the key: %v", err)
	}
	if err := c.DeleteLab(ctx, lab); err != nil {
		t.Error(err)
	}
	if _, err := c.CA(ctx); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("CA = %v", err)
	}
}
