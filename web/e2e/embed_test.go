package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/portlab/portlab/server/sandbox"
)

// TestEmbedOnAnotherOrigin embeds a lesson in a page served from another
// origin (another port of 127.0.0.1), with --allow-origin in the README's
// form (a bare host), and checks that the page receives the lesson's
// `lesson`, `step`, `port` and `terminal` events, the latter naming the
// target after STARTTLS, and that lesson and step events name the step.
func TestEmbedOnAnotherOrigin(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
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
<iframe id="lab" src="%s/embed/lessons/tls-before-auth?autoplay=1&pace=0" width="1000" height="720"></iframe>`, base, base)
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
	if !eval[bool](t, ctx, has(`e.type === "step" && e.id === "starttls" && e.title === "Upgrade the connection" && e.state === "passed" && e.by === "played"`)) {
		t.Errorf("no step event names the starttls step passed by the player: %s", eval[string](t, ctx, `JSON.stringify(window.events.filter(e => e.type === "step"))`))
	}
	if !eval[bool](t, ctx, has(`e.type === "lesson" && e.state === "running" && e.id === "ehlo" && e.title === "Ask what it can do"`)) {
		t.Errorf("no lesson event names its step: %s", eval[string](t, ctx, `JSON.stringify(window.events.filter(e => e.type === "lesson"))`))
	}
	screenshot(t, ctx, "embedded")
}

// exampleServer serves docs/embed-example.html, the README's example
// page, as a docs site on its own origin would.
func exampleServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "../../docs/embed-example.html")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEmbedExamplePage loads the example page from another origin and
// drives the lesson with its controls: ready comes with the steps, the
// frame follows the height events, Start makes the first step current,
// "Play to this step" has the player play up to the chosen step, and a
// profile is switched; a bad command or profile is answered with an error.
func TestEmbedExamplePage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	docs := exampleServer(t)
	base := startSandboxWith(t, func(c *sandbox.Config) { c.Origins = []string{strings.TrimPrefix(docs.URL, "http://")} })

	ctx := newBrowser(t)
	navigate(t, ctx, docs.URL+"/?portlab="+url.QueryEscape(base))
	has := func(cond string) string { return `window.portlabEvents.some(e => ` + cond + `)` }
	events := func(typ string) string {
		return eval[string](t, ctx, `JSON.stringify(window.portlabEvents.filter(e => e.type === `+js(typ)+`))`)
	}
	waitFor(t, ctx, "ready", has(`e.type === "ready" && e.lesson === "tls-before-auth" && e.steps.length > 5 && e.profiles.includes("cloud-vm")`), 60*time.Second)
	if !eval[bool](t, ctx, has(`e.type === "ready" && e.steps[0].id === "connect" && e.steps[0].title === "Connect to the submission port" && e.steps[0].kind === "typed" && e.lang === "en" && e.page === "lesson"`)) {
		t.Errorf("ready does not list the steps: %s", events("ready"))
	}

	// The frame is as tall as the lesson: no scroll bar inside it.
	waitFor(t, ctx, "a height event", has(`e.type === "height" && e.px > 0`), 10*time.Second)
	waitFor(t, ctx, "the frame at the lesson's height",
		`(() => { const h = window.portlabEvents.filter(e => e.type === "height").pop().px; return document.getElementById("lab").clientHeight === h; })()`, 10*time.Second)

	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.ID("start")))
	waitFor(t, ctx, "start answered", has(`e.type === "ok" && e.command === "start"`), 10*time.Second)
	waitFor(t, ctx, "the first step current", has(`e.type === "step" && e.id === "connect" && e.state === "current" && e.step === 0`), 30*time.Second)

	do(t, ctx, 10*time.Second, chromedp.SetValue(chromedp.ID("step"), "ehlo"), chromedp.Click(chromedp.ID("play")))
	waitFor(t, ctx, "play answered", has(`e.type === "ok" && e.command === "play"`), 10*time.Second)
	waitFor(t, ctx, "the ehlo step played", has(`e.type === "step" && e.id === "ehlo" && e.title === "Ask what it can do" && e.state === "passed" && e.by === "played"`), 60*time.Second)
	if !eval[bool](t, ctx, has(`e.type === "step" && e.id === "connect" && e.state === "passed" && e.by === "played"`)) {
		t.Errorf("the step before ehlo was not played: %s", events("step"))
	}
	// The player stops after the chosen step: the next typed step waits
	// for the student.
	waitFor(t, ctx, "the lesson going on", has(`e.type === "step" && e.id === "auth-before-tls" && e.state === "current"`), 60*time.Second)
	if eval[bool](t, ctx, has(`e.type === "step" && e.id === "auth-before-tls" && e.state === "passed"`)) {
		t.Errorf("the player went past the chosen step: %s", events("step"))
	}
	// A step behind the lesson cannot be played again without a reset.
	eval[string](t, ctx, `window.portlabSend({command: "play", step: "connect"})`)
	waitFor(t, ctx, "a step behind answered", has(`e.type === "error" && e.command === "play" && /reset/.test(e.error)`), 10*time.Second)

	do(t, ctx, 10*time.Second, chromedp.SetValue(chromedp.ID("profile"), "cloud-vm"), chromedp.Click(chromedp.ID("set-profile")))
	waitFor(t, ctx, "profile answered", has(`e.type === "ok" && e.command === "profile"`), 20*time.Second)
	eval[string](t, ctx, `window.portlabSend({command: "profile", profile: "moon-base"})`)
	waitFor(t, ctx, "an unknown profile answered", has(`e.type === "error" && e.command === "profile" && /moon-base/.test(e.error)`), 10*time.Second)
	eval[string](t, ctx, `window.portlabSend({command: "stop"})`)
	waitFor(t, ctx, "an unknown command answered", has(`e.type === "error" && e.command === "stop" && /start, reset, play, profile/.test(e.error)`), 10*time.Second)

	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.ID("reset")))
	waitFor(t, ctx, "reset answered", has(`e.type === "ok" && e.command === "reset"`), 20*time.Second)
	if !eval[bool](t, ctx, has(`e.type === "lesson" && e.state === "new" && e.id === "connect"`)) {
		t.Errorf("no lesson event after reset: %s", events("lesson"))
	}
	screenshot(t, ctx, "example")
}

// TestEmbedIgnoresOtherOrigins: a frame of another origin (the same port
// under another host name) posts commands to the embedded lesson; they are
// dropped without an answer, and the lesson does not start, while the
// allowed parent's command is answered.
func TestEmbedIgnoresOtherOrigins(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	var base, rogue string
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/rogue" {
			// Sends its commands to the lesson (the parent's first frame),
			// passes on whatever answers it, then tells the parent.
			fmt.Fprint(w, `<!doctype html><title>rogue</title><script>
addEventListener("message", (e) => { parent.postMessage({rogueGot: e.data}, "*"); });
const lab = parent.frames[0];
lab.postMessage({command: "start", id: "rogue-start"}, "*");
lab.postMessage({command: "bogus", id: "rogue-bogus"}, "*");
parent.postMessage({rogue: "sent"}, "*");
</script>`)
			return
		}
		fmt.Fprintf(w, `<!doctype html><title>docs</title>
<iframe id="lab" src="%s/embed/lessons/tls-before-auth" width="1000" height="720"></iframe>
<script>
window.events = [];
window.rogueGot = [];
const lab = document.getElementById("lab");
addEventListener("message", (e) => {
  if (e.data && e.data.rogueGot) { window.rogueGot.push(e.data.rogueGot); return; }
  if (e.data && e.data.rogue === "sent") {
    // After the rogue frame's commands, the parent's own.
    lab.contentWindow.postMessage({command: "bogus", id: "parent-bogus"}, %q);
    return;
  }
  if (e.origin !== %q || !e.data || e.data.source !== "portlab") return;
  window.events.push(e.data);
  if (e.data.type === "ready") {
    const f = document.createElement("iframe");
    f.src = %q;
    document.body.appendChild(f);
  }
  if (e.data.type === "error" && e.data.id === "parent-bogus") {
    // Whatever the lesson answered the rogue frame came before this
    // answer: one more round trip through the rogue frame passes it on.
    const f2 = document.querySelectorAll("iframe")[1];
    f2.contentWindow.postMessage("flush", "*");
  }
});
</script>`, base, base, base, rogue)
	}))
	t.Cleanup(docs.Close)
	u, _ := url.Parse(docs.URL)
	rogue = "http://localhost:" + u.Port() + "/rogue" // the same port, another host name: another origin
	base = startSandboxWith(t, func(c *sandbox.Config) { c.Origins = []string{u.Host} })

	ctx := newBrowser(t)
	navigate(t, ctx, docs.URL)
	waitFor(t, ctx, "ready", `window.events.some(e => e.type === "ready")`, 60*time.Second)
	waitFor(t, ctx, "the parent's command answered", `window.events.some(e => e.type === "error" && e.id === "parent-bogus")`, 30*time.Second)
	waitFor(t, ctx, "the rogue frame flushed", `window.rogueGot.includes("flush")`, 10*time.Second)
	if got := eval[string](t, ctx, `JSON.stringify(window.rogueGot)`); got != `["flush"]` {
		t.Errorf("the lesson answered another origin: %s", got)
	}
	if got := eval[string](t, ctx, `JSON.stringify(window.events.filter(e => e.type === "step" || (e.type === "lesson" && e.state === "running") || /rogue/.test(e.id || "")))`); got != "[]" {
		t.Errorf("a command of another origin was carried out: %s", got)
	}
}

// TestEmbedTheme: ?theme= overrides the reader's prefers-color-scheme on
// an /embed/ page, and the page links to its full page.
func TestEmbedTheme(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	bg := `getComputedStyle(document.body).backgroundColor`
	for _, tt := range []struct{ prefers, theme, want string }{
		{"light", "dark", "rgb(13, 17, 23)"},
		{"dark", "light", "rgb(255, 255, 255)"},
		{"dark", "", "rgb(13, 17, 23)"},
	} {
		do(t, ctx, 10*time.Second, colorScheme(tt.prefers))
		navigate(t, ctx, base+"/embed/lessons/tls-before-auth?theme="+tt.theme)
		if got := eval[string](t, ctx, bg); got != tt.want {
			t.Errorf("prefers %s, ?theme=%s: background %s, want %s", tt.prefers, tt.theme, got, tt.want)
		}
	}
	do(t, ctx, 10*time.Second, colorScheme("light"))
	navigate(t, ctx, base+"/embed/lessons/tls-before-auth")
	if href := eval[string](t, ctx, `document.querySelector("[data-testid=embed-open]").href`); href != base+"/lessons/tls-before-auth" {
		t.Errorf("open link %s", href)
	}
	views(t, ctx, func(scheme string, width int64) {
		screenshot(t, ctx, fmt.Sprintf("%s-%d", scheme, width))
	})
}
