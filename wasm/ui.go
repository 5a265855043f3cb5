//go:build js && wasm

package main

import (
	"net"
	"strconv"
	"strings"
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
	notice     js.Value
	explain    *explainer
	// text is the transcript as swaks-style text (Copy, Download);
	// announce paces the polite live region #term-announce.
	text     *term.Transcript
	announce *term.Announcer

	mu        sync.Mutex
	boardHost string
	// The input's placeholder follows the connection and the message.
	open, inData bool
	lastState    term.ConnState
	// The lines that open to an explanation, by panel id; all opens
	// every one, new ones too ("Explain all").
	replies map[string]*reply
	seq     int
	all     bool
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
		notice:     byID("term-notice"),
		explain:    newExplainer(),
		replies:    map[string]*reply{},
		text:       term.NewTranscript(maxTranscript),
	}
	live := byID("term-announce")
	u.announce = &term.Announcer{Gap: announceGap, Say: func(s string) { setText(live, s) }}
	if h := byID("host"); exists(h) {
		u.boardHost = h.Get("value").String()
	}
	on(u.transcript, "click", false, u.onExplainClick)
	if b := byID("explain-all"); exists(b) {
		on(b, "click", false, func(js.Value) {
			pressed := b.Call("getAttribute", "aria-pressed").String() != "true"
			b.Call("setAttribute", "aria-pressed", strconv.FormatBool(pressed))
			u.explainAll(pressed)
		})
	}
	return u
}

// whoLabel is the catalog key that says, to a screen reader, who wrote
// a transcript line.
var whoLabel = map[string]string{
	"client": "term.who.client", "server": "term.who.server", "tls": "term.who.tls", "note": "term.who.note", "error": "term.who.error",
	"typed": "term.who.typed", "hint": "term.who.hint",
}

func (u *domUI) Line(d term.Display) {
	if u.onLine != nil {
		u.onLine(d)
	}
	u.text.Add(d)
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
	sr := tr(whoLabel[d.Who])
	if d.Secure {
		sr = tr("term.who.secure", sr)
	}
	li.Call("appendChild", elem("span", "visually-hidden", sr+": "))
	var parts []js.Value
	if d.Code != "" {
		parts = append(parts, elem("span", "code code-"+d.Code[:1], d.Code))
		li.Get("dataset").Set("code", d.Code)
	}
	text := elem("span", "text", d.Text)
	explainable := d.Reply || d.Close != 0
	if d.Title != "" {
		text.Set("title", d.Title)
		if !explainable { // a button holds no other focusable element
			text.Call("setAttribute", "tabindex", "0")
		}
	}
	parts = append(parts, text)
	if explainable {
		u.explainable(li, d, parts...)
	} else {
		for _, p := range parts {
			li.Call("appendChild", p)
		}
	}
	u.transcript.Call("appendChild", li)
	for u.transcript.Get("childElementCount").Int() > maxTranscript {
		first := u.transcript.Get("firstElementChild")
		u.forget(first)
		first.Call("remove")
	}
	u.transcript.Set("scrollTop", u.transcript.Get("scrollHeight"))
}

// State shows a state of the terminal's own connection: the Disconnect
// button can end it.
func (u *domUI) State(s term.ConnState, target string) {
	u.showState(s, target, true)
}

// showState shows a connection state in the header and announces it;
// own is false for the lesson engine's connections, which Disconnect
// does not end.
func (u *domUI) showState(s term.ConnState, target string, own bool) {
	u.mu.Lock()
	changed := s != u.lastState
	u.lastState = s
	u.open = term.Open(s)
	u.mu.Unlock()
	if own {
		if b := byID("disconnect-button"); exists(b) {
			b.Set("disabled", !term.Open(s))
		}
	}
	u.placeholder()
	if changed {
		u.announce.Announce(term.Announcement(ui, s, target))
	}
	setData(u.state, "state", string(s))
	setText(u.state, term.StateLabel(ui, s))
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

// Notice shows the standing notice beside the input while typed lines
// are the message, with the reminder when a command word went into it.
func (u *domUI) Notice(n term.Notice) {
	if exists(u.notice) {
		u.notice.Set("textContent", "")
		if n.Data {
			u.notice.Call("appendChild", withDot(elem("span", "", ""), n.Text))
			if n.Reminder != "" {
				u.notice.Call("appendChild", withDot(elem("strong", "reminder", ""), n.Reminder))
			}
		}
		u.notice.Set("hidden", !n.Data)
	}
	u.mu.Lock()
	u.inData = n.Data
	u.mu.Unlock()
	u.placeholder()
}

// placeholder shows a real line to type: a telnet command while no
// connection is open, an SMTP command on one, and inside a message how
// to end it; in a lesson, no command at all.
func (u *domUI) placeholder() {
	if !exists(u.input) {
		return
	}
	u.mu.Lock()
	open, inData := u.open, u.inData
	u.mu.Unlock()
	switch {
	case inData:
		u.input.Set("placeholder", term.PlaceholderData(ui))
		setData(u.input, "mode", "data")
	case data(document.Get("body"), "page") == "lesson":
		// In a lesson an example command could be the step's answer,
		// which the student finds before being told.
		u.input.Set("placeholder", term.PlaceholderLesson(ui))
		setData(u.input, "mode", "command")
	case open:
		u.input.Set("placeholder", term.PlaceholderCommand)
		setData(u.input, "mode", "command")
	default:
		u.input.Set("placeholder", term.PlaceholderIdle)
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

// boardNames are the profile and host the board shows, for the words
// that say who refused.
func boardNames() (profile, host string) {
	text := func(id string) string {
		if e := byID(id); exists(e) {
			return e.Get("textContent").String()
		}
		return ""
	}
	return text("board-profile"), text("board-host")
}

func setCell(port int, s term.PortState) {
	cell := byID("port-" + strconv.Itoa(port))
	if !exists(cell) {
		return
	}
	setData(cell, "state", string(s))
	v := cell.Call("querySelector", "[data-role=verdict]")
	profile, host := boardNames()
	verdict := s.VerdictAt(ui, profile, host)
	setText(v, verdict)
	svc := ""
	if e := cell.Call("querySelector", ".port-svc"); exists(e) {
		svc = e.Get("textContent").String()
	}
	cell.Call("setAttribute", "aria-label", tr("board.cell-label", strconv.Itoa(port), svc, verdict))
}

// Route draws the terminal's route diagram (web/route.templ).
func (u *domUI) Route(r term.Route) { drawRoute(r) }

var _ term.RouteUI = (*domUI)(nil)

// drawRoute fills the route diagram; an idle route names the board's
// profile and host.
func drawRoute(r term.Route) {
	el := byID("route")
	if !exists(el) {
		return
	}
	setData(el, "effect", string(r.Effect()))
	setData(el, "door", string(r.Door()))
	setData(el, "secure", strconv.FormatBool(r.Secure))
	setText(byID("route-sentence"), r.Sentence(ui))
	profile, host := boardNames()
	if r.Profile != "" {
		profile = r.Profile
	}
	setText(byID("route-profile"), profile)
	effect := r.NetworkLabel(ui)
	if effect == "" {
		effect = tr("route.network")
	}
	setText(byID("route-net-effect"), effect)
	if r.Host != "" {
		host = r.Host + ":" + strconv.Itoa(r.Port)
	}
	setText(byID("route-host"), host)
	door := r.DoorLabel(ui)
	if door == "" {
		door = tr("route.host")
	}
	setText(byID("route-door"), door)
}

func resetBoard() {
	cells := document.Call("querySelectorAll", ".board .port")
	for i := 0; i < cells.Length(); i++ {
		p, _ := strconv.Atoi(data(cells.Index(i), "port"))
		setCell(p, term.PortUntried)
	}
	profile, _ := boardNames()
	drawRoute(term.Route{Profile: profile, State: term.Idle})
}

// withDot fills e with text, the lone dot of "a single . " shown as code
// so that it cannot be missed.
func withDot(e js.Value, text string) js.Value {
	parts := strings.Split(text, " . ")
	for i, p := range parts {
		if i > 0 {
			e.Call("appendChild", document.Call("createTextNode", " "))
			e.Call("appendChild", elem("code", "", "."))
			p = " " + p
		}
		e.Call("appendChild", document.Call("createTextNode", p))
	}
	return e
}
