package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/server/sandbox"
)

// TestEmbedOnAnotherOrigin embeds a lesson in a page served from another
// origin (another port of 127.0.0.1), with --allow-origin in the README's
// form (a bare host), and checks that the page receives the lesson's
// `lesson`, `port` and `terminal` events, the latter naming the target
// after STARTTLS.
func TestEmbedOnAnotherOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	var base string
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>docs</title>
<script>
window.events = [];
addEventListener("message", (e) => {
  if (e.origin !== %q || !e.data || e.data.source !== "portlab") return;
  window.events.push(e.data);
});
</script>
<iframe id="lab" src="%s/embed/lessons/tls-before-auth?autoplay=1" width="1000" height="720"></iframe>`, base, base)
	}))
	t.Cleanup(docs.Close)
	host := strings.TrimPrefix(docs.URL, "http://")                                    // 127.0.0.1:PORT
	base = startSandboxWith(t, func(c *sandbox.Config) { c.Origins = []string{host} }) // another port: another origin

	ctx := newBrowser(t)
	navigate(t, ctx, docs.URL)
	has := func(cond string) string { return `window.events.some(e => ` + cond + `)` }
	waitFor(t, ctx, "a lesson event", has(`e.type === "lesson"`), 60*time.Second)
	waitFor(t, ctx, "a port event", has(`e.type === "port" && e.host === "smtp.relay.test" && e.port === 587`), 60*time.Second)
	waitFor(t, ctx, "the lesson played through", has(`e.type === "lesson" && e.state === "watched"`), 120*time.Second)
	if !eval[bool](t, ctx, has(`e.type === "terminal" && e.state === "tls" && e.target === "smtp.relay.test:587"`)) {
		t.Errorf("no terminal event names smtp.relay.test:587 after STARTTLS: %s", eval[string](t, ctx, `JSON.stringify(window.events.filter(e => e.type === "terminal"))`))
	}
	if eval[bool](t, ctx, has(`e.type === "terminal" && /undefined/.test(e.target)`)) {
		t.Errorf("a terminal event names an undefined target: %s", eval[string](t, ctx, `JSON.stringify(window.events.filter(e => e.type === "terminal"))`))
	}
	screenshot(t, ctx, "embedded")
}
