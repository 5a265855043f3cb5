package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/tunnel"
)

// cmdDial is a netcat through the simulated network: stdin and stdout are
// joined to HOST:PORT as the student's network lets them through, so any
// real client (swaks --pipe, openssl s_client via socat, a human) can
// cross the simulated ISP. Failures are printed the way telnet prints them.
func cmdDial(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portlab dial", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:8080", "the portlab server")
	labID := fs.String("lab", "", "the lab to dial from (default: the shared classroom)")
	key := fs.String("key", "", "the lab's key (the \"key\" its creation answered); needed with --lab")
	profile := fs.String("profile", "", "the network profile (default: the lab's)")
	quiet := fs.Bool("q", false, "do not print Trying/Connected lines on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: portlab dial [--server URL] [--lab ID --key KEY] [--profile NAME] HOST PORT")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return exitError(2)
	}
	port, err := strconv.Atoi(fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "portlab dial: %q is not a port\n", fs.Arg(1))
		return exitError(2)
	}
	t := tunnel.Target{Server: *server, Lab: *labID, Key: *key, Profile: *profile, Host: fs.Arg(0), Port: port}
	if !*quiet {
		fmt.Fprintf(stderr, "Trying %s...\n", t.Host)
	}
	c, err := tunnel.Dial(ctx, t)
	if err != nil {
		// telnet's words: "telnet: Unable to connect to remote host:
		// Connection refused".
		fmt.Fprintf(stderr, "portlab dial: Unable to connect to remote host: %v\n", err)
		return exitError(1)
	}
	defer c.Close()
	if !*quiet {
		info := c.Info()
		fmt.Fprintf(stderr, "Connected to %s.\n", t.Host)
		if info.InterceptedBy != "" {
			fmt.Fprintf(stderr, "(the network hands this connection to %s)\n", info.InterceptedBy)
		}
	}
	done := make(chan error, 2)
	go func() {
		_, err := io.Copy(stdout, c)
		done <- err
	}()
	go func() {
		_, err := io.Copy(c, stdin)
		// stdin ended: keep reading what the server still says, as nc -q
		// does not; the server closes after QUIT.
		if err != nil {
			done <- err
		}
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		return nil
	}
	var ce *tunnel.CloseError
	switch {
	case errors.As(err, &ce):
		// The gateway ended the tunnel with a reason (the server shutting
		// down, the idle limit): worded as the page words it.
		fmt.Fprintln(stderr, scenarios.StateChange{State: scenarios.StateClosed, ByPeer: true, Err: err}.Note())
		return exitError(1)
	case err != nil && !errors.Is(err, io.EOF):
		fmt.Fprintf(stderr, "portlab dial: %v\n", err)
		return exitError(1)
	}
	if !*quiet {
		fmt.Fprintln(stderr, "Connection closed by foreign host.")
	}
	return nil
}
