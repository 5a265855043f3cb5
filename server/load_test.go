package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoadDescriptorFlood is `make bench`'s load test (PORTLAB_BENCH=1),
// issue 15's check that one client cannot take the server's file
// descriptors. It runs `portlab serve` as a child under a low open-file
// limit (PORTLAB_BENCH_NOFILE, default 1024, set with `ulimit -n` so that
// the limit is reachable), then, on loopback only:
//
//  1. one address (127.0.0.2) tries as many idle HTTP connections as the
//     limit, and as many SMTP ones; a second address (127.0.0.3) still gets the pages,
//     the API and a 220 greeting on 25 and 587;
//  2. more addresses (127.0.0.10 on) fill the HTTP pool: 127.0.0.3 gets a
//     prompt 503 from HTTP and still a 220 from SMTP;
//  3. they fill the SMTP pool too: every door answers 421 4.3.2 at once,
//     and the server still has descriptors left (its reserve);
//  4. the HTTP flooders of step 2 leave: the pages and the API answer
//     while the SMTP doors are full.
//
// Bounded: in steps 2 and 3 each address stops after a few refusals in a
// row, and the flood after twice the descriptor limit in tries per kind;
// a try that gets no answer ends its step.
func TestLoadDescriptorFlood(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("PORTLAB_BENCH not set (make bench runs this)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux, where every 127.0.0.0/8 address reaches loopback")
	}
	nofile := 1024
	if v := os.Getenv("PORTLAB_BENCH_NOFILE"); v != "" {
		var err error
		if nofile, err = strconv.Atoi(v); err != nil {
			t.Fatalf("PORTLAB_BENCH_NOFILE=%q", v)
		}
	}
	srv := startLimited(t, portlabBin(t), nofile)
	t.Logf("portlab serve under ulimit -n %d: %s", nofile, srv.limits)
	smtpAddrs := []string{srv.smtp[25], srv.smtp[587], srv.smtp[2525]}

	// 1. One address.
	one := &flooder{web: srv.web}
	httpOne := one.flood("127.0.0.2", one.http, nofile, nofile)
	smtpOne := one.flood("127.0.0.2", one.smtp(smtpAddrs), nofile, nofile)
	t.Logf("127.0.0.2 alone: HTTP %v; SMTP %v; server descriptors open: %d of %d", httpOne, smtpOne, srv.fds(), nofile)
	if httpOne.n[held] == 0 || httpOne.n[perClient] == 0 || smtpOne.n[held] == 0 || smtpOne.n[perClient] == 0 {
		t.Errorf("127.0.0.2 was not held to its per-address caps: HTTP %v, SMTP %v", httpOne, smtpOne)
	}
	srv.expectHTTP(t, "/", 200)
	srv.expectHTTP(t, "/api/profiles", 200)
	srv.expectSMTP(t, 25, "220 ")
	srv.expectSMTP(t, 587, "220 ")

	// 2. Many addresses fill the HTTP pool.
	webFlood := &flooder{web: srv.web}
	httpMany := webFlood.floodMany(webFlood.http, 10, 2*nofile)
	t.Logf("127.0.0.10 on, HTTP: %v; server descriptors open: %d of %d", httpMany, srv.fds(), nofile)
	if httpMany.n[overall] == 0 {
		t.Errorf("the HTTP pool never filled: %v", httpMany)
	}
	srv.expectHTTP(t, "/", 503)
	srv.expectSMTP(t, 25, "220 ")
	srv.expectSMTP(t, 587, "220 ")

	// 3. And the SMTP pool.
	mailFlood := &flooder{web: srv.web}
	smtpMany := mailFlood.floodMany(mailFlood.smtp(smtpAddrs), 10+len(httpMany.addrs), 2*nofile)
	t.Logf("127.0.0.%d on, SMTP: %v; server descriptors open: %d of %d", 10+len(httpMany.addrs), smtpMany, srv.fds(), nofile)
	if smtpMany.n[overall] == 0 {
		t.Errorf("the SMTP pool never filled: %v", smtpMany)
	}
	srv.expectSMTP(t, 25, "421 4.3.2 ")
	srv.expectSMTP(t, 587, "421 4.3.2 ")
	srv.expectHTTP(t, "/", 503)

	// 4. The HTTP flooders leave; the SMTP doors stay full.
	webFlood.close()
	srv.awaitHTTP(t, "/", 200)
	srv.expectHTTP(t, "/api/profiles", 200)
	srv.expectSMTP(t, 25, "421 4.3.2 ")
	mailFlood.close()
	srv.awaitSMTP(t, 587, "220 ")
	one.close()

	if n := srv.stderrCount("too many open files"); n > 0 {
		t.Errorf("the server ran out of descriptors %d times", n)
	}
}

// limitedServer is `portlab serve` running as a child.
type limitedServer struct {
	pid    int
	web    string         // host:port of the pages
	smtp   map[int]string // lesson port -> real address
	limits string         // the start-up line on limits, if any
	stderr *lockedBuffer
}

// startLimited runs bin serve with its open-file limit (soft and hard) set
// to nofile, on free loopback ports.
func startLimited(t *testing.T, bin string, nofile int) *limitedServer {
	t.Helper()
	cmd := exec.Command("sh", "-c", `ulimit -n "$1" && exec "$0" serve --http 127.0.0.1:0 --port-offset -1 --data "$2"`,
		bin, strconv.Itoa(nofile), t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &limitedServer{smtp: map[int]string{}, stderr: &lockedBuffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("server's stderr (last 2 KiB):\n%s", s.stderr.tail(2048))
		}
	})
	s.pid = cmd.Process.Pid
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "web: "):
			s.web = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(line, "web: "), "http://"), "/")
		case strings.HasPrefix(line, "limits: "):
			s.limits = line
		case len(f) > 2 && strings.HasPrefix(f[0], "127.0.0.1:"):
			if p, err := strconv.Atoi(f[1]); err == nil {
				s.smtp[p] = f[0]
			}
		}
		if strings.HasPrefix(line, "Demo account") {
			break
		}
	}
	go io.Copy(io.Discard, out)
	if s.web == "" || s.smtp[25] == "" || s.smtp[587] == "" || s.smtp[2525] == "" {
		t.Fatalf("portlab serve did not start: web %q, smtp %v\n%s", s.web, s.smtp, s.stderr.tail(2048))
	}
	return s
}

// fds is how many descriptors the server holds open.
func (s *limitedServer) fds() int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid))
	return len(ents)
}

func (s *limitedServer) stderrCount(sub string) int {
	return strings.Count(s.stderr.String(), sub)
}

// The second address's checks: each on a new connection from 127.0.0.3,
// answered within a few seconds.
var observer = &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}, Timeout: 5 * time.Second}

func (s *limitedServer) get(path string) (int, time.Duration, error) {
	c := &http.Client{Transport: &http.Transport{DialContext: observer.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	t0 := time.Now()
	resp, err := c.Get("http://" + s.web + path)
	if err != nil {
		return 0, time.Since(t0), err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0), nil
}

func (s *limitedServer) expectHTTP(t *testing.T, path string, want int) {
	t.Helper()
	code, d, err := s.get(path)
	if err != nil || code != want {
		t.Errorf("127.0.0.3 GET %s: %d %v after %v, want %d", path, code, err, d.Round(time.Microsecond), want)
		return
	}
	t.Logf("127.0.0.3 GET %s: %d in %v", path, code, d.Round(time.Microsecond))
}

// awaitHTTP retries until the answer is want: the server notices closed
// connections asynchronously. Each try is answered at once.
func (s *limitedServer) awaitHTTP(t *testing.T, path string, want int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; {
		code, d, err := s.get(path)
		if err == nil && code == want {
			t.Logf("127.0.0.3 GET %s: %d in %v", path, code, d.Round(time.Microsecond))
			return
		}
		if time.Now().After(end) {
			t.Errorf("127.0.0.3 GET %s: %d %v, want %d", path, code, err, want)
			return
		}
	}
}

func (s *limitedServer) greeting(port int) (string, time.Duration, error) {
	t0 := time.Now()
	c, err := observer.Dial("tcp", s.smtp[port])
	if err != nil {
		return "", time.Since(t0), err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	d := time.Since(t0)
	io.WriteString(c, "QUIT\r\n")
	return line, d, err
}

func (s *limitedServer) expectSMTP(t *testing.T, port int, want string) {
	t.Helper()
	line, d, err := s.greeting(port)
	if err != nil || !strings.HasPrefix(line, want) {
		t.Errorf("127.0.0.3 SMTP %d: %q %v after %v, want %q", port, line, err, d.Round(time.Microsecond), want)
		return
	}
	t.Logf("127.0.0.3 SMTP %d: %q in %v", port, strings.TrimSpace(line), d.Round(time.Microsecond))
}

func (s *limitedServer) awaitSMTP(t *testing.T, port int, want string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; {
		line, d, err := s.greeting(port)
		if err == nil && strings.HasPrefix(line, want) {
			t.Logf("127.0.0.3 SMTP %d: %q in %v", port, strings.TrimSpace(line), d.Round(time.Microsecond))
			return
		}
		if time.Now().After(end) {
			t.Errorf("127.0.0.3 SMTP %d: %q %v, want %q", port, line, err, want)
			return
		}
	}
}

// outcome is what one flood connection got.
type outcome int

const (
	held      outcome = iota // served, and kept open idle
	perClient                // refused: too many from this address
	overall                  // refused: the server's pool is full
	reset                    // closed without an answer
	silent                   // no answer within the deadline
	other                    // any other answer
)

// tally counts outcomes, and the addresses used.
type tally struct {
	n     [other + 1]int
	addrs []string
}

func (t *tally) add(o outcome) { t.n[o]++ }

func (t tally) String() string {
	return fmt.Sprintf("%d held, %d refused per address, %d refused overall, %d reset, %d silent, %d other (%d address(es))",
		t.n[held], t.n[perClient], t.n[overall], t.n[reset], t.n[silent], t.n[other], max(len(t.addrs), 1))
}

// flooder opens connections and holds those served.
type flooder struct {
	web  string
	mu   sync.Mutex
	held []net.Conn
	next int // round-robin over SMTP doors
}

const floodDeadline = 2 * time.Second

func (f *flooder) dial(from, to string) (net.Conn, outcome) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: floodDeadline}
	c, err := d.Dial("tcp", to)
	if err != nil {
		return nil, failure(err)
	}
	c.SetDeadline(time.Now().Add(floodDeadline))
	return c, held
}

func failure(err error) outcome {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return silent
	}
	return reset
}

func (f *flooder) keep(c net.Conn) outcome {
	c.SetDeadline(time.Time{})
	f.mu.Lock()
	f.held = append(f.held, c)
	f.mu.Unlock()
	return held
}

// http opens one keep-alive connection and sends one request on it, so
// that the server has accepted and counted it; then it stays idle.
func (f *flooder) http(from string) outcome {
	c, o := f.dial(from, f.web)
	if c == nil {
		return o
	}
	io.WriteString(c, "GET /api/profiles HTTP/1.1\r\nHost: "+f.web+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return failure(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return f.keep(c)
	case resp.StatusCode == http.StatusServiceUnavailable && bytes.Contains(body, []byte("your address")):
		o = perClient
	case resp.StatusCode == http.StatusServiceUnavailable:
		o = overall
	default:
		o = other
	}
	c.Close()
	return o
}

// smtp opens one connection to the doors in turn and reads the greeting.
func (f *flooder) smtp(doors []string) func(string) outcome {
	return func(from string) outcome {
		f.next++
		c, o := f.dial(from, doors[f.next%len(doors)])
		if c == nil {
			return o
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		switch {
		case err != nil:
			o = failure(err)
		case strings.HasPrefix(line, "220 "):
			return f.keep(c)
		case strings.HasPrefix(line, "421 4.7.0 "):
			o = perClient
		case strings.HasPrefix(line, "421 4.3.2 "):
			o = overall
		default:
			o = other
		}
		c.Close()
		return o
	}
}

// flood opens connections from one address until it is refused patience
// times in a row, the server stops answering, or after limit tries.
func (f *flooder) flood(from string, open func(string) outcome, limit, patience int) tally {
	var t tally
	for refusals := 0; refusals < patience && limit > 0; limit-- {
		o := open(from)
		t.add(o)
		if o == held {
			refusals = 0
			continue
		}
		refusals++
		if o == silent || o == overall {
			break
		}
	}
	return t
}

// floodMany floods from 127.0.0.first, then the next address, until the
// server's pool is full, it stops answering, or after limit tries.
func (f *flooder) floodMany(open func(string) outcome, first, limit int) tally {
	var all tally
	for i := first; i < 255 && limit > 0; i++ {
		from := "127.0.0." + strconv.Itoa(i)
		t := f.flood(from, open, limit, 8)
		all.addrs = append(all.addrs, from)
		tries := 0
		for o, n := range t.n {
			all.n[o] += n
			tries += n
		}
		limit -= tries
		if t.n[overall] > 0 || t.n[silent] > 0 {
			break
		}
	}
	return all
}

func (f *flooder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.held {
		c.Close()
	}
	f.held = nil
}

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *lockedBuffer) tail(n int) string {
	s := b.String()
	return s[max(0, len(s)-n):]
}
