package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/explain"
)

// TestEmbedLessonInSpanish: an embedded lesson with ?lang=es plays
// through in Spanish (the lesson text from tls-before-auth.es.md, fetched
// by the client) and the reply explainer speaks Spanish too.
func TestEmbedLessonInSpanish(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	es, _ := lib.Lesson("tls-before-auth", "es")
	en, _ := lib.Lesson("tls-before-auth", "en")
	if es.Title == en.Title {
		t.Fatal("tls-before-auth has no Spanish title")
	}
	want, _ := explain.For("es").Reply("530 5.7.0 Must issue a STARTTLS command first", explain.Context{Command: "AUTH", Role: "submission"})
	if want.Gist == "" {
		t.Fatal("no Spanish explanation of 530 5.7.0")
	}

	base := startSandbox(t)
	ctx := newBrowser(t)
	navigate(t, ctx, base+"/embed/lessons/tls-before-auth?lang=es&autoplay=1&pace=0")
	waitReady(t, ctx)
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "es" {
		t.Errorf("lang %q", got)
	}
	waitFor(t, ctx, "played through", `document.getElementById('scenario-status').dataset.state === 'watched'`, 90*time.Second)
	if got := eval[string](t, ctx, `document.querySelector('main h1').textContent.trim()`); got != es.Title {
		t.Errorf("h1 %q, want %q", got, es.Title)
	}
	// A hint or question the client shows comes from the fetched
	// translation: the step list's titles are Spanish.
	if got := eval[string](t, ctx, `document.querySelector('.step-title').textContent`); !strings.Contains(got, es.Steps[0].Title) {
		t.Errorf("first step %q, want %q", got, es.Steps[0].Title)
	}
	// The lesson meets 530 twice (AUTH and MAIL before TLS): open the last,
	// the one panelOf reads.
	eval[bool](t, ctx, reply("530")+`.click() || true`)
	waitFor(t, ctx, "the 530 explained", `!`+panelOf(reply("530"))+`.hidden`, 10*time.Second)
	if text := eval[string](t, ctx, panelOf(reply("530"))+`.textContent`); !strings.Contains(text, want.Gist) {
		t.Errorf("the 530 panel is not in Spanish: %q, want %q", text, want.Gist)
	}
	screenshot(t, ctx, "embed-es")
}

// TestAcceptLanguageBrazilian: a browser that asks for pt-BR gets the home
// page and a lesson in Brazilian Portuguese, with no ?lang= and no cookie.
func TestAcceptLanguageBrazilian(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	t.Parallel()
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := lib.Lesson("first-contact", "pt-BR")
	base := startSandbox(t)
	ctx := newBrowser(t)
	do(t, ctx, 10*time.Second, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "pt-BR,pt;q=0.9"}})
		return err
	}))
	navigate(t, ctx, base+"/")
	if got := eval[string](t, ctx, `document.documentElement.lang`); got != "pt-BR" {
		t.Errorf("home: lang %q", got)
	}
	navigate(t, ctx, base+"/lessons/first-contact")
	if got := eval[string](t, ctx, `document.querySelector('main h1').textContent.trim()`); got != pt.Title {
		t.Errorf("lesson h1 %q, want %q", got, pt.Title)
	}
}
