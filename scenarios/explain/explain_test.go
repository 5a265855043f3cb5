//go:build !js

package explain_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portlab/portlab/scenarios/explain"
)

// reply is one reply the sandbox can send, where it was found, and the
// command it answered.
type reply struct {
	line, command, where string
}

// The repository's own files say which replies exist; reading them (rather
// than importing the server) keeps this package free of server imports
// while a reply added anywhere still has to be explained.
var (
	// &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue…"}
	smtpErrorLit = regexp.MustCompile(`Code:\s*([2-5]\d\d),\s*EnhancedCode:\s*smtp\.EnhancedCode\{(\d),\s*(\d+),\s*(\d+)\},\s*Message:\s*(?:fmt\.Sprintf\()?"([^"]*)"`)
	// "421 4.7.0 %s Error: too many errors" in a raw line or a rewrite.
	rawLine = regexp.MustCompile(`"([2-5]\d\d[ -](?:[2-5]\.\d+\.\d+ )?[^"]*)"`)
	// {"500 5.5.1 Too many errors", "421 4.7.0 %s Error: too many errors"}
	rewritePair = regexp.MustCompile(`\{"([^"]*)",\s*"[^"]*"\}`)
	// The close codes documented in the tunnel protocol.
	closeDoc = regexp.MustCompile(`^//\s+(\d{4})\b`)
)

func repliesFromGo(t *testing.T, path string) []reply {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []reply
	for _, m := range smtpErrorLit.FindAllStringSubmatch(string(b), -1) {
		out = append(out, reply{line: m[1] + " " + m[2] + "." + m[3] + "." + m[4] + " " + m[5], where: path, command: "?"})
	}
	// A rewrite's first string is go-smtp's wording, which never reaches
	// a client.
	rewritten := map[string]bool{}
	for _, m := range rewritePair.FindAllStringSubmatch(string(b), -1) {
		rewritten[m[1]] = true
	}
	for _, m := range rawLine.FindAllStringSubmatch(string(b), -1) {
		if !rewritten[m[1]] {
			out = append(out, reply{line: m[1], where: path, command: "?"})
		}
	}
	return out
}

// repliesFromDialogues reads the golden dialogues' "S:" lines, each with
// the client command before it.
func repliesFromDialogues(t *testing.T, dir string) []reply {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if len(files) == 0 {
		t.Fatalf("no dialogues in %s", dir)
	}
	var out []reply
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cmd := "CONNECT"
		for n, l := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(l, "C: "):
				cmd = verb(strings.TrimPrefix(l, "C: "))
			case strings.HasPrefix(l, "S: "):
				out = append(out, reply{line: strings.TrimPrefix(l, "S: "), command: cmd, where: f + ":" + strconv.Itoa(n+1)})
			}
		}
	}
	return out
}

// repliesFromLessons reads every lesson's reply expectations.
func repliesFromLessons(t *testing.T, dir string) []reply {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	var out []reply
	expect := regexp.MustCompile(`^expect: ([2-5]\d\d(?: [2-5]\.\d+\.\d+)?)(?: "([^"]*)")?`)
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		cmd, n := "CONNECT", 0
		for sc.Scan() {
			n++
			l := sc.Text()
			if rest, ok := strings.CutPrefix(l, "do: "); ok {
				f := strings.Fields(rest)
				switch {
				case len(f) > 1 && f[0] == "send":
					cmd = verb(strings.Join(f[1:], " "))
				case len(f) > 0 && f[0] == "connect":
					cmd = "CONNECT"
				case len(f) > 0:
					cmd = strings.ToUpper(f[0])
				}
			}
			if m := expect.FindStringSubmatch(l); m != nil {
				out = append(out, reply{line: m[1] + " " + m[2], command: cmd, where: f + ":" + strconv.Itoa(n)})
			}
		}
		fh.Close()
	}
	return out
}

func verb(cmd string) string {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(f[0])
}

// Every reply the relay can produce, every reply a golden dialogue
// records and every reply a lesson expects has an explanation of its own.
func TestEveryReplyIsExplained(t *testing.T) {
	cat := explain.English()
	var all []reply
	for _, f := range []string{"../../server/relay/replies.go", "../../server/relay/session.go", "../../server/relay/wire.go"} {
		if _, err := os.Stat(f); err == nil {
			all = append(all, repliesFromGo(t, f)...)
		}
	}
	all = append(all, repliesFromDialogues(t, "../../server/relay/testdata/dialogues")...)
	all = append(all, repliesFromLessons(t, "../lessons")...)
	if len(all) < 50 {
		t.Fatalf("found only %d replies: did the files move?", len(all))
	}
	seen := map[string]bool{}
	for _, r := range all {
		code, _, _, ok := explain.Parse(r.line)
		if !ok {
			t.Errorf("%s: %q is not a reply line", r.where, r.line)
			continue
		}
		// Extension lines of EHLO are explained by the reply they belong to.
		if code == 250 && r.command == "EHLO" && !strings.Contains(r.line, ".") {
			continue
		}
		ctx := explain.Context{Command: r.command}
		if r.command == "" && code == 220 && !strings.Contains(r.line, "2.0.0") {
			ctx.Command = "CONNECT"
		}
		e, _ := cat.Reply(r.line, ctx)
		// A reply found in the Go source is explained if it is in any
		// of the moments it can answer.
		for _, c := range []string{"CONNECT", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA"} {
			if r.command == "?" && !e.Specific {
				e, _ = cat.Reply(r.line, explain.Context{Command: c})
			}
		}
		if !e.Specific {
			key := r.line + "|" + r.command
			if !seen[key] {
				t.Errorf("%s: no explanation for %q (after %s)", r.where, r.line, r.command)
				seen[key] = true
			}
		}
	}
}

// Every close code the gateway documents has an explanation.
func TestEveryCloseCodeIsExplained(t *testing.T) {
	b, err := os.ReadFile("../tunnel/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if m := closeDoc.FindStringSubmatch(l); m != nil {
			code, _ := strconv.Atoi(m[1])
			n++
			if _, ok := explain.English().Close(code); !ok {
				t.Errorf("close code %d (tunnel/doc.go) has no explanation", code)
			}
		}
	}
	if n < 8 {
		t.Fatalf("found %d close codes in tunnel/doc.go: did its format change?", n)
	}
}

func TestMoment(t *testing.T) {
	cat := explain.English()
	for _, tc := range []struct {
		line string
		ctx  explain.Context
		want string // words of the gist
	}{
		{"530 5.7.0 Must issue a STARTTLS command first", explain.Context{Command: "AUTH", Role: "submission"}, "STARTTLS"},
		{"503 5.5.1 Error: authentication not enabled", explain.Context{Command: "AUTH"}, "does not offer AUTH"},
		{"503 5.5.1 Error: send HELO/EHLO first", explain.Context{Command: "MAIL"}, "EHLO first"},
		{"503 5.5.1 Error: need RCPT command", explain.Context{Command: "DATA"}, "recipient"},
		// Two replies share 554 5.5.1: each is told by its words.
		{"554 5.5.1 Error: no valid recipients", explain.Context{Command: "DATA"}, "every RCPT TO"},
		{"554 5.5.1 Error: TLS already active", explain.Context{Command: "STARTTLS"}, "already on"},
		{"554 5.7.1 <a@example.com>: Relay access denied", explain.Context{Command: "RCPT"}, "open relay"},
		{"554 5.7.1 <unknown[10.0.0.1]>: Client host rejected: Access denied", explain.Context{Command: "RCPT"}, "Log in first"},
		{"500 5.5.2 Error: message line too long (RFC 5321 4.5.3.1.6)", explain.Context{Command: "DATA"}, "1000"},
		{"500 5.5.2 Error: line too long", explain.Context{}, "512"},
		// A mechanism not offered is not a wrong password.
		{"535 5.7.8 Error: authentication failed: Invalid authentication mechanism", explain.Context{Command: "AUTH"}, "mechanism"},
		{"220 smtp.relay.test ESMTP portlab sandbox", explain.Context{Command: "CONNECT"}, "ready"},
		{"220 2.0.0 Ready to start TLS", explain.Context{Command: "STARTTLS"}, "TLS"},
	} {
		e, ok := cat.Reply(tc.line, tc.ctx)
		if !ok || !e.Specific || !strings.Contains(e.Gist, tc.want) {
			t.Errorf("%q after %s: gist %q, want it to say %q", tc.line, tc.ctx.Command, e.Gist, tc.want)
		}
		for _, r := range e.Refs {
			if !strings.HasPrefix(r.URL, "https://www.rfc-editor.org/rfc/rfc") {
				t.Errorf("%q: reference %v", tc.line, r)
			}
		}
	}
}

// A reply nobody wrote an entry for still gets its class and enhanced
// meaning.
func TestFallback(t *testing.T) {
	e, ok := explain.English().Reply("450 4.2.2 Mailbox full", explain.Context{})
	if !ok || e.Specific {
		t.Fatalf("fallback: ok=%v specific=%v", ok, e.Specific)
	}
	if !strings.Contains(e.Class, "try again later") || e.Subject != "Mailbox status" || e.Detail != "Mailbox full" {
		t.Errorf("fallback explanation: %+v", e)
	}
	if !strings.Contains(e.Line(), "Mailbox full") {
		t.Errorf("fallback line: %q", e.Line())
	}
	if _, ok := explain.English().Reply("hello", explain.Context{}); ok {
		t.Error("a line that is not a reply was explained")
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line, enh, text string
		code            int
	}{
		{"250-STARTTLS", "", "STARTTLS", 250},
		{"530 5.7.0 Must issue a STARTTLS command first", "5.7.0", "Must issue a STARTTLS command first", 530},
		{"220 mx.sandbox.test ESMTP portlab sandbox", "", "mx.sandbox.test ESMTP portlab sandbox", 220},
		{"354 End data with <CR><LF>.<CR><LF>", "", "End data with <CR><LF>.<CR><LF>", 354},
		{"250 2.0.0\r\n", "2.0.0", "", 250},
	} {
		code, enh, text, ok := explain.Parse(tc.line)
		if !ok || code != tc.code || enh != tc.enh || text != tc.text {
			t.Errorf("Parse(%q) = %d %q %q %v", tc.line, code, enh, text, ok)
		}
	}
}

func TestCatalogs(t *testing.T) {
	for _, lang := range explain.Languages() {
		b, err := os.ReadFile(filepath.Join("data", lang+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := explain.Load(b); err != nil {
			t.Error(err)
		}
	}
	if _, err := explain.Load([]byte(`{"lang":"xx","classes":{"2":"a","3":"b","4":"c","5":"d"},"replies":[{"code":250,"gist":"g","here":"h","next":"n","refs":["see RFC"]}]}`)); err == nil {
		t.Error("a malformed reference was accepted")
	}
}

// A translated catalog (data/LANG.json) explains the same replies as the
// English one, matched the same way, with every text translated: only
// gist, here, next, the labels and the code meanings change.
func TestTranslatedCatalogsMatchEnglish(t *testing.T) {
	en := explain.English()
	for _, lang := range explain.Languages() {
		if lang == "en" {
			continue
		}
		c, err := explain.Load(explain.Data(lang))
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if c.Lang != lang {
			t.Errorf("data/%s.json says lang %q", lang, c.Lang)
		}
		for name, pair := range map[string][2]map[string]string{
			"classes": {en.Classes, c.Classes}, "categories": {en.Categories, c.Categories},
			"subjects": {en.Subjects, c.Subjects}, "details": {en.Details, c.Details},
		} {
			for k := range pair[0] {
				if pair[1][k] == "" {
					t.Errorf("%s: %s %q not translated", lang, name, k)
				}
			}
			for k := range pair[1] {
				if _, ok := pair[0][k]; !ok {
					t.Errorf("%s: %s %q is not in en.json", lang, name, k)
				}
			}
		}
		if c.Labels.Class == "" || c.Labels.Enhanced == "" || c.Labels.Here == "" || c.Labels.Next == "" || c.Labels.Read == "" {
			t.Errorf("%s: labels not all translated: %+v", lang, c.Labels)
		}
		for _, set := range []struct {
			name     string
			en, them []explain.Entry
		}{{"replies", en.Replies, c.Replies}, {"closes", en.Closes, c.Closes}} {
			if len(set.them) != len(set.en) {
				t.Errorf("%s: %d %s, en.json has %d (the same, in the same order)", lang, len(set.them), set.name, len(set.en))
				continue
			}
			for i, e := range set.en {
				g := set.them[i]
				if g.Code != e.Code || g.Enhanced != e.Enhanced || g.After != e.After || g.Role != e.Role || g.Text != e.Text || !slices.Equal(g.Refs, e.Refs) {
					t.Errorf("%s: %s[%d] matches differently from en.json's (%d %s %q)", lang, set.name, i, e.Code, e.Enhanced, e.Text)
				}
				if g.Gist == "" || g.Here == "" || g.Next == "" || (g.Gist == e.Gist && g.Here == e.Here) {
					t.Errorf("%s: %s[%d] (%d %s %q) not translated", lang, set.name, i, e.Code, e.Enhanced, e.Text)
				}
			}
		}
	}
}
