package httpjson

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRead: what a JSON API answers for each kind of bad body, and that
// a good one decodes.
func TestRead(t *testing.T) {
	for _, tt := range []struct {
		name, ctype, body string
		want              int
	}{
		{"good", "application/json", `{"name":"Ada"}`, 0},
		{"empty is an empty object", "application/json; charset=utf-8", ``, 0},
		{"a form another site can send", "application/x-www-form-urlencoded", `name=Ada`, http.StatusUnsupportedMediaType},
		{"text/plain, a CORS simple request", "text/plain", `{"name":"Ada"}`, http.StatusUnsupportedMediaType},
		{"unknown field", "application/json", `{"nom":"Ada"}`, http.StatusBadRequest},
		{"data after the value", "application/json", `{"name":"Ada"} {}`, http.StatusBadRequest},
		{"over the limit", "application/json", `{"name":"` + strings.Repeat("a", 100) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ctype)
		rec := httptest.NewRecorder()
		var v struct{ Name string }
		ok := Read(rec, req, &v, 64)
		if tt.want == 0 {
			if !ok || rec.Code != http.StatusOK {
				t.Errorf("%s: refused (%d %s)", tt.name, rec.Code, rec.Body)
			}
			continue
		}
		if ok || rec.Code != tt.want || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%s: ok=%v, %d %s; want %d with an error", tt.name, ok, rec.Code, rec.Body, tt.want)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", tt.name, cc)
		}
	}
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "": "", "Bearer": ""} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", h)
		if got := Bearer(req); got != want {
			t.Errorf("Bearer(%q) = %q, want %q", h, got, want)
		}
	}
}
