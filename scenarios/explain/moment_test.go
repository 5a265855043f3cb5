package explain_test

import (
	"testing"

	"github.com/portlab/portlab/scenarios/explain"
)

// A reply is explained in the moment it answers: the greeting, the TLS
// go-ahead, an AUTH challenge's answer, the end of a message.
func TestMomentFollowsTheConversation(t *testing.T) {
	var m explain.Moment
	m.Connect(587)
	type want struct {
		cmd  string
		last bool
	}
	for i, step := range []struct {
		sent, got string
		want      want
	}{
		{"", "220 smtp.relay.test ESMTP", want{"CONNECT", true}},
		{"EHLO x", "250-smtp.relay.test", want{"EHLO", false}},
		{"", "250 STARTTLS", want{"EHLO", true}},
		{"STARTTLS", "220 2.0.0 Ready to start TLS", want{"STARTTLS", true}},
		{"AUTH LOGIN", "334 VXNlcm5hbWU6", want{"AUTH", true}},
		{"Zm9v", "334 UGFzc3dvcmQ6", want{"AUTH", true}},
		{"YmFyYmF6", "235 2.7.0 Authentication successful", want{"AUTH", true}},
		{"DATA", "354 End data with <CR><LF>.<CR><LF>", want{"DATA", true}},
		{"QUIT", "", want{}},
		{".", "250 2.0.0 Ok: queued as 1", want{"DATA", true}},
		{"quit", "221 2.0.0 Bye", want{"QUIT", true}},
	} {
		if step.sent != "" {
			m.Sent(step.sent)
		}
		if step.got == "" {
			continue
		}
		ctx, last := m.Received(step.got)
		if ctx.Command != step.want.cmd || last != step.want.last || ctx.Role != "submission" {
			t.Errorf("step %d, %q: %+v last=%v, want %s last=%v", i, step.got, ctx, last, step.want.cmd, step.want.last)
		}
	}
	m.Connect(25)
	if ctx, _ := m.Received("220 mx.sandbox.test ESMTP"); ctx != (explain.Context{Command: "CONNECT", Role: "relay"}) {
		t.Errorf("port 25 greeting: %+v", ctx)
	}
}
