package scenarios

import (
	"testing"

	"github.com/portlab/portlab/internal/i18n"
)

func TestNewMessagesCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 new messages", 1: "1 new message", 2: "2 new messages"} {
		if got := newMessages(nil, n); got != want {
			t.Errorf("newMessages(%d) = %q, want %q", n, got, want)
		}
	}
}

// The count follows the catalog's language and its plural rules.
func TestNewMessagesCountTranslated(t *testing.T) {
	de, err := i18n.NewCatalog("de", i18n.Messages{
		"engine.new-messages": {Plural: map[string]string{"one": "%d neue Nachricht", "other": "%d neue Nachrichten"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{0: "0 neue Nachrichten", 1: "1 neue Nachricht", 2: "2 neue Nachrichten"} {
		if got := newMessages(de, n); got != want {
			t.Errorf("newMessages(de, %d) = %q, want %q", n, got, want)
		}
	}
}
