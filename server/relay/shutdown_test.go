package relay

import (
	"context"
	"io"
	"testing"
	"time"
)

// Shutdown answers a session waiting for a command with RFC 5321 §3.8's
// 421 at once, lets a message being received finish (its 250 means it is
// stored), gives that session the 421 at its next command, and returns
// when both sessions are over.
func TestShutdownSays421AndKeepsAcceptedMail(t *testing.T) {
	sb := newSandbox(t, "")
	idle := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: "l"})
	idle.run(sb, "!greeting\nEHLO idle.example")
	busy := pipe(t, sb, Door{Host: "mx.sandbox.test", Port: 25}, Meta{Lab: "l"})
	busy.run(sb, "!greeting\nEHLO busy.example\nMAIL FROM:<a@example.org>\nRCPT TO:<b@sandbox.test>\nDATA")
	io.WriteString(busy.conn, "Subject: half way\r\n\r\nthe first half\r\n")

	done := make(chan error, 1)
	go func() { done <- sb.r.Shutdown(context.Background()) }()

	if got := idle.reply(); got != "421 4.3.2 mx.sandbox.test Service shutting down" {
		t.Fatalf("a session between commands got %q", got)
	}
	io.WriteString(busy.conn, "and the second half\r\n.\r\n")
	if got := busy.reply(); len(got) < 3 || got[:3] != "250" {
		t.Fatalf("the message in DATA got %q, want 250", got)
	}
	if box := sb.store.List("l"); len(box) != 1 || box[0].Subject != "half way" {
		t.Fatalf("after its 250 the mailbox holds %d messages", len(box))
	}
	if got := busy.reply(); got != "421 4.3.2 mx.sandbox.test Service shutting down" {
		t.Fatalf("after its 250 the session got %q", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the sessions ended")
	}
}
