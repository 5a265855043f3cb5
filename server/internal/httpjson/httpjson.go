// Package httpjson is how portlab's JSON APIs (the labs' and the
// classroom's) read a request body and write an answer: one shape of
// error ({"error": "..."}), one check that a body says it is JSON, one
// bound on its size.
package httpjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Write answers v as JSON with status. The answers hold labs' keys and
// students' tokens, so no cache keeps them.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Error answers {"error": msg} with status.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, map[string]string{"error": msg})
}

// Read decodes a JSON body of up to limit bytes into v; an empty body is
// an empty object. On a bad body it answers the client and returns false.
// The body must say it is JSON: a form or text/plain body is what another
// site's page can send without the browser asking this server first (a
// CORS "simple request").
func Read(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		Error(w, http.StatusUnsupportedMediaType, "the body must be JSON, sent with Content-Type: application/json")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
			return false
		}
		Error(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	// One JSON value and nothing after it.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		Error(w, http.StatusBadRequest, "bad JSON body: data after the JSON value")
		return false
	}
	return true
}

// Bearer is the secret an Authorization: Bearer header brings ("" when
// there is none).
func Bearer(r *http.Request) string {
	scheme, s, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(s)
}
