package gateway_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/events"
	"github.com/portlab/portlab/server/gateway"
	"github.com/portlab/portlab/server/sandbox"
)

// A tunnel waiting on a dropped port when the server shuts down ends at
// once with 1001 and the shutdown reason, not with a time-out it would
// never have reached.
func TestShutdownEndsDroppedTunnelWith1001(t *testing.T) {
	e := start(t, sandbox.Config{DropTimeout: time.Hour})
	sub := e.Bus().Subscribe(16, func(ev events.Event) bool { return ev.Kind == events.Dial })
	defer sub.Close()
	dialed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := tunnel.Dial(ctx, tunnel.Target{Server: e.url, Profile: "cloud-vm", Host: "mx.sandbox.test", Port: 25})
		dialed <- err
	}()
	<-sub.C // the gateway holds the tunnel on the dropped port
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := <-dialed
	var ce *tunnel.CloseError
	if !errors.As(err, &ce) || ce.Code != tunnel.CodeGoingAway || ce.Reason != gateway.ShutdownReason {
		t.Fatalf("dial ended with %v; want 1001 %q", err, gateway.ShutdownReason)
	}
}
