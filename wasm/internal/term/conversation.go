package term

import (
	"context"
	"errors"
	"sync"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/explain"
	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// Conversation follows a client's connections so that each transcript
// line carries what its explanation needs: a reply's last line, with the
// command it answers and the door's role ([explain.Moment]); a failed or
// ended connection's note, with the gateway's close code. The terminal
// keeps one per connection, the lesson player one for the engine's
// connections. It is safe for concurrent use.
type Conversation struct {
	mu     sync.Mutex
	moment explain.Moment
	close  int // the close code for the note that follows a state change
}

// State notes a connection-state change. The engine reports a change and
// then its note, so a refused, dropped or ended connection's close code
// goes on the next note line.
func (cv *Conversation) State(ch scenarios.StateChange) {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if ch.State == Connecting {
		cv.moment.Connect(ch.Target.Port)
	}
	cv.close = CloseCode(ch.Err)
}

// Line is [FromLine] for a line of the conversation, annotated.
func (cv *Conversation) Line(l session.Line) Display {
	d := FromLine(l)
	cv.mu.Lock()
	defer cv.mu.Unlock()
	switch l.Who {
	case session.Client:
		cv.moment.Sent(l.Text)
	case session.Server:
		d.Context, d.Reply = cv.moment.Received(l.Text)
	case session.Note:
		d.Close = cv.close
	}
	cv.close = 0
	return d
}

// CloseCode is the gateway close code behind a dial or connection error
// (scenarios/tunnel/doc.go), or 0 when the error is not the gateway's.
func CloseCode(err error) int {
	var ce *tunnel.CloseError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return int(ce.Code)
	case errors.Is(err, tunnel.ErrRefused):
		return int(tunnel.CodeRefused)
	case errors.Is(err, tunnel.ErrTimedOut), errors.Is(err, context.DeadlineExceeded):
		return int(tunnel.CodeTimedOut)
	case errors.Is(err, tunnel.ErrUnknownHost):
		return int(tunnel.CodeUnknownHost)
	}
	return 0
}
