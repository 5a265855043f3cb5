package netsim

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/portlab/portlab/internal/i18n"
	"github.com/portlab/portlab/server/world"
)

// TestRoute checks each kind of outcome on the default world and
// profiles, with the host and door that answer and the effects on the way.
func TestRoute(t *testing.T) {
	w, set := world.Default(), Default()
	tests := []struct {
		profile, host string
		port          int
		kind          Kind
		answering     string // "" when nothing answers
		intercepted   bool
		stripped      bool
		effects       int
		source        string
		why           string // a part of Why
	}{
		{"home-isp", "nowhere.test", 25, UnknownHost, "", false, false, 0, "invalid IP", "nowhere.test is not a host"},
		{"home-isp", "MX.Sandbox.Test.", 25, Refused, "", false, false, 0, "198.51.100.23", "outbound port 25 is refused"},
		{"datacenter", "smtp.relay.test", 465, Closed, "", false, false, 0, "10.0.5.20", "smtp.relay.test has no service on port 465"},
		{"cloud-vm", "smtp.relay.test", 587, TimedOut, "", false, false, 0, "198.51.100.23", "is dropped"},
		{"cloud-vm", "smtp.relay.test", 2525, Connected, "smtp.relay.test", false, false, 0, "198.51.100.23", "nothing on this network blocks port 2525"},
		{"hotel-wifi", "mx.example.org", 25, Connected, "smtp.hotel-wifi.test", true, false, 1, "198.51.100.23", "intercepted"},
		{"hotel-wifi", "smtp.relay.test", 587, Connected, "smtp.relay.test", false, true, 2, "198.51.100.23", "strips STARTTLS"},
		{"hotel-wifi", "smtp.relay.test", 465, Closed, "", false, false, 0, "198.51.100.23", "no service on port 465"},
	}
	for _, tt := range tests {
		o := Route(w, mustProfile(t, set, tt.profile), tt.host, tt.port)
		name := fmt.Sprintf("%s %s:%d", tt.profile, tt.host, tt.port)
		if o.Kind != tt.kind || o.Intercepted != tt.intercepted || o.Stripped() != tt.stripped || len(o.Effects) != tt.effects || !strings.Contains(o.Why, tt.why) {
			t.Errorf("%s: %+v, want %s intercepted=%v stripped=%v %d effects, why ~ %q", name, o, tt.kind, tt.intercepted, tt.stripped, tt.effects, tt.why)
		}
		if o.Source.String() != tt.source {
			t.Errorf("%s: source %s, want %s", name, o.Source, tt.source)
		}
		answering := ""
		if o.Answering != nil {
			answering = o.Answering.Name
		}
		if answering != tt.answering || tt.kind == Connected && (o.Door.Host != tt.answering || o.Door.Port != tt.port) {
			t.Errorf("%s: answered by %q door %+v, want %q", name, answering, o.Door, tt.answering)
		}
		if tt.kind == TimedOut && o.Timeout != 5*time.Second {
			t.Errorf("%s: timeout %v, want the profile's 5s", name, o.Timeout)
		}
	}
}

// TestOutcomeWrapOrder checks that Wrap puts the effects on in the order
// of the profile: the first is nearest the server.
func TestOutcomeWrapOrder(t *testing.T) {
	var order []string
	o := Outcome{Effects: []Effect{&recordEffect{name: "a", order: &order}, &recordEffect{name: "b", order: &order}}}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	o.Wrap(a)
	if strings.Join(order, "") != "ab" {
		t.Errorf("wrapped in order %v, want a then b", order)
	}
}

type recordEffect struct {
	Target
	name  string
	order *[]string
}

func (r *recordEffect) Match(string, int) bool                    { return true }
func (r *recordEffect) Apply(v *Verdict)                          { v.Effects = append(v.Effects, r) }
func (r *recordEffect) Explain(*i18n.Catalog, string, int) string { return r.name }
func (r *recordEffect) Wrap(c net.Conn) net.Conn                  { *r.order = append(*r.order, r.name); return c }
