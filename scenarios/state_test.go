package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portlab/portlab/internal/i18n/locales"
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

// A server that shuts down closes the tunnel with 1001; the page words
// it, whatever reason the gateway sent.
func TestGoingAwayNote(t *testing.T) {
	err := &tunnel.CloseError{Code: tunnel.CodeGoingAway, Reason: "anything"}
	got := (StateChange{State: StateClosed, ByPeer: true, Err: err}).Note()
	if want := "Connection closed by foreign host: the sandbox server is shutting down; wait a moment and connect again"; got != want {
		t.Errorf("note = %q, want %q", got, want)
	}
}

// On a German page, telnet's words stay telnet's, and portlab's sentence
// for each gateway close code is German; before, it was English on every
// page.
func TestCloseNoteInLanguage(t *testing.T) {
	de := locales.Catalog("de")
	for code := range closeWords {
		err := &tunnel.CloseError{Code: code}
		en := StateChange{State: StateClosed, ByPeer: true, Err: err}.Note()
		got := StateChange{State: StateClosed, ByPeer: true, Err: err}.NoteIn(de)
		prefix := "Connection closed by foreign host: "
		if !strings.HasPrefix(got, prefix) || got == en || strings.Contains(got, "tunnel.") {
			t.Errorf("code %d in German: %q (English %q)", code, got, en)
		}
	}
	err := &tunnel.CloseError{Code: tunnel.CodeNoSuchLab}
	if got, want := (StateChange{State: StateClosed, ByPeer: true, Err: err}).NoteIn(de), "Connection closed by foreign host: dieses Labor ist abgelaufen; lade die Seite neu, um ein neues zu bekommen"; got != want {
		t.Errorf("no such lab in German: %q, want %q", got, want)
	}
}
