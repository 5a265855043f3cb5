package httpguard

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// serve starts h behind the guard's listener and server on loopback.
func serve(t testing.TB, h http.Handler, l Limits, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, to, nil)
	go srv.Serve(Listen(ln, l))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// dialFrom opens a TCP connection from a given loopback address (all of
// 127.0.0.0/8 reaches loopback on Linux).
func dialFrom(t testing.TB, from, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// get sends one keep-alive GET on c and returns the status line.
func get(t testing.TB, c net.Conn, br *bufio.Reader, path string) string {
	t.Helper()
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Status
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })

// One address holding idle keep-alive connections up to its cap gets 503
// for the next; another address is still served; the overall cap holds
// too.
func TestConnectionCaps(t *testing.T) {
	addr := serve(t, ok, Limits{PerClient: 4, Total: 6}, DefaultTimeouts)
	for range 4 {
		c := dialFrom(t, "127.0.0.2", addr)
		// A request answered means the server has accepted (and counted)
		// the connection, which then stays idle.
		if s := get(t, c, bufio.NewReader(c), "/"); s != "200 OK" {
			t.Fatalf("idle connection: %s", s)
		}
	}
	over := dialFrom(t, "127.0.0.2", addr)
	if s := get(t, over, bufio.NewReader(over), "/"); s != "503 Service Unavailable" {
		t.Errorf("over the per-address cap: %s", s)
	}
	if _, err := over.Read(make([]byte, 1)); err == nil {
		t.Error("the refused connection stays open")
	}
	other := dialFrom(t, "127.0.0.3", addr)
	br := bufio.NewReader(other)
	if s := get(t, other, br, "/"); s != "200 OK" {
		t.Errorf("another address: %s", s)
	}
	c6 := dialFrom(t, "127.0.0.4", addr)
	if s := get(t, c6, bufio.NewReader(c6), "/"); s != "200 OK" {
		t.Errorf("sixth connection: %s", s)
	}
	full := dialFrom(t, "127.0.0.5", addr)
	if s := get(t, full, bufio.NewReader(full), "/"); s != "503 Service Unavailable" {
		t.Errorf("over the overall cap: %s", s)
	}
	// A closed connection gives its slot back.
	other.Close()
	for {
		again := dialFrom(t, "127.0.0.5", addr)
		if s := get(t, again, bufio.NewReader(again), "/"); s == "200 OK" {
			break
		}
		// The server notices the close asynchronously; each refused try
		// is answered at once, so this loop ends within the deadline.
	}
}

// An idle keep-alive connection and a request whose body never ends are
// both let go.
func TestTimeouts(t *testing.T) {
	to := Timeouts{ReadHeader: 100 * time.Millisecond, Read: 100 * time.Millisecond, Write: time.Second, Idle: 100 * time.Millisecond}
	bodyErr := make(chan error, 1)
	body := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, err := io.ReadAll(r.Body)
			bodyErr <- err
		}
	})
	addr := serve(t, body, Limits{}, to)
	idle := dialFrom(t, "127.0.0.2", addr)
	br := bufio.NewReader(idle)
	if s := get(t, idle, br, "/"); s != "200 OK" {
		t.Fatal(s)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want closed by the server", err)
	}
	slow := dialFrom(t, "127.0.0.2", addr)
	io.WriteString(slow, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\npart")
	if err := <-bodyErr; err == nil {
		t.Error("a body that never ends was read to its end")
	}
	io.ReadAll(slow) // ends: the server closed the connection
}
