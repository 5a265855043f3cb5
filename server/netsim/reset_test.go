package netsim

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
)

// TestResetAfter counts both directions: 8 bytes up, then the server's
// reply is cut after the 2 bytes left of 10, and the connection is reset.
func TestResetAfter(t *testing.T) {
	server, c := net.Pipe()
	defer server.Close()
	client := ResetAfter(c, 10)
	defer client.Close()
	got := make(chan string)
	go func() {
		buf := make([]byte, 8)
		io.ReadFull(server, buf)
		got <- string(buf)
		n, err := io.WriteString(server, "250 ok\r\n")
		got <- strings.Repeat("w", n)
		if err == nil {
			t.Error("the server's write went through a reset connection")
		}
		_, err = server.Read(buf)
		if err != io.EOF {
			t.Errorf("the server reads %v after the reset, want EOF", err)
		}
		close(got)
	}()
	if n, err := io.WriteString(client, "EHLO x\r\n"); n != 8 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if s := <-got; s != "EHLO x\r\n" {
		t.Fatalf("server read %q", s)
	}
	b, err := io.ReadAll(client)
	if string(b) != "25" || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read %q, %v; want exactly \"25\", then connection reset", b, err)
	}
	if s := <-got; s != "ww" {
		t.Errorf("the server's write passed %d bytes, want 2", len(s))
	}
	<-got
	if _, err := client.Write([]byte("QUIT\r\n")); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("Write after the reset = %v, want connection reset", err)
	}
}

// TestResetAfterWrite cuts a write that crosses the count: exactly the
// bytes that fit arrive, the writer learns of the reset.
func TestResetAfterWrite(t *testing.T) {
	server, c := net.Pipe()
	defer server.Close()
	client := ResetAfter(c, 2048)
	defer client.Close()
	arrived := make(chan int)
	go func() {
		b, _ := io.ReadAll(server)
		arrived <- len(b)
	}()
	n, err := client.Write(make([]byte, 5000))
	if n != 2048 || !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("Write = %d, %v; want 2048, connection reset", n, err)
	}
	if got := <-arrived; got != 2048 {
		t.Errorf("the server got %d bytes, want 2048", got)
	}
}

func TestResetAfterDirective(t *testing.T) {
	s, err := Parse("t", strings.NewReader("profile flaky\n  reset-after 2048 port 25 because the link drops long transfers\n  refuse port 587\n  reset-after 10 port 587\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustProfile(t, s, "flaky")
	v := p.decide("mx.sandbox.test", 25)
	if len(v.Effects) != 1 || v.Effects[0].(*ResetRule).Bytes != 2048 {
		t.Errorf("effects = %v, want one reset after 2048 bytes", v.Effects)
	}
	if want := "flaky: nothing on this network blocks port 25; port 25 is reset after 2048 bytes (the link drops long transfers)"; v.Rule != want {
		t.Errorf("Rule = %q, want %q", v.Rule, want)
	}
	if v := p.decide("mx.sandbox.test", 587); len(v.Effects) != 0 || strings.Contains(v.Rule, "reset") {
		t.Errorf("a refused connection carries %v (%s), want no reset", v.Effects, v.Rule)
	}
	for _, bad := range []string{"reset-after\n", "reset-after 0\n", "reset-after 2k\n", "reset-after 99999999999\n"} {
		if _, err := Parse("t", strings.NewReader("profile a\n "+bad)); err == nil || !strings.Contains(err.Error(), "reset-after") {
			t.Errorf("%q: error %v, want one about reset-after", bad, err)
		}
	}
}
