package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/i18n/locales"
)

// TestOneWordsHelper: the classroom pages read their words through the
// same t() as the others (common.js): a message with plural forms takes
// the page language's CLDR form (Brazilian Portuguese: 0 and 1 are "one",
// unlike English), and teach.js's keys come through it too.
func TestOneWordsHelper(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	base := startSandbox(t)
	ctx := newBrowser(t)
	br := locales.Catalog("pt-BR")
	forms, _ := br.Messages("app.policy.")["app.policy.errors"].(map[string]string)
	if forms["one"] == "" || forms["one"] == forms["other"] {
		t.Fatalf("pt-BR app.policy.errors has no distinct plural forms: %v", forms)
	}
	for _, path := range []string{"/join?lang=pt-BR", "/teach?lang=pt-BR", "/ports?lang=pt-BR"} {
		navigate(t, ctx, base+path)
		waitFor(t, ctx, "the page's words", `!!(window.portlab && window.portlab.t && window.portlab.lab)`, 10*time.Second)
		for n, form := range map[int]string{0: "one", 1: "one", 2: "other"} {
			want := strings.Replace(forms[form], "%s", itoa(n), 1)
			if got := eval[string](t, ctx, `portlab.t("app.policy.errors", `+itoa(n)+`)`); got != want {
				t.Errorf("%s: t(app.policy.errors, %d) = %q, want %q", path, n, got, want)
			}
		}
		if path == "/ports?lang=pt-BR" {
			continue
		}
		if got, want := eval[string](t, ctx, `portlab.t("teach.js.not-in-lesson")`), br.T("teach.js.not-in-lesson"); got != want {
			t.Errorf("%s: t(teach.js.not-in-lesson) = %q, want %q", path, got, want)
		}
	}
}
