//go:build !js

package tunnel

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRealGateway dials a running portlab server named by
// PORTLAB_TEST_SERVER (e.g. http://127.0.0.1:8080).
func TestRealGateway(t *testing.T) {
	server := os.Getenv("PORTLAB_TEST_SERVER")
	if server == "" {
		t.Skip("PORTLAB_TEST_SERVER not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := Dial(ctx, Target{Server: server, Profile: "home-isp", Host: "smtp.relay.test", Port: 587})
	if err != nil {
		t.Fatal(err)
	}
	if info := c.Info(); info.Type != TypeConnected || info.Host != "smtp.relay.test" || info.Port != 587 || info.Profile != "home-isp" {
		t.Errorf("Info = %+v", info)
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "220 smtp.relay.test") {
		t.Fatalf("greeting %q, %v", buf[:n], err)
	}
	c.Write([]byte("QUIT\r\n"))
	rest, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(rest), "221") {
		t.Fatalf("after QUIT: %q, %v (want 221 then EOF)", rest, err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after the server hung up: %v", err)
	}

	for _, tt := range []struct {
		t  Target
		is error
	}{
		{Target{Server: server, Profile: "home-isp", Host: "mx.sandbox.test", Port: 25}, ErrRefused},
		{Target{Server: server, Host: "smtp.relay.test", Port: 465}, ErrRefused},
		{Target{Server: server, Host: "nowhere.test", Port: 25}, ErrUnknownHost},
		{Target{Server: server, Host: "localhost", Port: 25}, ErrUnknownHost},
	} {
		_, err := Dial(ctx, tt.t)
		var ce *CloseError
		if !errors.Is(err, tt.is) || !errors.As(err, &ce) || ce.Reason == "" {
			t.Errorf("%s under %q: %v, want %v with a reason", tt.t, tt.t.Profile, err, tt.is)
		}
	}
	_, err = Dial(ctx, Target{Server: server, Lab: "no-such-lab", Host: "mx.sandbox.test", Port: 25})
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != CodeNoSuchLab {
		t.Errorf("unknown lab: %v", err)
	}
}
