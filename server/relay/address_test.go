package relay

import "testing"

// TestCompleteAddress pins which MAIL and RCPT lines the wire completes
// with a domain before go-smtp reads them; the dialogues
// port25-bare-address and port587-bare-address show the replies.
func TestCompleteAddress(t *testing.T) {
	for _, tc := range []struct{ line, want, typed string }{
		{"RCPT TO:bob\r\n", "RCPT TO:<bob@sandbox.test>\r\n", "bob"},
		{"RCPT TO:<bob>\r\n", "RCPT TO:<bob@sandbox.test>\r\n", "bob"},
		{"rcpt to: <b.o-b>\r\n", "rcpt to:<b.o-b@sandbox.test>\r\n", "b.o-b"},
		{"RCPT  TO:bob NOTIFY=NEVER\r\n", "RCPT TO:<bob@sandbox.test> NOTIFY=NEVER\r\n", "bob"},
		{"MAIL FROM:alice SIZE=10\r\n", "MAIL FROM:<alice@sandbox.test> SIZE=10\r\n", "alice"},
		// Left to go-smtp: a domain, nothing, <>, an open bracket, a
		// quoted or malformed local part, another verb.
		{"RCPT TO:bob@x\r\n", "", ""},
		{"RCPT TO:\r\n", "", ""},
		{"MAIL FROM:<>\r\n", "", ""},
		{"RCPT TO:<bob\r\n", "", ""},
		{"RCPT TO:\"bob smith\"\r\n", "", ""},
		{"RCPT TO:bob..x\r\n", "", ""},
		{"RCPT bob\r\n", "", ""},
		{"VRFY bob\r\n", "", ""},
	} {
		_, verb := command([]byte(tc.line))
		got, cmd := completeAddress([]byte(tc.line), verb, "sandbox.test")
		want := tc.want
		if want == "" {
			want = tc.line
		}
		if string(got) != want || cmd.typed != tc.typed {
			t.Errorf("%q: got %q (typed %q), want %q (typed %q)", tc.line, got, cmd.typed, want, tc.typed)
		}
	}
}
