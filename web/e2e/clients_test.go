package e2e_test

import (
	"strings"
	"testing"
	"time"
)

// TestClientsUseLabAccount: the "your own client" recipes carry the
// student's own lab account, not the shared demo one, so mail sent with
// them lands in the student's lab.
func TestClientsUseLabAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/clients")
	waitFor(t, ctx, "the account note", `!document.getElementById('clients-account').hidden`, 20*time.Second)
	user := eval[string](t, ctx, `JSON.parse(localStorage.getItem('portlab.lab')).user`)
	if user == "" || user == "foo" {
		t.Fatalf("lab user %q", user)
	}
	swaks := eval[string](t, ctx, `Array.from(document.querySelectorAll('pre.cmd code')).map(c => c.textContent).join('\n')`)
	if !strings.Contains(swaks, "--auth-user "+user+" ") || strings.Contains(swaks, "barbaz") {
		t.Errorf("recipes do not use the lab account %q:\n%s", user, swaks)
	}
	if got := eval[string](t, ctx, `document.querySelector('[data-account=user]').textContent`); got != user {
		t.Errorf("Thunderbird user %q, want %q", got, user)
	}
}
