//go:build js && wasm

// Command wasm is portlab's browser client: the telnet-like SMTP terminal
// and the lesson player. It dials the simulated world through the
// gateway's WebSocket (scenarios/tunnel), runs the SMTP conversation and
// the TLS handshake in the tab (scenarios/session, crypto/tls), and keeps
// the DOM glue in this package thin: the logic is in wasm/internal/term
// and the scenarios packages, which also run natively.
package main

import (
	"context"
	"crypto/x509"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall/js"

	"github.com/portlab/portlab/scenarios/jspromise"

	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/wasm/internal/term"
)

// client is the page's state: the lab, the network profile and the
// terminal.
type client struct {
	mu      sync.Mutex
	server  string // the page's origin, http(s)://host:port
	lab     string
	key     string // the lab's secret key, sent with every tunnel and API call for it
	profile string
	roots   *x509.CertPool
	ui      *domUI
	term    *term.Terminal
	// inputHook, when set, may take a typed line before the terminal does
	// (the lesson player waiting for a typed step).
	inputHook func(line string) bool
	// player is the page's lesson player, nil on other pages.
	player *player
}

func main() {
	c := &client{server: global.Get("location").Get("origin").String(), ui: newDomUI()}
	if p := byID("profile"); exists(p) {
		c.profile = p.Get("value").String()
	}
	loadMessages(c.server)
	c.roots = loadCA(c.server, c.ui)
	go c.ui.explain.catalog() // fetched once, before the first reply is opened
	c.openLab()
	c.term = term.New(term.Config{Catalog: ui, Dial: c.dial, RootCAs: c.roots, UI: c.ui, SetProfile: c.setProfile, Profile: c.currentProfile})
	c.wireTerminal()
	c.wirePickers()
	c.watchClass() // class.go: only in a class
	c.ui.wireTools()
	onSync(document, "click", onCommandClick)
	if data(document.Get("body"), "page") == "lesson" {
		fillCommands(".intro code, .steps code")
		startPlayer(c)
	}
	for _, id := range []string{"connect-fields", "term-fields", "player-controls"} {
		if f := byID(id); exists(f) {
			f.Set("disabled", false)
		}
	}
	c.ui.placeholder() // the page's own: a lesson shows no example command
	wireEmbed(c)       // after the player: commands may name its steps
	setData(byID("terminal"), "ready", "true")
	if pl := portlabJS(); exists(pl) && exists(pl.Get("clientReady")) {
		pl.Call("clientReady")
	}
	example := value("connect-host") + " " + firstDoor()
	if data(document.Get("body"), "page") == "lesson" {
		// A lesson's first command may be its first step's answer, which
		// the student finds before being told.
		example = "HOST PORT"
	}
	c.ui.Line(term.Note(tr("term.ready", "telnet "+example)))
	select {}
}

// loadCA fetches the sandbox CA that relay certificates must chain to.
func loadCA(server string, ui *domUI) *x509.CertPool {
	pool, err := (&httpapi.Client{Server: server}).CA(context.Background())
	if err != nil {
		ui.Line(term.Error(tr("term.ca-failed", err.Error())))
		return x509.NewCertPool()
	}
	return pool
}

type constError string

func (e constError) Error() string { return string(e) }

// openLab asks the page script for the student's lab (created or resumed).
// Without one the gateway uses the shared classroom lab.
func (c *client) openLab() {
	pl := portlabJS()
	if !exists(pl) {
		return
	}
	v, err := jspromise.Await(pl.Call("lab", c.profile))
	if err != nil {
		c.ui.Line(term.Error(tr("term.no-lab", err.Error())))
		return
	}
	c.useLab(v)
	// A new lab (the page's "new lab" button) replaces this one.
	on(document, "portlab:lab", false, func(ev js.Value) { c.useLab(ev.Get("detail")) })
}

// useLab keeps a lab object of the page script: its id and key.
func (c *client) useLab(v js.Value) {
	if v.Type() != js.TypeObject || v.Get("id").Type() != js.TypeString {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lab = v.Get("id").String()
	c.key = ""
	if k := v.Get("key"); k.Type() == js.TypeString {
		c.key = k.String()
	}
}

func (c *client) labID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lab
}

func (c *client) labKey() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.key
}

func (c *client) currentProfile() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.profile
}

// setProfile changes the network profile for the next connections and
// the lab's own (what its other connections and lessons use).
func (c *client) setProfile(name string) error {
	c.mu.Lock()
	c.profile = name
	c.mu.Unlock()
	setText(byID("board-profile"), name)
	if sel := byID("profile"); exists(sel) && sel.Get("value").String() != name {
		sel.Set("value", name)
	}
	resetBoard()
	if pl := portlabJS(); exists(pl) {
		if _, err := jspromise.Await(pl.Call("setProfile", name)); err != nil {
			return err
		}
	}
	return nil
}

// dial opens a tunnel through the gateway for the terminal.
func (c *client) dial(ctx context.Context, host string, port int) (net.Conn, error) {
	return tunnel.Dialer{}.Dial(ctx, tunnel.Target{
		Server:  c.server,
		Lab:     c.labID(),
		Key:     c.labKey(),
		Profile: c.currentProfile(),
		Host:    host,
		Port:    port,
		Lang:    ui.Lang, // the network's reasons in the page's language
	})
}

// input handles a line the student typed: the lesson player takes it
// when a typed step waits, else the terminal.
func (c *client) input(line string) {
	if c.inputHook != nil && c.inputHook(line) {
		c.term.History.Add(line)
		return
	}
	c.term.Input(line)
}

// wireTerminal connects the terminal's forms, keys and helpers.
func (c *client) wireTerminal() {
	input := byID("term-input")
	on(byID("term-form"), "submit", true, func(js.Value) {
		line := input.Get("value").String()
		input.Set("value", "")
		c.input(line)
	})
	onSync(input, "keydown", func(ev js.Value) {
		switch ev.Get("key").String() {
		case "ArrowUp":
			ev.Call("preventDefault")
			input.Set("value", c.term.History.Up(input.Get("value").String()))
		case "ArrowDown":
			ev.Call("preventDefault")
			input.Set("value", c.term.History.Down(input.Get("value").String()))
		}
	})
	tlsBox := byID("connect-tls")
	on(byID("connect-port"), "input", false, func(js.Value) {
		if exists(tlsBox) {
			port, _ := strconv.Atoi(value("connect-port"))
			tlsBox.Set("checked", lesson.ImplicitTLSPort(port))
		}
	})
	on(byID("connect-form"), "submit", true, func(js.Value) {
		port, err := strconv.Atoi(value("connect-port"))
		if err != nil {
			c.ui.Line(term.Error(tr("term.bad-port", strconv.Quote(value("connect-port")))))
			return
		}
		c.term.Open(strings.TrimSpace(strings.ToLower(value("connect-host"))), port, exists(tlsBox) && tlsBox.Get("checked").Bool())
		input.Call("focus") // the next thing to do is type in it
	})
	on(byID("disconnect-button"), "click", false, func(js.Value) { c.term.Close() })
	chips := document.Call("querySelectorAll", ".quick .chip")
	for i := 0; i < chips.Length(); i++ {
		chip := chips.Index(i)
		on(chip, "click", false, func(js.Value) { c.input(data(chip, "cmd")) })
	}
	on(byID("auth-form"), "submit", true, func(js.Value) {
		c.term.Auth(value("auth-mech"), value("auth-user"), value("auth-pass"))
	})
	preview := func(js.Value) {
		setText(byID("auth-preview"), term.AuthPreview(ui, value("auth-mech"), value("auth-user"), value("auth-pass")))
	}
	for _, id := range []string{"auth-mech", "auth-user", "auth-pass"} {
		on(byID(id), "input", false, preview)
	}
	preview(js.Null())
	on(byID("data-form"), "submit", true, func(js.Value) {
		env := byID("msg-envelope")
		c.term.Send(term.Message{
			From: value("msg-from"), To: value("msg-to"), Subject: value("msg-subject"), Body: value("msg-body"),
			Envelope: exists(env) && env.Get("checked").Bool(),
		})
	})
}

// wirePickers makes the profile and host pickers and the port board live.
func (c *client) wirePickers() {
	on(byID("pickers"), "submit", true, func(js.Value) {})
	on(byID("profile"), "change", false, func(js.Value) {
		name := value("profile")
		if err := c.setProfile(name); err != nil {
			c.ui.Line(term.Error(tr("term.lab-switch-failed", name, err.Error())))
		}
		c.describeProfile(name)
	})
	on(byID("host"), "change", false, func(js.Value) {
		c.ui.setBoardHost(value("host"))
	})
	cells := document.Call("querySelectorAll", ".board .port")
	for i := 0; i < cells.Length(); i++ {
		cell := cells.Index(i)
		on(cell, "click", false, func(js.Value) {
			port, _ := strconv.Atoi(data(cell, "port"))
			host := c.ui.host()
			if ch := byID("connect-port"); exists(ch) {
				ch.Set("value", strconv.Itoa(port))
			}
			implicit := lesson.ImplicitTLSPort(port) // as "open HOST PORT" does
			if tb := byID("connect-tls"); exists(tb) {
				tb.Set("checked", implicit)
			}
			c.term.Open(host, port, implicit)
			if in := byID("term-input"); exists(in) {
				in.Call("focus")
			}
		})
	}
}

// describeProfile shows the chosen profile's description under the picker.
func (c *client) describeProfile(name string) {
	sel := byID("profile")
	if !exists(sel) {
		return
	}
	opts := sel.Get("options")
	for i := 0; i < opts.Length(); i++ {
		if o := opts.Index(i); o.Get("value").String() == name {
			setText(byID("profile-description"), o.Get("title").String())
		}
	}
}

// firstDoor is the first SMTP door the board's host lists (25 on
// mx.sandbox.test), so the first command suggested opens; else the
// connect form's port.
func firstDoor() string {
	if cell := document.Call("querySelector", ".board .port:not(.retrieval)[data-listed=true]"); exists(cell) {
		return data(cell, "port")
	}
	return value("connect-port")
}
