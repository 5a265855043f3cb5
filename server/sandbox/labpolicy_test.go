package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/lab"
	"github.com/portlab/portlab/server/policy"
)

// trustOther is the server's policy plus the other data center's network
// as a trusted source: the lesson your-own-rules' edit.
var trustOther = policy.DefaultText() + "\n<source 203.0.113.0/24>\n  always-allow-relaying yes\n</source>\n"

// A lab's own policy changes its relay and no other lab's: two labs on
// the other data center's network, through the real gateway and relay,
// one trusting that network. A connection follows the rules it opened
// under, as a Postfix smtpd keeps its settings across "postfix reload".
func TestLabPolicyIsTheLabsAlone(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.Lab("other-datacenter")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Lab("other-datacenter")
	if err != nil {
		t.Fatal(err)
	}
	before := dialRelay(t, s, a) // opened under the server's policy
	if code, body := putPolicy(t, s, a, trustOther); code != http.StatusOK {
		t.Fatalf("PUT policy: %d %s", code, body)
	}
	for _, tc := range []struct {
		name string
		c    *textproto.Conn
		want string
	}{
		{"lab with its own policy", dialRelay(t, s, a), "250 2.1.5"},
		{"another lab", dialRelay(t, s, b), "554 5.7.1 <friend@example.net>: Relay access denied"},
		{"a connection opened before the change", before, "554 5.7.1"},
	} {
		if got := relayTry(t, tc.c); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: RCPT got %q, want %q", tc.name, got, tc.want)
		}
	}
	// Reset: the lab is back on the server's rules.
	req, _ := http.NewRequest("DELETE", s.URL()+"/api/labs/"+a.ID+"/policy", nil)
	req.Header.Set("Authorization", "Bearer "+a.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := relayTry(t, dialRelay(t, s, a)); resp.StatusCode != 200 || !strings.HasPrefix(got, "554 5.7.1") {
		t.Errorf("after reset (%d): RCPT got %q, want 554 5.7.1", resp.StatusCode, got)
	}
	if p := s.Labs().PolicyFor(b.ID); p != nil {
		t.Error("the other lab has a policy of its own")
	}
}

// Another site's page cannot change a lab's policy, key or not.
func TestLabPolicyOtherOrigin(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.Lab("other-datacenter")
	if err != nil {
		t.Fatal(err)
	}
	for _, origin := range []string{"https://evil.example", "null"} {
		if code, body := putPolicy(t, s, l, trustOther, "Origin", origin); code != http.StatusForbidden {
			t.Errorf("PUT from %s: %d %s, want 403", origin, code, body)
		}
	}
	if s.Labs().PolicyFor(l.ID) != nil {
		t.Error("a request from another origin set the lab's policy")
	}
	if code, body := putPolicy(t, s, l, trustOther, "Origin", s.URL()); code != http.StatusOK {
		t.Errorf("PUT from the server's own page: %d %s", code, body)
	}
}

// putPolicy sets a lab's policy through the API; header pairs are added
// to the request.
func putPolicy(t *testing.T, s *Sandbox, l lab.Lab, text string, header ...string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"text": text})
	req, _ := http.NewRequest("PUT", s.URL()+"/api/labs/"+l.ID+"/policy", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+l.Key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dialRelay opens mx.sandbox.test:25 for a lab through the gateway and
// says EHLO.
func dialRelay(t *testing.T, s *Sandbox, l lab.Lab) *textproto.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := tunnel.Dialer{}.Dial(ctx, tunnel.Target{Server: s.URL(), Lab: l.ID, Key: l.Key, Host: "mx.sandbox.test", Port: 25})
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := textproto.NewConn(nc)
	t.Cleanup(func() { c.Close() })
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cmd("EHLO ops.other.example"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	return c
}

// relayTry asks to relay to a domain the sandbox is not final for and
// returns the RCPT reply line.
func relayTry(t *testing.T, c *textproto.Conn) string {
	t.Helper()
	c.Cmd("MAIL FROM:<ops@other.example>")
	if _, _, err := c.ReadResponse(250); err != nil {
		t.Fatal(err)
	}
	c.Cmd("RCPT TO:<friend@example.net>")
	line, err := c.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	c.Cmd("RSET")
	c.ReadResponse(250)
	return line
}
