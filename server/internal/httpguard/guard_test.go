package httpguard

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A DNS-rebinding page reaches the server under its own name: refused
// with 421. A state-changing request or a tunnel from another site's page
// is refused with 403; one without Origin (curl) is not.
func TestHostAndOrigin(t *testing.T) {
	hosts, anyIP := DefaultHosts("127.0.0.1:8080")
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }),
		Config{Hosts: append(hosts, "sandbox.example"), AnyIP: anyIP, Origins: []string{"docs.example.com", "*.school.test"}})
	for _, tc := range []struct {
		method, host, origin string
		ws                   bool
		code                 int
	}{
		{"GET", "127.0.0.1:8080", "", false, 299},
		{"GET", "localhost:8080", "", false, 299},
		{"GET", "[::1]:8080", "", false, 299},
		{"GET", "LOCALHOST.:8080", "", false, 299},
		{"GET", "sandbox.example", "", false, 299},
		{"GET", "rebind.attacker.test:8080", "", false, 421},
		{"POST", "rebind.attacker.test:8080", "http://rebind.attacker.test:8080", false, 421},
		{"GET", "10.1.2.3:8080", "", false, 421},   // bound to 127.0.0.1: not an address of ours
		{"POST", "127.0.0.1:8080", "", false, 299}, // curl
		{"POST", "127.0.0.1:8080", "http://127.0.0.1:8080", false, 299},
		{"POST", "127.0.0.1:8080", "https://evil.example", false, 403},
		{"PATCH", "127.0.0.1:8080", "https://evil.example", false, 403},
		{"DELETE", "127.0.0.1:8080", "null", false, 403},
		{"POST", "127.0.0.1:8080", "https://docs.example.com", false, 299},
		{"POST", "127.0.0.1:8080", "https://a.school.test", false, 299},
		{"GET", "127.0.0.1:8080", "https://evil.example", false, 299}, // a plain GET changes nothing
		{"GET", "127.0.0.1:8080", "https://evil.example", true, 403},
		{"GET", "127.0.0.1:8080", "http://127.0.0.1:8080", true, 299},
	} {
		r := httptest.NewRequest(tc.method, "/api/labs", strings.NewReader("{}"))
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.ws {
			r.Header.Set("Upgrade", "websocket")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.code || tc.code != 299 && !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("%s Host %s Origin %q ws %v: %d %s, want %d", tc.method, tc.host, tc.origin, tc.ws, w.Code, w.Body, tc.code)
		}
	}
}

func TestDefaultHosts(t *testing.T) {
	for _, tc := range []struct {
		bind  string
		extra string
		any   bool
	}{
		{"127.0.0.1:8080", "127.0.0.1", false},
		{"sandbox.example:80", "sandbox.example", false},
		{":8080", "", true},
		{"0.0.0.0:8080", "", true},
		{"[::]:8080", "", true},
	} {
		hosts, any := DefaultHosts(tc.bind)
		if any != tc.any || !strings.Contains(strings.Join(hosts, " "), "localhost") || tc.extra != "" && hosts[len(hosts)-1] != tc.extra {
			t.Errorf("DefaultHosts(%q) = %v, %v", tc.bind, hosts, any)
		}
	}
}
