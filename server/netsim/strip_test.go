package netsim

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

const ehloReply = "250-mx.sandbox.test Hello client.example\r\n" +
	"250-PIPELINING\r\n" +
	"250-SIZE 10240000\r\n" +
	"250-STARTTLS\r\n" +
	"250-ENHANCEDSTATUSCODES\r\n" +
	"250 8BITMIME\r\n"

// readThroughStrip writes chunks from the server end of a pipe, then closes
// it, and returns what the client reads through StripSTARTTLS.
func readThroughStrip(t *testing.T, chunks ...string) string {
	t.Helper()
	server, toServer := net.Pipe()
	client := StripSTARTTLS(toServer)
	defer client.Close()
	go func() {
		defer server.Close()
		for _, c := range chunks {
			if _, err := io.WriteString(server, c); err != nil {
				return
			}
		}
	}()
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return string(got)
}

// writeThroughStrip writes chunks as the client through StripSTARTTLS and
// returns what the server end reads.
func writeThroughStrip(t *testing.T, chunks ...string) string {
	t.Helper()
	server, toServer := net.Pipe()
	client := StripSTARTTLS(toServer)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(server)
		got <- b
	}()
	for _, c := range chunks {
		if n, err := io.WriteString(client, c); err != nil || n != len(c) {
			t.Fatalf("Write(%q) = %d, %v", c, n, err)
		}
	}
	client.Close()
	return string(<-got)
}

func TestStripReplySplits(t *testing.T) {
	want := strings.Replace(ehloReply, "250-STARTTLS", "250-XXXXXXXA", 1)
	synctest.Test(t, func(t *testing.T) {
		if got := readThroughStrip(t, ehloReply); got != want {
			t.Errorf("one write: got %q", got)
		}
		// Every split point, so that "250-STARTTLS\r\n" is cut everywhere,
		// CR and LF included.
		for i := 1; i < len(ehloReply); i++ {
			if got := readThroughStrip(t, ehloReply[:i], ehloReply[i:]); got != want {
				t.Fatalf("split at %d: got %q", i, got)
			}
		}
		var bytewise []string
		for i := range len(ehloReply) {
			bytewise = append(bytewise, ehloReply[i:i+1])
		}
		if got := readThroughStrip(t, bytewise...); got != want {
			t.Errorf("byte by byte: got %q", got)
		}
	})
}

func TestStripReplyLines(t *testing.T) {
	tests := []struct{ in, want string }{
		{"250 STARTTLS\r\n", "250 XXXXXXXA\r\n"},
		{"250-starttls\r\n", "250-XXXXXXXA\r\n"},
		{"250-StartTLS \t\r\n", "250-XXXXXXXA \t\r\n"},
		{"250-STARTTLS\n", "250-XXXXXXXA\n"}, // a bare LF ends a line too
		{"220 mx ESMTP\r\n250-STARTTLS\r\n250-STARTTLS\r\n", "220 mx ESMTP\r\n250-XXXXXXXA\r\n250-XXXXXXXA\r\n"},
		// Not capability lines: left alone.
		{"250-STARTTLSX\r\n", "250-STARTTLSX\r\n"},
		{"250-STARTTLS now\r\n", "250-STARTTLS now\r\n"},
		{"250-STARTTLS\r \n", "250-STARTTLS\r \n"},
		{"251-STARTTLS\r\n", "251-STARTTLS\r\n"},
		{" 250-STARTTLS\r\n", " 250-STARTTLS\r\n"},
		{"220 Ready to start TLS\r\n", "220 Ready to start TLS\r\n"},
		{"250-STARTTLS", "250-STARTTLS"}, // the stream ended before the line did
		{"250-STARTTLS" + strings.Repeat(" ", 1100) + "\r\n", "250-STARTTLS" + strings.Repeat(" ", 1100) + "\r\n"},
	}
	synctest.Test(t, func(t *testing.T) {
		for _, tt := range tests {
			if got := readThroughStrip(t, tt.in); got != tt.want {
				t.Errorf("%.40q: got %.40q, want %.40q", tt.in, got, tt.want)
			}
		}
	})
}

func TestStripCommand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := writeThroughStrip(t, "EHLO client.example\r\nSTAR", "TTLS\r", "\nstarttls\r\nQUIT\r\n")
		if want := "EHLO client.example\r\nXXXXXXXX\r\nXXXXXXXX\r\nQUIT\r\n"; got != want {
			t.Errorf("server read %q, want %q", got, want)
		}
		// Commands that mention STARTTLS but are not it pass unchanged.
		in := "MAIL FROM:<starttls@sandbox.test>\r\nSTARTTLS please\r\nHELP STARTTLS\r\n"
		if got := writeThroughStrip(t, in); got != in {
			t.Errorf("server read %q, want it unchanged", got)
		}
	})
}

// TestStripDeadline checks that a read deadline in the middle of a held
// line loses nothing.
func TestStripDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server, toServer := net.Pipe()
		client := StripSTARTTLS(toServer)
		defer client.Close()
		next := make(chan struct{})
		go func() {
			defer server.Close()
			io.WriteString(server, "250-START")
			<-next
			io.WriteString(server, "TLS\r\n")
		}()
		client.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 64)
		if n, err := client.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %d, %v; want a timeout", n, err)
		}
		close(next)
		client.SetReadDeadline(time.Time{})
		got, err := io.ReadAll(client)
		if err != nil || string(got) != "250-XXXXXXXA\r\n" {
			t.Errorf("after the deadline: %q, %v", got, err)
		}
	})
}

var (
	capabilityLine = regexp.MustCompile(`^250[- ][Ss][Tt][Aa][Rr][Tt][Tt][Ll][Ss][ \t]*\r?$`)
	commandLine    = regexp.MustCompile(`^[Ss][Tt][Aa][Rr][Tt][Tt][Ll][Ss][ \t]*\r?$`)
)

// reference rewrites in with whole lines in hand, the obvious way, for
// comparison with the streaming rewriter.
func reference(in []byte, line *regexp.Regexp, at int, with string) []byte {
	out := bytes.Clone(in)
	start := 0
	for i, b := range in {
		if b != '\n' {
			continue
		}
		if l := in[start:i]; len(l) <= stripMaxLine && line.Match(l) {
			copy(out[start+at:], with)
		}
		start = i + 1
	}
	return out
}

// chunk cuts data into pieces whose sizes come from sizes, so that the
// fuzzer controls where reads and writes split.
func chunk(data, sizes []byte) [][]byte {
	var out [][]byte
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(sizes) > 0 {
			n = min(n, int(sizes[i%len(sizes)])%64+1)
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func FuzzStripSTARTTLS(f *testing.F) {
	f.Add([]byte(ehloReply), []byte{3, 7, 1})
	f.Add([]byte("EHLO a\r\nSTARTTLS\r\nQUIT\r\n"), []byte{5})
	f.Add([]byte("250 starttls \r\n250-STARTTLS\n\n"), []byte{})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		// Server to client, through the real connection.
		server, toServer := net.Pipe()
		client := StripSTARTTLS(toServer)
		go func() {
			defer server.Close()
			for _, c := range chunk(data, sizes) {
				if _, err := server.Write(c); err != nil {
					return
				}
			}
		}()
		got, err := io.ReadAll(client)
		client.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(data) {
			t.Fatalf("read %d bytes, server sent %d", len(got), len(data))
		}
		if want := reference(data, capabilityLine, 4, "XXXXXXXA"); !bytes.Equal(got, want) {
			t.Fatalf("read %q, want %q", got, want)
		}
		for l := range bytes.Lines(got) {
			if body, ok := bytes.CutSuffix(l, []byte("\n")); ok && len(body) <= stripMaxLine && capabilityLine.Match(body) {
				t.Fatalf("STARTTLS capability survived: %q", l)
			}
		}

		// Client to server: the same rewriter as Write uses, in chunks.
		up := lineRewriter{pattern: commandPattern, at: 0, with: "XXXXXXXX"}
		var out []byte
		for _, c := range chunk(data, sizes) {
			out = up.feed(out, c)
		}
		out = up.flush(out)
		if want := reference(data, commandLine, 0, "XXXXXXXX"); !bytes.Equal(out, want) {
			t.Fatalf("wrote %q, want %q", out, want)
		}
	})
}
