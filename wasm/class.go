//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"syscall/js"

	"github.com/portlab/portlab/scenarios/httpapi"
)

// The classroom hook: when this browser joined a class (the join page
// keeps the student's token in localStorage "portlab.class"), the lesson
// player's progress records go to the class's server too, and the
// teacher's instructions (a lesson to open, a network for everyone) come
// back live. Without a class nothing here runs.

const classKey = "portlab.class"

// classToken is the student's class token, "" outside a class.
func classToken() string {
	v := global.Get("localStorage").Call("getItem", classKey)
	if v.Type() != js.TypeString {
		return ""
	}
	var kept struct {
		Token string `json:"token"`
	}
	json.Unmarshal([]byte(v.String()), &kept)
	return kept.Token
}

// watchClass starts the hook; main calls it once the terminal is up.
func (c *client) watchClass() {
	tok := classToken()
	if tok == "" {
		return
	}
	posts := make(chan httpapi.Progress, 64)
	go postProgress(&httpapi.Client{Server: c.server}, tok, posts)
	send := func(rec httpapi.Progress) {
		select {
		case posts <- rec:
		default: // the server is not keeping up: the next record says where the student is
		}
	}
	if lessonName := data(document.Get("body"), "lesson"); lessonName != "" {
		watchLesson(lessonName, send)
	}
	c.followClass(tok)
}

// postProgress posts the records one at a time, in order. A record the
// server does not take is dropped: the next one says where the student
// is, and the lesson goes on without the class.
func postProgress(api *httpapi.Client, tok string, posts <-chan httpapi.Progress) {
	for rec := range posts {
		_ = api.ClassProgress(context.Background(), tok, rec)
	}
}

// currentStep is the index of the step the player shows as current.
func currentStep() int {
	li := document.Call("querySelector", "#steps > li[data-state=current]")
	if !exists(li) {
		return 0
	}
	n, _ := strconv.Atoi(data(li, "step"))
	return n
}

// watchLesson reports a lesson page's progress: opened, each step passed
// and the lesson's end (the player's portlab:progress events, with who did
// each step as the page keeps it), each step failed (the step list's
// state) and each hint asked for.
func watchLesson(name string, send func(httpapi.Progress)) {
	total := document.Call("querySelectorAll", "#steps > li").Length()
	send(httpapi.Progress{Kind: "open", Lesson: name, Step: 0, Total: total, State: "new"})
	on(document, "portlab:progress", false, func(ev js.Value) {
		d := ev.Get("detail")
		if !exists(d) || d.Get("type").String() != "lesson" {
			return
		}
		rec := httpapi.Progress{Kind: "progress", Lesson: name, Step: d.Get("step").Int(), Total: d.Get("total").Int(), State: d.Get("state").String()}
		if pl := portlabJS(); exists(pl) {
			if saved := pl.Get("progress").Call("get", name); exists(saved) && exists(saved.Get("steps")) {
				var steps map[string]string
				if json.Unmarshal([]byte(global.Get("JSON").Call("stringify", saved.Get("steps")).String()), &steps) == nil {
					rec.Steps = steps
				}
			}
		}
		send(rec)
	})
	on(byID("lesson-hint-next"), "click", false, func(js.Value) {
		send(httpapi.Progress{Kind: "hint", Lesson: name, Step: currentStep(), Total: total})
	})
	// A wrong try at a step is a failure of that step too: the same step
	// tried wrong again and again is what "stuck" means on the dashboard.
	// It keeps the step current, so only the player's event says it.
	on(document, "portlab:step-retry", false, func(ev js.Value) {
		d := ev.Get("detail")
		if !exists(d) || d.Get("lesson").String() != name {
			return
		}
		send(httpapi.Progress{Kind: "step-failed", Lesson: name, Step: d.Get("step").Int(), Total: total})
	})
	// A step the lesson ends on, failed, shows as the step's data-state;
	// the player has no other event for it.
	if list := byID("steps"); exists(list) {
		cb := js.FuncOf(func(this js.Value, args []js.Value) any {
			muts := args[0]
			for i := 0; i < muts.Length(); i++ {
				t := muts.Index(i).Get("target")
				if data(t, "state") == "failed" {
					n, _ := strconv.Atoi(data(t, "step"))
					send(httpapi.Progress{Kind: "step-failed", Lesson: name, Step: n, Total: total})
				}
			}
			return nil
		})
		obs := global.Get("MutationObserver").New(cb)
		obs.Call("observe", list, map[string]any{"subtree": true, "attributes": true, "attributeFilter": []any{"data-state"}})
	}
}

// followClass shows the teacher's instructions as they come: the class
// stream sends the class's state at once and after every change.
func (c *client) followClass(tok string) {
	es := global.Get("EventSource")
	if !exists(es) {
		return
	}
	src := es.New("/api/classroom/me/events?token=" + js.Global().Call("encodeURIComponent", tok).String())
	var mu sync.Mutex
	first, seen := true, ""
	resets, clears := 0, 0 // the teacher's resets and clearings seen
	before := ""           // the page's own network, before the teacher's
	on(src, "class", false, func(ev js.Value) {
		var n struct {
			Name       string `json:"name"`
			Lesson     string `json:"lesson"`
			Profile    string `json:"profile"`
			Ended      bool   `json:"ended"`
			LabProfile string `json:"lab_profile"`
			Resets     int    `json:"resets"`
			Clears     int    `json:"clears"`
		}
		if json.Unmarshal([]byte(ev.Get("data").String()), &n) != nil {
			return
		}
		// The teacher's network for everyone wins over the page's own
		// (a lesson's, the picker's); when the teacher undoes it, the page
		// goes back to what it had (or the lab's own). Otherwise the page
		// keeps its choice.
		mu.Lock()
		want := ""
		if (first || n.Profile != seen) && n.Profile != "" {
			if seen == "" {
				before = c.currentProfile()
			}
			want = n.Profile
		} else if !first && n.Profile != seen {
			want = before
			if want == "" {
				want = n.LabProfile
			}
		}
		// The teacher reset every lab: the page starts again on its
		// emptied lab; or cleared the class mailbox: the page shows the
		// empty mailbox.
		reload := !first && n.Resets > resets
		refresh := !first && n.Clears > clears
		resets, clears = n.Resets, n.Clears
		first, seen = false, n.Profile
		mu.Unlock()
		if reload {
			global.Get("location").Call("reload")
			return
		}
		if pl := portlabJS(); refresh && exists(pl) && pl.Get("refreshMailbox").Type() == js.TypeFunction {
			pl.Call("refreshMailbox")
		}
		if want != "" && want != c.currentProfile() {
			c.setProfile(want)
			c.describeProfile(want)
		}
		classNotice(n.Name, n.Lesson, n.Profile, n.Ended)
	})
}

// classNotice is the line at the top of the page that says what the
// teacher asks.
func classNotice(class, lessonName, profile string, ended bool) {
	box := byID("class-notice")
	if !exists(box) {
		box = elem("p", "notice class-notice", "")
		box.Set("id", "class-notice")
		box.Call("setAttribute", "role", "status")
		box.Call("setAttribute", "data-testid", "class-notice")
		main := byID("main")
		if !exists(main) {
			return
		}
		main.Call("prepend", box)
	}
	box.Set("textContent", tr("class.notice", class))
	switch {
	case ended:
		box.Set("textContent", tr("class.ended", class))
	case lessonName != "" && lessonName != data(document.Get("body"), "lesson"):
		// The link goes where the page language puts the lesson's name.
		before, after, _ := strings.Cut(tr("class.asks-open", "\x00"), "\x00")
		a := elem("a", "", lessonName)
		a.Set("href", "/lessons/"+lessonName)
		a.Call("setAttribute", "data-testid", "class-lesson")
		box.Call("append", " "+before, a, after)
	}
	if profile != "" && !ended {
		box.Call("append", " "+tr("class.network-set", profile))
	}
}
