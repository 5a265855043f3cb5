package sandbox

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		files    int
		req      budgetRequest
		want     Budget
		warnings int
	}{
		// 40 % for each pool, the rest (at least 128) in reserve; one
		// address a quarter of a pool, and no more than 512 for HTTP.
		{1024, budgetRequest{SMTPPerClient: 50}, Budget{Files: 1024, SMTP: 409, SMTPPerClient: 50, HTTP: 409, HTTPPerClient: 102, Reserve: 206}, 0},
		{65536, budgetRequest{SMTPPerClient: 50}, Budget{Files: 65536, SMTP: 26214, SMTPPerClient: 50, HTTP: 26214, HTTPPerClient: 512, Reserve: 13108}, 0},
		{256, budgetRequest{SMTPPerClient: 50}, Budget{Files: 256, SMTP: 64, SMTPPerClient: 16, HTTP: 64, HTTPPerClient: 16, Reserve: 128}, 1},
		// Explicit numbers win within the budget, and are clamped past it.
		{1024, budgetRequest{SMTP: 300, SMTPPerClient: 5, HTTP: 200, HTTPPerClient: 20}, Budget{Files: 1024, SMTP: 300, SMTPPerClient: 5, HTTP: 200, HTTPPerClient: 20, Reserve: 206}, 0},
		{1024, budgetRequest{SMTP: 5000, SMTPPerClient: 500, HTTP: 8192, HTTPPerClient: 512}, Budget{Files: 1024, SMTP: 409, SMTPPerClient: 102, HTTP: 409, HTTPPerClient: 102, Reserve: 206}, 4},
	} {
		b, warnings, err := newBudget(tc.files, tc.req)
		if err != nil || b != tc.want || len(warnings) != tc.warnings {
			t.Errorf("newBudget(%d, %+v) = %+v, %q, %v; want %+v and %d warnings", tc.files, tc.req, b, warnings, err, tc.want, tc.warnings)
		}
		if b.SMTP+b.HTTP+b.Reserve > tc.files {
			t.Errorf("newBudget(%d): %+v spends more than the limit", tc.files, b)
		}
	}
	if _, _, err := newBudget(100, budgetRequest{}); err == nil || !strings.Contains(err.Error(), "ulimit -n") {
		t.Errorf("a limit of 100: %v", err)
	}
}

// The sandbox holds its listeners to the budget: under a limit of 256
// descriptors one address keeps 16 HTTP and 16 SMTP connections (not
// httpguard's 512 and the policy's 50, which would take the whole
// limit), the next get 503 and 421 4.7.0, and another address is served.
func TestBudgetHoldsTheListeners(t *testing.T) {
	s, err := New(Config{PortOffset: "-1", OpenFiles: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.Budget()
	if b.HTTPPerClient != 16 || b.SMTPPerClient != 16 || len(s.Warnings()) != 1 {
		t.Fatalf("budget %v, warnings %q", b, s.Warnings())
	}
	web := strings.TrimPrefix(s.URL(), "http://")
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	dial := func(from, to string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", to)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	get := func(from string) int {
		t.Helper()
		c := dial(from, web)
		io.WriteString(c, "GET /api/profiles HTTP/1.1\r\nHost: "+web+"\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	greet := func(from string) string {
		t.Helper()
		line, err := bufio.NewReader(dial(from, s.SMTPAddr(25))).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	for i := range b.HTTPPerClient {
		if code := get("127.0.0.2"); code != 200 {
			t.Fatalf("HTTP connection %d: %d", i+1, code)
		}
	}
	if code := get("127.0.0.2"); code != 503 {
		t.Errorf("HTTP connection %d from one address: %d, want 503", b.HTTPPerClient+1, code)
	}
	for i := range b.SMTPPerClient {
		if line := greet("127.0.0.2"); !strings.HasPrefix(line, "220 ") {
			t.Fatalf("SMTP connection %d: %q", i+1, line)
		}
	}
	if line := greet("127.0.0.2"); !strings.HasPrefix(line, "421 4.7.0 ") {
		t.Errorf("SMTP connection %d from one address: %q, want 421 4.7.0", b.SMTPPerClient+1, line)
	}
	if code := get("127.0.0.3"); code != 200 {
		t.Errorf("another address's HTTP: %d", code)
	}
	if line := greet("127.0.0.3"); !strings.HasPrefix(line, "220 ") {
		t.Errorf("another address's SMTP: %q", line)
	}
}
