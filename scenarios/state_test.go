package scenarios

import (
	"context"
	"fmt"
	"testing"

	"github.com/portlab/portlab/scenarios/tunnel"
)

// Both refusals read "Connection refused", as telnet prints them, but
// the sandbox tells who refused.
func TestRefusedBy(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want Refuser
		note string
	}{
		{&tunnel.CloseError{Code: tunnel.CodeRefused, Reason: "home-isp refuses port 25"}, RefusedByNetwork, "telnet: Unable to connect to remote host: Connection refused"},
		{fmt.Errorf("dial: %w", &tunnel.CloseError{Code: tunnel.CodeNoDoor}), RefusedByHost, "telnet: Unable to connect to remote host: Connection refused"},
		{tunnel.ErrRefused, RefusedByNetwork, "telnet: Unable to connect to remote host: Connection refused"},
		{&tunnel.CloseError{Code: tunnel.CodeTimedOut}, NotRefused, "telnet: Unable to connect to remote host: Connection timed out"},
		{context.DeadlineExceeded, NotRefused, "telnet: Unable to connect to remote host: Connection timed out"},
		{nil, NotRefused, ""},
	} {
		if got := RefusedBy(tt.err); got != tt.want {
			t.Errorf("RefusedBy(%v) = %v, want %v", tt.err, got, tt.want)
		}
		if tt.err == nil {
			continue
		}
		if got := (StateChange{State: DialState(tt.err), Err: tt.err}).Note(); got != tt.note {
			t.Errorf("note for %v = %q, want %q", tt.err, got, tt.note)
		}
	}
}
