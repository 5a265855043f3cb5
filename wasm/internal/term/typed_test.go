package term

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/lesson"
)

// TestTypedAuthPlainAfterStartTLS is the playground typing what a lesson
// accepts: "auth plain foo barbaz" builds the base64 and gets 235 after
// STARTTLS (it used to go out raw and get 501).
func TestTypedAuthPlainAfterStartTLS(t *testing.T) {
	term, ui := newFakeMTATerminal(t)
	for _, line := range []string{"open smtp.relay.test 587", "EHLO student.example", "starttls", "EHLO student.example", "auth plain foo barbaz"} {
		term.Input(line)
		if line == "open smtp.relay.test 587" {
			ui.waitFor(t, "the greeting", func(r *recorder) bool { return r.ports[587] == PortOpen })
		}
	}
	ui.waitFor(t, "235", func(r *recorder) bool { return r.has("<~", "235 2.7.0") && r.ports[587] == PortAuthOK })
	term.Close()
	ui.mu.Lock()
	defer ui.mu.Unlock()
	if !ui.has("~>", "AUTH PLAIN AGZvbwBiYXJiYXo=") {
		t.Errorf("no AUTH PLAIN with base64:\n%s", ui.transcript())
	}
	if ui.ports[587] != PortAuthOK {
		t.Errorf("port 587 %q, want auth-ok", ui.ports[587])
	}
}

// wire is what a fake door saw of one connection: the door dialled, whether
// the client opened with a TLS ClientHello, and the command lines.
type wire struct {
	host  string
	port  int
	tls   bool
	lines []string
}

// door records connections. It greets at once (the bytes wait in the
// kernel's buffer), so that a client that starts TLS shows it by sending a
// ClientHello before reading anything. Plain clients get "250 ok" to
// every line, 235 to AUTH.
type door struct {
	t  *testing.T
	mu sync.Mutex
	ws []*wire
	ln net.Listener
	wg sync.WaitGroup
}

func newDoor(t *testing.T) *door {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &door{t: t, ln: ln}
	t.Cleanup(func() { ln.Close(); d.wg.Wait() })
	return d
}

func (d *door) dial(ctx context.Context, host string, port int) (net.Conn, error) {
	w := &wire{host: host, port: port}
	d.mu.Lock()
	d.ws = append(d.ws, w)
	d.mu.Unlock()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", d.ln.Addr().String())
	if err != nil {
		return nil, err
	}
	s, err := d.ln.Accept()
	if err != nil {
		c.Close()
		return nil, err
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer s.Close()
		s.Write([]byte("220 door ESMTP\r\n"))
		r := bufio.NewReader(s)
		first, err := r.Peek(1)
		if err != nil {
			return
		}
		if first[0] == 0x16 { // a TLS handshake record (RFC 8446 §5.1)
			d.mu.Lock()
			w.tls = true
			d.mu.Unlock()
			return
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			d.mu.Lock()
			w.lines = append(w.lines, line)
			d.mu.Unlock()
			if strings.HasPrefix(strings.ToUpper(line), "AUTH") {
				s.Write([]byte("235 2.7.0 Authentication successful\r\n"))
			} else {
				s.Write([]byte("250 ok\r\n"))
			}
		}
	}()
	return c, nil
}

// wires waits for every connection to end (both clients have closed
// theirs), so that what a connection began with has been seen, then
// returns what each carried.
func (d *door) wires() []wire {
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []wire
	for _, w := range d.ws {
		out = append(out, wire{w.host, w.port, w.tls, append([]string(nil), w.lines...)})
	}
	return out
}

// engineDialer lets the lesson engine dial the door.
type engineDialer struct{ d *door }

func (e engineDialer) Dial(ctx context.Context, t scenarios.Target) (net.Conn, error) {
	return e.d.dial(ctx, t.Host, t.Port)
}

type typedLines []string

func (l typedLines) Typed(_ context.Context, st *lesson.Step, attempt int) (string, error) {
	if attempt > 1 {
		return "", context.Canceled
	}
	var i int
	for i = range l {
		if st.ID == "s"+string(rune('0'+i)) {
			break
		}
	}
	return l[i], nil
}

// TestTypedGrammarSameInTerminalAndLesson types each form into the
// playground terminal and at a lesson's typed step, and checks that both
// do the same on the wire: the same door, TLS at once or not, the same
// command lines.
func TestTypedGrammarSameInTerminalAndLesson(t *testing.T) {
	for _, tt := range []struct {
		lines []string
		want  wire
	}{
		{[]string{"open legacy.mail.test 465"}, wire{host: "legacy.mail.test", port: 465, tls: true}},
		{[]string{"OPEN Legacy.Mail.Test:465"}, wire{host: "legacy.mail.test", port: 465, tls: true}},
		{[]string{"open legacy.mail.test 465 plain"}, wire{host: "legacy.mail.test", port: 465}},
		{[]string{"open smtp.relay.test 2525 tls"}, wire{host: "smtp.relay.test", port: 2525, tls: true}},
		{[]string{"telnet legacy.mail.test 465"}, wire{host: "legacy.mail.test", port: 465}},
		{[]string{"nc mx.sandbox.test 25"}, wire{host: "mx.sandbox.test", port: 25}},
		{[]string{"connect legacy.mail.test:465"}, wire{host: "legacy.mail.test", port: 465}},
		{[]string{"connect legacy.mail.test 465 tls"}, wire{host: "legacy.mail.test", port: 465, tls: true}},
		{[]string{"open smtp.relay.test 587", "auth plain foo barbaz"}, wire{host: "smtp.relay.test", port: 587, lines: []string{"AUTH PLAIN AGZvbwBiYXJiYXo="}}},
		{[]string{"open smtp.relay.test 587", "AUTH PLAIN AGZvbwBiYXJiYXo="}, wire{host: "smtp.relay.test", port: 587, lines: []string{"AUTH PLAIN AGZvbwBiYXJiYXo="}}},
		{[]string{"telnet smtp.relay.test 587", "ehlo laptop.example"}, wire{host: "smtp.relay.test", port: 587, lines: []string{"ehlo laptop.example"}}},
	} {
		t.Run(strings.Join(tt.lines, " / "), func(t *testing.T) {
			// In the terminal.
			term0 := newDoor(t)
			ui := newRecorder()
			term := New(Config{UI: ui, Dial: term0.dial, GreetingWait: time.Hour})
			term.Input(tt.lines[0])
			ui.waitFor(t, "the connection", func(r *recorder) bool {
				return r.ports[tt.want.port] == PortOpen || r.last() == Closed
			})
			for _, l := range tt.lines[1:] {
				term.Input(l)
			}
			if len(tt.lines) > 1 {
				ui.waitFor(t, "the reply", func(r *recorder) bool {
					n := 0
					for _, d := range r.lines {
						if d.Mark == "<-" {
							n++
						}
					}
					return n == len(tt.lines)
				})
			}
			term.Close()

			// At a lesson's typed steps (accept anything).
			lesson0 := newDoor(t)
			l := &lesson.Lesson{Name: "typed", Profile: "datacenter"}
			for i := range tt.lines {
				l.Steps = append(l.Steps, &lesson.Step{ID: "s" + string(rune('0'+i)), Mode: lesson.Typed, Accept: "*", Action: lesson.Action{Kind: lesson.Send, Command: "NOOP"}})
			}
			e := &scenarios.Engine{Dialer: engineDialer{lesson0}, Input: typedLines(tt.lines), ReplyTimeout: 5 * time.Second, DialTimeout: 5 * time.Second}
			e.Run(context.Background(), l) // a TLS client fails its handshake with the door: only the wire matters
			got := []wire{term0.wires()[0], lesson0.wires()[0]}
			for i, who := range []string{"terminal", "lesson"} {
				w := got[i]
				if w.host != tt.want.host || w.port != tt.want.port || w.tls != tt.want.tls || strings.Join(w.lines, "|") != strings.Join(tt.want.lines, "|") {
					t.Errorf("%s: %+v, want %+v", who, w, tt.want)
				}
			}
		})
	}
}
