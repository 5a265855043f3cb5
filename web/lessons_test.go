package web

import (
	"strings"
	"testing"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/scenarios/lesson"
)

func TestMarkdownEscapesHTML(t *testing.T) {
	got := markdown("Hello <script>alert(1)</script> **bold** `code`\n\n<img src=x onerror=alert(1)>")
	if strings.Contains(got, "<script>") || strings.Contains(got, "<img") {
		t.Errorf("raw HTML passed through: %s", got)
	}
	if !strings.Contains(got, "<strong>bold</strong>") || !strings.Contains(got, "<code>code</code>") {
		t.Errorf("markdown not rendered: %s", got)
	}
}

func TestDisplayCommand(t *testing.T) {
	for _, tt := range []struct {
		a    lesson.Action
		want string
	}{
		{lesson.Action{Kind: lesson.Connect, Host: "mx.sandbox.test", Port: 25, Text: "connect mx.sandbox.test:25"}, "telnet mx.sandbox.test 25"},
		{lesson.Action{Kind: lesson.Connect, Host: "legacy.mail.test", Port: 465, TLS: true, Text: "connect legacy.mail.test:465 tls"}, "connect legacy.mail.test:465 tls"},
		{lesson.Action{Kind: lesson.Send, Command: "EHLO laptop.example", Text: "send EHLO laptop.example"}, "EHLO laptop.example"},
		{lesson.Action{Kind: lesson.Profile, Text: "profile home-isp"}, "profile home-isp"},
	} {
		if got := displayCommand(tt.a); got != tt.want {
			t.Errorf("displayCommand(%q) = %q, want %q", tt.a.Text, got, tt.want)
		}
	}
}

func TestCatalogHasEveryBuiltInLesson(t *testing.T) {
	cat := lessonCatalog()["en"]
	if len(cat) == 0 {
		t.Fatal("no lessons")
	}
	for _, l := range cat {
		if l.Title == "" || len(l.Steps) == 0 {
			t.Errorf("%s: title %q, %d steps", l.Name, l.Title, len(l.Steps))
		}
		if strings.Contains(l.Intro, "<h1") {
			t.Errorf("%s: the intro keeps its h1 (the page has one)", l.Name)
		}
	}
}

// The policy editor shows on /lab/policy and beside the terminal of a
// lesson that changes the lab's policy, and on no other lesson's page.
func TestPolicyEditorPages(t *testing.T) {
	h := testHandler(t, true)
	for path, want := range map[string]bool{
		"/lab/policy":              true,
		"/lessons/your-own-rules":  true,
		"/lessons/open-relay":      false,
		"/lessons/tls-before-auth": false,
	} {
		resp := get(t, h, path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		doc := parse(t, resp)
		ed := byTestID(doc, "policy-editor")
		if (ed != nil) != want {
			t.Errorf("%s: policy editor present = %v, want %v", path, ed != nil, want)
		}
		if ed != nil && (byTestID(doc, "policy-text") == nil || byTestID(doc, "policy-apply") == nil || byTestID(doc, "policy-reset") == nil || byTestID(doc, "policy-errors") == nil) {
			t.Errorf("%s: the editor lacks its text, Apply, Reset or error list", path)
		}
	}
}

// Every page language lists every lesson; a step the language lacks is
// shown in English and marked, one it has is not.
func TestCatalogInEveryLanguage(t *testing.T) {
	all := lessonCatalog()
	en := all["en"]
	for _, lang := range i18n.Languages {
		ls := all[lang]
		if len(ls) != len(en) {
			t.Fatalf("%s: %d lessons, English has %d", lang, len(ls), len(en))
		}
		for i, l := range ls {
			if l.Lang != lang || l.Name != en[i].Name {
				t.Errorf("%s: lesson %d is %s in %q", lang, i, l.Name, l.Lang)
			}
			for j, st := range l.Steps {
				if lang == "en" && st.Untranslated {
					t.Errorf("en: %s step %s marked untranslated", l.Name, st.ID)
				}
				if st.Untranslated && st.Title != en[i].Steps[j].Title {
					t.Errorf("%s: %s step %s marked untranslated but has its own title %q", lang, l.Name, st.ID, st.Title)
				}
			}
		}
	}
	// first-contact is translated into Brazilian Portuguese: its first
	// step is not marked.
	for _, l := range all["pt-BR"] {
		if l.Name == "first-contact" && (l.Steps[0].Untranslated || l.Title == en[0].Title && en[0].Name == l.Name) {
			t.Errorf("pt-BR first-contact: untranslated %v, title %q", l.Steps[0].Untranslated, l.Title)
		}
	}
}
