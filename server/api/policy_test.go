package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/policy"
)

func policyJSON(text string) string {
	b, _ := json.Marshal(map[string]string{"text": text})
	return string(b)
}

// A lab's policy: read, set, refused with its errors at their lines (the
// old one kept), reset; always with the lab's key.
func TestLabPolicy(t *testing.T) {
	f := newFixture(t)
	_, body := f.do(t, "POST", "/api/labs", `{}`)
	var l lab.Lab
	json.Unmarshal([]byte(body), &l)
	path := "/api/labs/" + l.ID + "/policy"
	var got PolicyBody
	code, body := f.doKey(t, "GET", path, "", l.Key)
	if json.Unmarshal([]byte(body), &got); code != 200 || got.Own || got.Text != policy.DefaultText() {
		t.Fatalf("GET: %d %.200s, want the server's text, not own", code, body)
	}
	trust := policy.DefaultText() + "<source 203.0.113.0/24>\n  always-allow-relaying yes\n</source>\n"
	if code, body := f.doKey(t, "PUT", path, policyJSON(trust), l.Key); code != 200 || !strings.Contains(body, `"own":true`) {
		t.Fatalf("PUT: %d %.200s", code, body)
	}
	// Two errors, each at its line; the lab keeps the policy it had.
	bad := policy.DefaultText() + "<source 203.0.113.0/33>\n  always-allow-relaying yes\n</source>\nmax-recipients 5000\nfrobnicate yes\n"
	n := strings.Count(policy.DefaultText(), "\n")
	code, body = f.doKey(t, "PUT", path, policyJSON(bad), l.Key)
	var refused struct {
		Error  string
		Errors []PolicyError
	}
	json.Unmarshal([]byte(body), &refused)
	if code != http.StatusUnprocessableEntity || !strings.Contains(refused.Error, "keeps the policy it had") || len(refused.Errors) != 2 ||
		refused.Errors[0].Line != n+1 || !strings.Contains(refused.Errors[0].Message, "CIDR") ||
		refused.Errors[1].Line != n+5 || !strings.Contains(refused.Errors[1].Message, `unknown directive "frobnicate"`) {
		t.Errorf("bad policy: %d %s, want 422 with errors at lines %d and %d", code, body, n+1, n+5)
	}
	if code, body := f.doKey(t, "GET", path, "", l.Key); code != 200 || !strings.Contains(body, "203.0.113.0/24") {
		t.Errorf("after a refused PUT: %d %.100s, want the policy set before", code, body)
	}
	// Too large: refused before it is read as a policy.
	big := policyJSON(policy.DefaultText() + strings.Repeat("# padding\n", lab.MaxPolicy/10))
	if code, body := f.doKey(t, "PUT", path, big, l.Key); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a policy over %d bytes: %d %.200s, want 413", lab.MaxPolicy, code, body)
	}
	if code, body := f.doKey(t, "DELETE", path, "", l.Key); code != 200 || !strings.Contains(body, `"own":false`) {
		t.Errorf("DELETE: %d %.100s", code, body)
	}
	// Without the key, with another lab's or a wrong one: refused, and
	// nothing changed.
	_, body = f.do(t, "POST", "/api/labs", `{}`)
	var other lab.Lab
	json.Unmarshal([]byte(body), &other)
	for _, key := range []string{"", other.Key, l.ID, l.Password} {
		for _, m := range []string{"GET", "PUT", "DELETE"} {
			code, body := f.doKey(t, m, path, map[string]string{"PUT": policyJSON(trust)}[m], key)
			if code != http.StatusUnauthorized && code != http.StatusForbidden {
				t.Errorf("%s with key %q: %d %.100s", m, key, code, body)
			}
		}
	}
	if _, body := f.doKey(t, "GET", path, "", l.Key); !strings.Contains(body, `"own":false`) {
		t.Errorf("a refused request changed the policy: %.100s", body)
	}
	// The classroom follows the server's policy, which nobody changes here.
	for _, m := range []string{"PUT", "DELETE"} {
		code, _ := f.do(t, m, "/api/labs/classroom/policy", map[string]string{"PUT": policyJSON(trust)}[m])
		if code != http.StatusForbidden {
			t.Errorf("%s classroom policy: %d, want 403", m, code)
		}
	}
}
