//go:build js && wasm

package main

import (
	"strconv"
	"strings"
	"syscall/js"
	"time"

	"github.com/portlab/portlab/scenarios/jspromise"
	"github.com/portlab/portlab/wasm/internal/term"
)

// announceGap is the least time between two sentences of the polite live
// region: a lesson played at once is told by its latest state.
const announceGap = 1500 * time.Millisecond

// wireTools makes the transcript's Copy, Download and Clear buttons work.
func (u *domUI) wireTools() {
	on(byID("transcript-copy"), "click", false, func(js.Value) { u.copyTranscript() })
	on(byID("transcript-download"), "click", false, func(js.Value) { u.downloadTranscript() })
	on(byID("transcript-clear"), "click", false, func(js.Value) { u.clearTranscript() })
	for _, id := range []string{"transcript-copy", "transcript-download", "transcript-clear"} {
		if b := byID(id); exists(b) {
			b.Set("disabled", false)
		}
	}
}

// copyTranscript puts the transcript on the clipboard as swaks-style
// text; the button keeps the text copied in data-copied (for a page
// whose clipboard is not available, and for the tests).
func (u *domUI) copyTranscript() {
	text := u.text.Text()
	btn := byID("transcript-copy")
	setData(btn, "copied", text)
	clip := global.Get("navigator").Get("clipboard")
	if text == "" {
		u.say(tr("tool.empty"))
		return
	}
	if !exists(clip) {
		u.say(tr("tool.insecure"))
		return
	}
	if _, err := jspromise.Await(clip.Call("writeText", text)); err != nil {
		u.say(tr("tool.copy-failed", err.Error()))
		return
	}
	u.say(tr("tool.copied", u.text.Len()))
}

// downloadTranscript offers the transcript as a .txt file through a Blob
// URL on the hidden link #transcript-file.
func (u *domUI) downloadTranscript() {
	a := byID("transcript-file")
	if !exists(a) {
		return
	}
	text := u.text.Text()
	blob := global.Get("Blob").New([]any{text}, map[string]any{"type": "text/plain;charset=utf-8"})
	setData(a, "bytes", strconv.Itoa(len(text)))
	url := global.Get("URL")
	if old := a.Call("getAttribute", "href"); exists(old) && strings.HasPrefix(old.String(), "blob:") {
		url.Call("revokeObjectURL", old)
	}
	a.Set("href", url.Call("createObjectURL", blob))
	a.Set("download", "portlab-transcript-"+time.Now().UTC().Format("20060102-150405")+".txt")
	a.Call("click")
	u.say(tr("tool.downloaded", u.text.Len()))
}

// clearTranscript empties the transcript (the connection stays as it is)
// and puts the focus back in the input.
func (u *domUI) clearTranscript() {
	for exists(u.transcript) && u.transcript.Get("childElementCount").Int() > 0 {
		first := u.transcript.Get("firstElementChild")
		u.forget(first)
		first.Call("remove")
	}
	u.text.Clear()
	u.say(tr("tool.cleared"))
	if exists(u.input) {
		u.input.Call("focus")
	}
}

// say puts a sentence in the polite live region at once: the answer to
// the student's own action is never held back.
func (u *domUI) say(s string) { setText(byID("term-announce"), s) }

// fillCommands turns the typeable commands among the code elements that
// match selector into buttons that put the command in the terminal's
// input, to send with Enter: the student reads, clicks, and decides.
func fillCommands(selector string) {
	codes := document.Call("querySelectorAll", selector)
	for i := 0; i < codes.Length(); i++ {
		code := codes.Index(i)
		cmd := code.Get("textContent").String()
		if !term.Typeable(cmd) || exists(code.Call("closest", "button")) {
			continue
		}
		btn := commandButton(cmd)
		code.Get("parentNode").Call("replaceChild", btn, code)
	}
}

// commandButton is a button showing cmd as code; a click puts cmd in the
// terminal's input.
func commandButton(cmd string) js.Value {
	btn := elem("button", "cmd-fill", "")
	btn.Set("type", "button")
	btn.Call("setAttribute", "data-cmd", cmd)
	btn.Call("setAttribute", "aria-describedby", "cmd-fill-help")
	btn.Set("title", tr("tool.fill"))
	btn.Call("appendChild", elem("code", "", cmd))
	return btn
}

// onCommandClick fills the input with the command of a clicked
// .cmd-fill button anywhere on the page (narration, hints), without
// sending it.
func onCommandClick(ev js.Value) {
	t := ev.Get("target")
	if !exists(t) || t.Get("nodeType").Int() != 1 {
		return
	}
	btn := t.Call("closest", "button.cmd-fill")
	if !exists(btn) {
		return
	}
	in := byID("term-input")
	if !exists(in) {
		return
	}
	cmd := btn.Call("getAttribute", "data-cmd").String()
	in.Set("value", cmd)
	in.Call("focus")
	in.Call("setSelectionRange", len(cmd), len(cmd))
}

// setHint shows a lesson hint. A command of the step that the hint
// spells out (as the step shows it, or the step's answer) becomes a
// button that puts it in the input.
func setHint(hint js.Value, msg string, step int, answer string) {
	if !exists(hint) {
		return
	}
	hint.Set("textContent", msg)
	cands := []string{answer}
	// A graded hint spells the command out, in the page's language
	// ("Type telnet …", "Digite telnet …"): the command is found by the
	// terminal's grammar, not by the English words around it.
	if cmd := term.HintCommand(msg); cmd != "" {
		cands = append(cands, cmd)
	}
	if b := document.Call("querySelector", "#step-"+strconv.Itoa(step)+" .step-command [data-cmd]"); exists(b) {
		cands = append([]string{b.Call("getAttribute", "data-cmd").String()}, cands...)
	}
	for _, cmd := range cands {
		before, after, found := strings.Cut(msg, cmd)
		if cmd == "" || !found || !term.Typeable(cmd) {
			continue
		}
		hint.Set("textContent", "")
		hint.Call("appendChild", document.Call("createTextNode", before))
		hint.Call("appendChild", commandButton(cmd))
		hint.Call("appendChild", document.Call("createTextNode", after))
		return
	}
}
