package relay

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portlab/portlab/server/events"
)

// The outcomes of a message body under the one line rule (wire.go).
const (
	bodyOpen   = iota // no final dot yet: nothing may be stored
	bodyEnded         // CRLF.CRLF came first: the message is stored
	bodyBareLF        // a bare LF came first: 550, the session ends
)

// dataModel is the rule written plainly: lines end with LF; a line whose
// LF has no CR before it is refused; ".\r\n" ends the message; a line over
// 1,000 octets spoils the message; a leading dot is removed. It returns
// the outcome, the body to store and how much of in was used.
func dataModel(in []byte) (outcome int, body []byte, tooLong bool, used int) {
	for used < len(in) {
		i := bytes.IndexByte(in[used:], '\n')
		if i < 0 {
			return bodyOpen, nil, false, len(in)
		}
		line := in[used : used+i+1]
		used += i + 1
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return bodyBareLF, nil, false, used
		}
		if string(line) == ".\r\n" {
			return bodyEnded, body, tooLong, used
		}
		if len(line) > 1000 {
			tooLong = true
			continue
		}
		body = append(body, bytes.TrimPrefix(line, []byte("."))...)
	}
	return bodyOpen, nil, false, used
}

// FuzzDataReader sends any bytes as a message body and checks the relay
// against dataModel: a message is stored only when its body ended with
// CRLF.CRLF, and stored as sent; after a bare-LF refusal nothing more is
// answered (nothing was run as a command); the session never hangs.
func FuzzDataReader(f *testing.F) {
	for _, seed := range []string{
		"Subject: x\r\n\r\nhello\r\n.\r\n",
		"hello\r\n.\n", // openssl s_client without -crlf
		"body\n.\nMAIL FROM:<x@example.org>\r\nRCPT TO:<b@sandbox.test>\r\nDATA\r\nx\r\n.\r\n",
		"body\n.\r\nQUIT\r\n",
		"body\r\n.\nQUIT\r\n",
		"..leading dot\r\n.\r\n",
		".\r\r\n.\r\n",
		"a\r\r\n.\r\nNOOP\r\n",
		"\r\n.\r\n",
		"no end\r\n",
		strings.Repeat("y", 1200) + "\r\n.\r\n",
		"x\x00y\rz\r\n.\r\n",
	} {
		f.Add([]byte(seed))
	}
	sb := newSandbox(f, "")
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			t.Skip()
		}
		outcome, body, tooLong, used := dataModel(in)
		lab := fmt.Sprintf("fuzz-%d", n.Add(1))
		sub := sb.bus.Subscribe(64, func(e events.Event) bool { return e.Lab == lab && e.Kind == events.Disconnect })
		defer sub.Close()

		cli, srv := net.Pipe()
		defer cli.Close()
		cli.SetDeadline(time.Now().Add(10 * time.Second))
		if err := sb.r.ServeConn(srv, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: lab}); err != nil {
			t.Fatal(err)
		}
		replies, readErr := make(chan []byte), make(chan error, 1)
		go func() {
			b, err := io.ReadAll(cli)
			readErr <- err
			replies <- b
		}()
		io.WriteString(cli, "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@sandbox.test>\r\nDATA\r\n")
		cli.Write(in[:used])
		if outcome == bodyOpen {
			cli.Close() // the client goes away before the final dot
		} else {
			io.WriteString(cli, "QUIT\r\n")
		}
		out := string(<-replies)
		if err := <-readErr; isTimeout(err) {
			t.Fatalf("the session hung; replies:\n%s", out)
		}
		select {
		case <-sub.C:
		case <-time.After(10 * time.Second):
			t.Fatalf("the session did not end; replies:\n%s", out)
		}

		stored := sb.store.List(lab)
		switch {
		case outcome == bodyBareLF:
			if !strings.HasSuffix(out, "\r\n550 5.5.2 mx.sandbox.test Error: bare <LF> received\r\n") {
				t.Fatalf("bare LF: the session did not end at the refusal:\n%s", out)
			}
		case outcome == bodyEnded && tooLong:
			if !strings.Contains(out, "\r\n500 5.5.2 Error: message line too long") {
				t.Fatalf("long line not refused:\n%s", out)
			}
		case outcome == bodyEnded:
			if len(stored) != 1 {
				t.Fatalf("%d messages stored, want 1:\n%s", len(stored), out)
			}
			m := stored[0]
			if got, want := m.Raw, append(received(m, "mx.sandbox.test"), body...); !bytes.Equal(got, want) {
				t.Fatalf("stored\n%q\nwant\n%q", got, want)
			}
			return
		}
		if len(stored) != 0 {
			t.Fatalf("stored %q though the body never ended with CRLF.CRLF:\n%s", stored[0].Raw, out)
		}
	})
}
