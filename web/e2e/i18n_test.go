package e2e_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/portlab/portlab/internal/i18n/locales"
	"github.com/portlab/portlab/scenarios"
)

// TestLanguagePicker: German picked in the header's picker (a plain
// form: choose, then the button) makes the page German, survives
// navigation (its cookie), and the wasm terminal prints its UI strings
// from the German catalog it fetched.
func TestLanguagePicker(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	base := startSandbox(t)
	ctx := newBrowser(t)
	de := locales.Catalog("de")
	navigate(t, ctx, base+"/ports")
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "en" {
		t.Fatalf("lang %q before picking", got)
	}
	do(t, ctx, 10*time.Second, chromedp.SetValue(chromedp.ID("lang-select"), "de"))
	loadAfter(t, ctx, chromedp.Click(chromedp.CSS("[data-testid=lang-submit]")))
	waitFor(t, ctx, "the German page", `document.documentElement.lang === 'de'`, 10*time.Second)
	if got := eval[string](t, ctx, `location.pathname`); got != "/ports" {
		t.Errorf("after picking: %s, want back on /ports", got)
	}
	if got, want := eval[string](t, ctx, `document.querySelector('header nav a[href="/playground"]').textContent`), de.T("nav.playground"); got != want || want == "Playground" {
		t.Errorf("nav link %q, want the de catalog's %q", got, want)
	}
	views(t, ctx, func(scheme string, width int64) {
		screenshot(t, ctx, "lang-picker-de-"+scheme+"-"+itoa(int(width)))
	})

	// The cookie keeps the choice: a plain link to the playground is German.
	navigate(t, ctx, base+"/playground")
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "de" {
		t.Fatalf("the choice did not survive navigation: lang %q", got)
	}
	waitReady(t, ctx)
	want := de.T("term.ready", "telnet")
	want = want[:len(want)-len("telnet   (oder help)")]
	if want == "" || want == "portlab terminal ready. Type: " {
		t.Fatalf("no German ready line in the catalog: %q", want)
	}
	waitFor(t, ctx, "the German ready line", `document.getElementById('transcript').textContent.includes(`+js(want)+`)`, 10*time.Second)
}

// TestLessonInBrazilianPortuguese: ?lang=pt-BR serves first-contact's
// translation, and its links keep the language.
func TestLessonInBrazilianPortuguese(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := lib.Lesson("first-contact", "pt-BR")
	en, _ := lib.Lesson("first-contact", "en")
	if pt.Title == en.Title {
		t.Fatal("first-contact has no pt-BR title")
	}
	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/lessons/first-contact?lang=pt-BR")
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "pt-BR" {
		t.Errorf("lang %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('main h1').textContent.trim()`); got != pt.Title {
		t.Errorf("h1 %q, want %q", got, pt.Title)
	}
	if got := eval[string](t, ctx, `document.querySelector('.step-title').textContent`); !contains(got, pt.Steps[0].Title) {
		t.Errorf("first step %q, want %q", got, pt.Steps[0].Title)
	}
	if got := eval[string](t, ctx, `document.querySelector('header nav a[href^="/playground"]').getAttribute('href')`); got != "/playground?lang=pt-BR" {
		t.Errorf("nav link %q keeps no language", got)
	}
	views(t, ctx, func(scheme string, width int64) {
		screenshot(t, ctx, "lesson-pt-BR-"+scheme+"-"+itoa(int(width)))
	})
}
