package e2e_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/server/netsim"
	"github.com/portlab/portlab/server/world"
)

// TestGermanNetwork: on a German page the network's own words are
// German too. Knocking on port 25 from home shows, after telnet's
// "Connection refused", why in German with the profile's German reason
// (because.de); a dropped port on the cloud VM likewise; the screen
// reader's live region and the input's placeholders (a lesson's, a
// message's) come from the German catalog; the lesson player's dials say
// why as the terminal's do.
func TestGermanNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	de := locales.Catalog("de")
	profiles, w := netsim.Default(), world.Default()
	why := func(profile, host string, port int) string {
		t.Helper()
		p, ok := profiles.Profile(profile)
		if !ok {
			t.Fatalf("no profile %s", profile)
		}
		return de.T("term.net-why", profile, netsim.Route(w, p, host, port).WhyIn(de, 123))
	}
	refused := why("home-isp", "mx.sandbox.test", 25)
	// The sentence is the catalog's German with the profile file's German
	// reason, not English.
	if !contains(refused, "abgewiesen") || !contains(refused, "private Internetanbieter sperren ihn gegen Spam") {
		t.Fatalf("the German reason is %q", refused)
	}

	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/playground?profile=home-isp&host=mx.sandbox.test&lang=de")
	waitReady(t, ctx)
	waitFor(t, ctx, "the lab", `document.getElementById('lab').dataset.state === 'ready'`, 10*time.Second)
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "de" {
		t.Fatalf("lang %q, want de", got)
	}
	do(t, ctx, 10*time.Second, chromedp.Click(chromedp.ID("port-25")))
	waitFor(t, ctx, "the German reason", `document.getElementById('transcript').textContent.includes(`+js(refused)+`)`, 20*time.Second)
	tr := strings.Split(transcript(t, ctx), "\n")
	if i := slices.IndexFunc(tr, func(l string) bool { return contains(l, "Unable to connect to remote host: Connection refused") }); i < 0 || i+1 >= len(tr) || !contains(tr[i+1], refused) {
		t.Errorf("the reason does not follow telnet's line:\n%s", strings.Join(tr, "\n"))
	}
	announced := de.T("announce.refused", de.T("announce.door", "mx.sandbox.test", "25"))
	waitFor(t, ctx, "the German live region", `document.getElementById('term-announce').textContent === `+js(announced), 10*time.Second)
	views(t, ctx, func(scheme string, width int64) {
		screenshot(t, ctx, "refused-"+scheme+"-"+itoa(int(width)))
	})

	// A dropped port: the reason comes with the time-out.
	typeLine(t, ctx, "profile cloud-vm")
	typeLine(t, ctx, "telnet smtp.relay.test 587")
	dropped := why("cloud-vm", "smtp.relay.test", 587)
	waitFor(t, ctx, "the German time-out reason", `document.getElementById('transcript').textContent.includes(`+js(dropped)+`)`, 20*time.Second)

	// Inside a message the placeholder says how to end it, in German.
	typeLine(t, ctx, "profile datacenter")
	typeLine(t, ctx, "telnet mx.sandbox.test 25")
	waitFor(t, ctx, "the greeting", `!!document.querySelector('#transcript li[data-code="220"]')`, 20*time.Second)
	for _, l := range []string{"EHLO student.example", "MAIL FROM:<teacher@example.org>", "RCPT TO:<student@sandbox.test>", "DATA"} {
		typeLine(t, ctx, l)
	}
	waitFor(t, ctx, "the German message placeholder", `document.getElementById('term-input').placeholder === `+js(de.T("term.placeholder.data")), 10*time.Second)

	// A lesson's placeholder names no command, in German.
	navigate(t, ctx, base+"/lessons/first-contact?lang=de")
	waitReady(t, ctx)
	waitFor(t, ctx, "the German lesson placeholder", `document.getElementById('term-input').placeholder === `+js(de.T("term.placeholder.lesson")), 10*time.Second)

	// The lesson player's own dials say why as the terminal does: played
	// at once, first-contact knocks on 25 from home.
	navigate(t, ctx, base+"/lessons/first-contact?lang=de&autoplay=1&pace=0")
	waitReady(t, ctx)
	waitFor(t, ctx, "the German reason in the lesson", `document.getElementById('transcript').textContent.includes(`+js(refused)+`)`, 60*time.Second)
}
