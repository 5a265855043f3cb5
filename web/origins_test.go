package web

import (
	"slices"
	"testing"
)

// The README documents --allow-origin docs.example.com; postMessage needs
// full origins, so a bare host becomes both of its origins.
func TestPostOrigins(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want []string
	}{
		{[]string{"docs.example.com"}, []string{"https://docs.example.com", "http://docs.example.com"}},
		{[]string{"127.0.0.1:8123"}, []string{"https://127.0.0.1:8123", "http://127.0.0.1:8123"}},
		{[]string{"https://docs.example.org"}, []string{"https://docs.example.org"}},
		{[]string{"HTTP://Docs.Example.org/"}, []string{"http://docs.example.org"}},
		{[]string{"*.example.com", "", "ftp://x.example"}, nil},
		{[]string{"a.test", "https://a.test"}, []string{"https://a.test", "http://a.test"}},
	} {
		if got := postOrigins(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("postOrigins(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
