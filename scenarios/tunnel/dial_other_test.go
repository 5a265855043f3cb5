//go:build !(js && wasm)

package tunnel

import (
	"errors"
	"testing"

	"github.com/coder/websocket"
)

// TestCloseErrorFromWebsocket: a close frame as coder/websocket reports
// it, wrapped, becomes the *CloseError with the frame's code and reason.
func TestCloseErrorFromWebsocket(t *testing.T) {
	for _, tt := range closeErrorTests {
		raw := &wrapped{websocket.CloseError{Code: websocket.StatusCode(tt.code), Reason: tt.reason}}
		err := closeError(raw)
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != tt.code || ce.Reason != tt.reason {
			t.Errorf("%d: got %#v", tt.code, err)
			continue
		}
		if err.Error() != tt.text {
			t.Errorf("%d: Error() = %q, want %q", tt.code, err.Error(), tt.text)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("%d: not errors.Is %v", tt.code, tt.is)
		}
	}
	other := errors.New("boom")
	if closeError(other) != other {
		t.Error("closeError changed an error without a close frame")
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "failed to get reader: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
