// Command portlab is the SMTP ports teaching sandbox: one binary that runs
// the sandboxed relay on the lesson ports (25, 465, 587, 2525), the
// simulated network, the WebSocket gateway and the web pages, and the
// command-line tools around them.
//
//	portlab serve       start the sandbox
//	portlab ca          print the sandbox CA certificate (PEM)
//	portlab policy      print the built-in relay policy file
//	portlab dial        a netcat through the simulated network
//	portlab scenarios   list, lint and run the lessons headless
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var ex exitError
	switch {
	case errors.As(err, &ex):
		os.Exit(int(ex))
	case err != nil:
		fmt.Fprintln(os.Stderr, "portlab:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status and no further message: the
// command has already said what went wrong.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const usage = `portlab: the SMTP ports teaching sandbox

usage:
  portlab serve [flags]        start the sandbox (portlab serve -h lists flags)
  portlab ca [--data DIR]      print the sandbox CA certificate
  portlab policy               print the built-in relay policy file
  portlab dial [flags] HOST PORT
                               join stdin/stdout to HOST:PORT through the
                               simulated network (like telnet or nc)
  portlab scenarios list|lint|run
                               the lessons: list them, check lesson files,
                               play them headless
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError(2)
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "ca":
		return cmdCA(args[1:], stdout, stderr)
	case "policy":
		return cmdPolicy(stdout)
	case "dial":
		return cmdDial(ctx, args[1:], stdin, stdout, stderr)
	case "scenarios":
		return cmdScenarios(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "portlab: unknown command %q\n\n%s", args[0], usage)
	return exitError(2)
}
