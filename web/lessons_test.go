package web

import (
	"strings"
	"testing"

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
	cat := lessonCatalog()
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
