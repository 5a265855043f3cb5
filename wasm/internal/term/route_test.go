package term

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// TestRouteWords is the diagram's states and their words: the boxes'
// labels and the sentence a screen reader reads.
func TestRouteWords(t *testing.T) {
	for _, tt := range []struct {
		name           string
		r              Route
		effect         NetEffect
		door           DoorState
		net, doorLabel string
		sentence       string
	}{
		{"idle", Route{Profile: "home-isp", State: Idle}, EffectNone, DoorUnreached, "", "",
			"No connection yet: connections cross the home-isp network."},
		{"connecting", Route{Profile: "home-isp", Host: "mx.sandbox.test", Port: 25, State: Connecting}, EffectTrying, DoorUnreached, "trying port 25…", "",
			"Connecting to mx.sandbox.test port 25 through home-isp."},
		{"refused by the network", Route{Profile: "home-isp", Host: "mx.sandbox.test", Port: 25, State: Refused, Refused: scenarios.RefusedByNetwork}, EffectRefused, DoorUnreached, "refused by home-isp", "never reached",
			"home-isp refuses outbound port 25 before it reaches mx.sandbox.test."},
		{"no door", Route{Profile: "home-isp", Host: "smtp.relay.test", Port: 465, State: Refused, Refused: scenarios.RefusedByHost}, EffectPasses, DoorNone, "passes port 465", "no door on smtp.relay.test",
			"home-isp lets port 465 through, but smtp.relay.test has no door on port 465: the host refuses it."},
		{"dropped", Route{Profile: "cloud-vm", Host: "smtp.relay.test", Port: 587, State: TimedOut}, EffectDropped, DoorUnreached, "dropped by cloud-vm", "never reached",
			"cloud-vm drops port 587: nothing reaches smtp.relay.test, and the connection times out."},
		{"unknown host", Route{Profile: "home-isp", Host: "nowhere.test", Port: 25, State: UnknownHost}, EffectNone, DoorUnknown, "", "not in the world",
			"nowhere.test is not a host of the sandbox's world: nothing was dialled."},
		{"passes", Route{Profile: "home-isp", Host: "smtp.relay.test", Port: 587, State: Connected, Reached: true}, EffectPasses, DoorOpen, "passes port 587", "door 587 open",
			"home-isp passes port 587 to smtp.relay.test; nothing is encrypted yet."},
		{"encrypted", Route{Profile: "home-isp", Host: "smtp.relay.test", Port: 587, State: Secure, Secure: true, Reached: true}, EffectPasses, DoorOpen, "passes port 587", "door 587 open",
			"home-isp passes port 587 to smtp.relay.test; every hop is encrypted with TLS."},
		{"stripped", Route{Profile: "hotel-wifi", Host: "smtp.relay.test", Port: 587, State: Connected, Stripped: true, Reached: true}, EffectStripped, DoorOpen, "STARTTLS stripped to XXXXXXXX", "door 587 open",
			"hotel-wifi passes port 587 to smtp.relay.test but strips STARTTLS from the server's list (it reads XXXXXXXX); nothing is encrypted yet."},
		{"intercepted", Route{Profile: "hotel-wifi", Host: "mx.sandbox.test", Port: 25, State: Connected, InterceptedBy: "smtp.hotel-wifi.test", Reached: true}, EffectIntercepted, DoorOpen, "intercepted by smtp.hotel-wifi.test", "smtp.hotel-wifi.test answers instead",
			"hotel-wifi intercepts port 25: smtp.hotel-wifi.test answers instead of mx.sandbox.test; nothing is encrypted yet."},
		{"silent", Route{Profile: "home-isp", Host: "legacy.mail.test", Port: 465, State: Silent, Reached: true}, EffectPasses, DoorSilent, "passes port 465", "door 465 open, silent",
			"home-isp passes port 465 to legacy.mail.test; the server is silent, waiting for TLS."},
		{"closed", Route{Profile: "home-isp", Host: "smtp.relay.test", Port: 587, State: Closed, Reached: true}, EffectPasses, DoorClosed, "passes port 587", "connection closed",
			"home-isp passes port 587 to smtp.relay.test; the connection is closed."},
		{"no profile", Route{Host: "mx.sandbox.test", Port: 25, State: Refused, Refused: scenarios.RefusedByNetwork}, EffectRefused, DoorUnreached, "refused by your network", "never reached",
			"your network refuses outbound port 25 before it reaches mx.sandbox.test."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			if r.Effect() != tt.effect || r.Door() != tt.door {
				t.Errorf("effect %q door %q, want %q %q", r.Effect(), r.Door(), tt.effect, tt.door)
			}
			if r.NetworkLabel(nil) != tt.net || r.DoorLabel(nil) != tt.doorLabel {
				t.Errorf("labels %q / %q, want %q / %q", r.NetworkLabel(nil), r.DoorLabel(nil), tt.net, tt.doorLabel)
			}
			if r.Sentence(nil) != tt.sentence {
				t.Errorf("sentence\n %q\nwant\n %q", r.Sentence(nil), tt.sentence)
			}
		})
	}
}

func TestVerdictAt(t *testing.T) {
	for _, tt := range []struct {
		p    PortState
		want string
	}{
		{PortRefused, "refused by home-isp"},
		{PortNoDoor, "no door on smtp.relay.test"},
		{PortTimeout, "timed out"},
		{PortOpen, "open"},
	} {
		if got := tt.p.VerdictAt(nil, "home-isp", "smtp.relay.test"); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.p, got, tt.want)
		}
	}
}

// routeRecorder is a recorder that draws routes too.
type routeRecorder struct {
	*recorder
	rmu    sync.Mutex
	routes []Route
}

func (r *routeRecorder) Route(rt Route) {
	r.rmu.Lock()
	r.routes = append(r.routes, rt)
	r.rmu.Unlock()
	r.poke()
}

func (r *routeRecorder) lastRoute() Route {
	r.rmu.Lock()
	defer r.rmu.Unlock()
	if len(r.routes) == 0 {
		return Route{}
	}
	return r.routes[len(r.routes)-1]
}

// infoConn is a tunnelled connection with the gateway's connected message.
type infoConn struct {
	net.Conn
	info tunnel.Info
}

func (c infoConn) Info() tunnel.Info { return c.info }

// The terminal drives the diagram from its state changes: who refused,
// and the gateway's word on the path once connected.
func TestTerminalRoute(t *testing.T) {
	profile := func() string { return "home-isp" }
	t.Run("refusals", func(t *testing.T) {
		for _, tt := range []struct {
			code int
			port PortState
			want string
		}{
			{tunnel.CodeRefused, PortRefused, "home-isp refuses outbound port 25 before it reaches mx.sandbox.test."},
			{tunnel.CodeNoDoor, PortNoDoor, "home-isp lets port 25 through, but mx.sandbox.test has no door on port 25: the host refuses it."},
		} {
			ui := &routeRecorder{recorder: newRecorder()}
			term := New(Config{UI: ui, Profile: profile, Dial: func(context.Context, string, int) (net.Conn, error) {
				return nil, &tunnel.CloseError{Code: tt.code}
			}})
			term.Open("mx.sandbox.test", 25, false)
			ui.waitFor(t, "refused", func(r *recorder) bool { return r.last() == Refused })
			ui.waitFor(t, "route", func(*recorder) bool { return ui.lastRoute().State == Refused })
			if got := ui.lastRoute().Sentence(nil); got != tt.want {
				t.Errorf("%d: %q, want %q", tt.code, got, tt.want)
			}
			ui.mu.Lock()
			if ui.ports[25] != tt.port {
				t.Errorf("%d: port 25 %q, want %q", tt.code, ui.ports[25], tt.port)
			}
			ui.mu.Unlock()
		}
	})
	t.Run("stripped", func(t *testing.T) {
		ui := &routeRecorder{recorder: newRecorder()}
		server := make(chan net.Conn, 1)
		term := New(Config{UI: ui, Profile: profile, Dial: func(context.Context, string, int) (net.Conn, error) {
			c, s := net.Pipe()
			server <- s
			return infoConn{c, tunnel.Info{Type: tunnel.TypeConnected, Host: "smtp.relay.test", Port: 587, Profile: "hotel-wifi", Stripped: true}}, nil
		}})
		term.Open("smtp.relay.test", 587, false)
		s := <-server
		t.Cleanup(func() { s.Close(); term.Close() })
		ui.waitFor(t, "connected", func(*recorder) bool { return ui.lastRoute().State == Connected })
		r := ui.lastRoute()
		if r.NetworkLabel(nil) != "STARTTLS stripped to XXXXXXXX" || r.Profile != "hotel-wifi" {
			t.Errorf("route %+v: %q", r, r.NetworkLabel(nil))
		}
	})
}
