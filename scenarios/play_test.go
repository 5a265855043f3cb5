package scenarios

import "testing"

func TestNewMessagesCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 new messages", 1: "1 new message", 2: "2 new messages"} {
		if got := newMessages(n); got != want {
			t.Errorf("newMessages(%d) = %q, want %q", n, got, want)
		}
	}
}
