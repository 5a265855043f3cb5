package sandbox

import (
	"net"

	"github.com/portlab/portlab/server/relay"
	"github.com/portlab/portlab/server/world"
)

// RelayDoor is the relay's view of a simulated host's SMTP door.
func RelayDoor(h *world.Host, d world.Door) relay.Door {
	return relay.Door{Host: d.Host, Port: d.PolicyPort, NoSTARTTLS: !h.STARTTLS, LocalDomains: h.LocalDomains, Greylist: h.Greylist, UntrustedCert: h.UntrustedCert}
}

// Routes is the relay's MX lookup in the simulated world: the port-25 door
// of the host final for a domain.
type Routes struct{ World *world.World }

// MX finds the door that takes mail for domain.
func (r Routes) MX(domain string) (relay.Door, bool) {
	h, ok := r.World.MX(domain)
	if !ok {
		return relay.Door{}, false
	}
	d, ok := h.Door(25)
	if !ok || !d.Service.IsSMTP() {
		return relay.Door{}, false
	}
	return RelayDoor(h, d), true
}

// relayDoors is the relay as the gateway sees it: it joins a tunnel to a
// simulated host's door.
type relayDoors struct{ r *relay.Relay }

func (rd relayDoors) ServeConn(c net.Conn, h *world.Host, d world.Door, meta relay.Meta) error {
	return rd.r.ServeConn(c, RelayDoor(h, d), meta)
}
