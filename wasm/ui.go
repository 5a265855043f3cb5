//go:build js && wasm

package main

import (
	"net"
	"strconv"
	"sync"
	"syscall/js"

	"github.com/portlab/portlab/wasm/internal/term"
)

// maxTranscript bounds the transcript's lines in the page.
const maxTranscript = 2000

// domUI shows what the terminal reports in the page.
type domUI struct {
	transcript js.Value
	state      js.Value
	target     js.Value
	input      js.Value

	mu        sync.Mutex
	boardHost string
	// onPort is called after a board cell changes (the lesson player and
	// embed events listen).
	onPort func(host string, port int, s term.PortState)
	// onLine sees every line (the lesson player checks typed steps).
	onLine func(term.Display)
}

func newDomUI() *domUI {
	u := &domUI{
		transcript: byID("transcript"),
		state:      byID("term-state"),
		target:     byID("term-target"),
		input:      byID("term-input"),
	}
	if h := byID("host"); exists(h) {
		u.boardHost = h.Get("value").String()
	}
	return u
}

var whoLabel = map[string]string{
	"client": "you", "server": "server", "tls": "TLS", "note": "note", "error": "error",
}

func (u *domUI) Line(d term.Display) {
	if u.onLine != nil {
		u.onLine(d)
	}
	if !exists(u.transcript) {
		return
	}
	cls := "line who-" + d.Who
	if d.Secure {
		cls += " secure"
	}
	li := elem("li", cls, "")
	li.Get("dataset").Set("who", d.Who)
	mark := elem("span", "mark", d.Mark)
	mark.Call("setAttribute", "aria-hidden", "true")
	li.Call("appendChild", mark)
	sr := whoLabel[d.Who]
	if d.Secure {
		sr += " (inside TLS)"
	}
	li.Call("appendChild", elem("span", "visually-hidden", sr+": "))
	if d.Code != "" {
		code := elem("span", "code code-"+d.Code[:1], d.Code)
		li.Get("dataset").Set("code", d.Code)
		li.Call("appendChild", code)
	}
	text := elem("span", "text", d.Text)
	if d.Title != "" {
		text.Set("title", d.Title)
		text.Call("setAttribute", "tabindex", "0")
	}
	li.Call("appendChild", text)
	u.transcript.Call("appendChild", li)
	for u.transcript.Get("childElementCount").Int() > maxTranscript {
		u.transcript.Get("firstElementChild").Call("remove")
	}
	u.transcript.Set("scrollTop", u.transcript.Get("scrollHeight"))
}

func (u *domUI) State(s term.ConnState, target string) {
	setData(u.state, "state", string(s))
	setText(u.state, string(s))
	setText(u.target, target)
	if h, p, err := net.SplitHostPort(target); err == nil && s == term.Connecting {
		if in := byID("connect-host"); exists(in) {
			in.Set("value", h)
		}
		if in := byID("connect-port"); exists(in) {
			in.Set("value", p)
		}
	}
	emit("portlab:progress", map[string]any{"type": "terminal", "state": string(s), "target": target})
}

func (u *domUI) DataMode(on bool) {
	if !exists(u.input) {
		return
	}
	if on {
		u.input.Set("placeholder", "message line; a line with a single . ends the message")
		setData(u.input, "mode", "data")
	} else {
		u.input.Set("placeholder", "SMTP command, e.g. EHLO student.example")
		setData(u.input, "mode", "command")
	}
}

func (u *domUI) Port(host string, port int, s term.PortState) {
	u.mu.Lock()
	if host != u.boardHost {
		u.mu.Unlock()
		u.setBoardHost(host)
		u.mu.Lock()
	}
	u.mu.Unlock()
	setCell(port, s)
	emit("portlab:progress", map[string]any{"type": "port", "host": host, "port": port, "state": string(s)})
	if u.onPort != nil {
		u.onPort(host, port, s)
	}
}

// setBoardHost points the board at another host, with every door untried.
func (u *domUI) setBoardHost(host string) {
	u.mu.Lock()
	u.boardHost = host
	u.mu.Unlock()
	setText(byID("board-host"), host)
	if sel := byID("host"); exists(sel) && sel.Get("value").String() != host {
		sel.Set("value", host)
	}
	if ch := byID("connect-host"); exists(ch) {
		ch.Set("value", host)
	}
	resetBoard()
}

func (u *domUI) host() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.boardHost
}

func setCell(port int, s term.PortState) {
	cell := byID("port-" + strconv.Itoa(port))
	if !exists(cell) {
		return
	}
	setData(cell, "state", string(s))
	v := cell.Call("querySelector", "[data-role=verdict]")
	setText(v, s.Verdict())
	svc := cell.Call("querySelector", ".port-svc")
	label := "Port " + strconv.Itoa(port)
	if exists(svc) {
		label += ", " + svc.Get("textContent").String()
	}
	cell.Call("setAttribute", "aria-label", label+": "+s.Verdict())
}

func resetBoard() {
	cells := document.Call("querySelectorAll", ".board .port")
	for i := 0; i < cells.Length(); i++ {
		p, _ := strconv.Atoi(data(cells.Index(i), "port"))
		setCell(p, term.PortUntried)
	}
}
