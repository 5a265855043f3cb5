package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios/session"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// At the hotel, port 25 reaches the hotel's own server, and the tab's TLS
// client refuses its certificate naming that host alone: the student reads
// "the certificate is for smtp.hotel-wifi.test, not mx.example.org", not a
// list with the real listeners' names (localhost) in it.
func TestHotelCertificateNamesOneHost(t *testing.T) {
	s := startTestSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := tunnel.Dial(ctx, tunnel.Target{Server: s.URL(), Profile: "hotel-wifi", Host: "mx.example.org", Port: 25})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess := session.New(c, session.Config{Host: "mx.example.org", RootCAs: s.CA().Pool()})
	defer sess.Close()
	if _, err := sess.ReadReply(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Cmd(ctx, "EHLO laptop.example"); err != nil {
		t.Fatal(err)
	}
	_, err = sess.StartTLS(ctx)
	var herr *session.HandshakeError
	if !errors.As(err, &herr) {
		t.Fatalf("STARTTLS = %v, want a *session.HandshakeError", err)
	}
	const want = "the certificate is for smtp.hotel-wifi.test, not mx.example.org: this is not the server you asked for, so the client stops"
	if got := herr.Words(); got != want {
		t.Errorf("the tab says %q\nwant          %q", got, want)
	}
}
