//go:build js && wasm

package main

import (
	"context"
	"strconv"
	"sync"
	"syscall/js"

	"github.com/portlab/portlab/scenarios/explain"
	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/wasm/internal/term"
)

// explainer holds the page language's reply explanations. The server
// hands them out as data (/explain/LANG.json), so the wasm does not grow
// with the texts or the languages; the page fetches them once.
type explainer struct {
	url  string
	once sync.Once
	cat  *explain.Catalog
	err  error
}

// newExplainer reads the catalog's address from the page (a cacheable
// /explain/HASH/LANG.json), or builds it from the page's language.
func newExplainer() *explainer {
	url := data(document.Get("body"), "explainUrl")
	if url == "" {
		lang := document.Get("documentElement").Get("lang").String()
		if lang == "" || lang == "<undefined>" {
			lang = "en"
		}
		url = "/explain/" + lang + ".json"
	}
	return &explainer{url: url}
}

// catalog fetches and reads the catalog the first time; it blocks, so
// call it from a goroutine (an event handler of on is one). The client's
// empty server is the page's own origin.
func (x *explainer) catalog() (*explain.Catalog, error) {
	x.once.Do(func() {
		x.cat, x.err = (&httpapi.Client{}).Explanations(context.Background(), x.url)
	})
	return x.cat, x.err
}

// reply is a transcript line that opens to its explanation.
type reply struct {
	d      term.Display
	btn    js.Value
	panel  js.Value
	filled bool
}

// explainable makes a transcript line open to its explanation: the
// line's words (parts) become a button (Enter, Space or a click) that
// shows a panel under it, filled on first opening. One click listener on
// the transcript serves every line.
func (u *domUI) explainable(li js.Value, d term.Display, parts ...js.Value) {
	btn := elem("button", "reply", "")
	btn.Set("type", "button")
	btn.Call("setAttribute", "aria-expanded", "false")
	btn.Get("dataset").Set("testid", "explain-toggle")
	for _, p := range parts {
		btn.Call("appendChild", p)
	}
	btn.Call("appendChild", elem("span", "explain-cue", tr("term.explain-cue")))
	panel := elem("div", "explain", "")
	panel.Set("hidden", true)
	panel.Get("dataset").Set("testid", "explain-panel")
	li.Call("appendChild", btn)
	li.Call("appendChild", panel)
	li.Get("classList").Call("add", "explainable")

	u.mu.Lock()
	u.seq++
	id := "explain-" + strconv.Itoa(u.seq)
	r := &reply{d: d, btn: btn, panel: panel}
	u.replies[id] = r
	all := u.all
	u.mu.Unlock()
	panel.Set("id", id)
	btn.Call("setAttribute", "aria-controls", id)
	if all {
		go func() {
			u.show(id, true)
			// As Line does: the newest line, now with its panel, in view.
			u.transcript.Set("scrollTop", u.transcript.Get("scrollHeight"))
		}()
	}
}

// forget drops a transcript line's explanation when the line goes.
func (u *domUI) forget(li js.Value) {
	if p := li.Call("querySelector", ".explain"); exists(p) {
		u.mu.Lock()
		delete(u.replies, p.Get("id").String())
		u.mu.Unlock()
	}
}

// onExplainClick toggles the explanation whose button was clicked.
func (u *domUI) onExplainClick(ev js.Value) {
	btn := ev.Get("target").Call("closest", "button.reply")
	if !exists(btn) {
		return
	}
	id := btn.Call("getAttribute", "aria-controls").String()
	open := btn.Call("getAttribute", "aria-expanded").String() != "true"
	if r := u.show(id, open); r != nil && open {
		u.reveal(btn.Call("closest", "li"))
	}
}

// reveal scrolls the transcript, and only it, so that as much of an
// opened line and its panel shows as fits, the line itself always.
func (u *domUI) reveal(li js.Value) {
	t := u.transcript
	if !exists(li) || !exists(t) {
		return
	}
	top := li.Get("offsetTop").Float() - t.Get("offsetTop").Float()
	bottom := top + li.Get("offsetHeight").Float()
	view, at := t.Get("clientHeight").Float(), t.Get("scrollTop").Float()
	switch {
	case top < at:
		t.Set("scrollTop", top)
	case bottom > at+view:
		t.Set("scrollTop", min(top, bottom-view))
	}
}

// show opens or closes one explanation, filling it the first time.
func (u *domUI) show(id string, open bool) *reply {
	u.mu.Lock()
	r := u.replies[id]
	fill := r != nil && open && !r.filled
	if fill {
		r.filled = true
	}
	u.mu.Unlock()
	if r == nil {
		return nil
	}
	if fill {
		u.fill(r.panel, r.d)
	}
	r.btn.Call("setAttribute", "aria-expanded", strconv.FormatBool(open))
	r.panel.Set("hidden", !open)
	return r
}

// fill writes the explanation of d into its panel: the gist, the reply
// class, the enhanced code's subject and detail, what it means here,
// what to try next and the RFC sections to read.
func (u *domUI) fill(panel js.Value, d term.Display) {
	cat, err := u.explain.catalog()
	if err != nil {
		panel.Call("appendChild", elem("p", "explain-gist", tr("explain.failed", err.Error())))
		return
	}
	var e explain.Explanation
	if d.Close != 0 {
		e, _ = cat.Close(d.Close)
	} else {
		e, _ = cat.Reply(d.Code+d.Text, d.Context)
	}
	gist := e.Gist
	if gist == "" {
		gist = e.Line()
	}
	panel.Call("appendChild", elem("p", "explain-gist", gist))
	dl := elem("dl", "explain-facts", "")
	row := func(label string, dd js.Value) {
		dl.Call("appendChild", elem("dt", "", label))
		dl.Call("appendChild", dd)
	}
	if e.Class != "" {
		row(cat.Labels.Class, elem("dd", "", e.Class))
	}
	if e.Enhanced != "" {
		dd := elem("dd", "", "")
		dd.Call("appendChild", elem("code", "", e.Enhanced))
		text := " " + e.Subject
		if e.Detail != "" {
			text += ": " + e.Detail
		}
		dd.Call("appendChild", document.Call("createTextNode", text))
		row(cat.Labels.Enhanced, dd)
	}
	if e.Here != "" {
		row(cat.Labels.Here, elem("dd", "", e.Here))
	}
	if e.Next != "" {
		row(cat.Labels.Next, elem("dd", "", e.Next))
	}
	if len(e.Refs) > 0 {
		dd := elem("dd", "explain-refs", "")
		for i, r := range e.Refs {
			if i > 0 {
				dd.Call("appendChild", document.Call("createTextNode", " · "))
			}
			a := elem("a", "", r.Name)
			a.Set("href", r.URL)
			a.Set("target", "_blank")
			a.Set("rel", "noopener")
			dd.Call("appendChild", a)
		}
		row(cat.Labels.Read, dd)
	}
	panel.Call("appendChild", dl)
}

// explainAll opens (or closes) every explanation in the transcript, and
// those of the lines still to come.
func (u *domUI) explainAll(on bool) {
	u.mu.Lock()
	u.all = on
	ids := make([]string, 0, len(u.replies))
	for id := range u.replies {
		ids = append(ids, id)
	}
	u.mu.Unlock()
	for _, id := range ids {
		u.show(id, on)
	}
}
