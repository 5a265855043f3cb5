package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/headless"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/server/sandbox"
)

const scenariosUsage = `usage:
  portlab scenarios list                 the lessons, in course order
  portlab scenarios lint [--hosts FILE] [--profiles FILE] [FILE...]
                                         check lesson files (default: the built-in ones)
                                         against the world portlab serve loads with the
                                         same flags; errors are file:line: message
  portlab scenarios run [--server URL] [-v] [--all | NAME...]
                                         play lessons headless against a running
                                         portlab, or one started in-process when
                                         --server is not given
`

func cmdScenarios(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scenariosUsage)
		return exitError(2)
	}
	switch args[0] {
	case "list":
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tLEVEL\tMINUTES\tTEACHES\tTITLE")
		for _, l := range scenarios.List() {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", l.Name, l.Level, l.Minutes, strings.Join(l.Teaches, " "), l.Title)
		}
		return tw.Flush()
	case "lint":
		return cmdScenariosLint(args[1:], stdout, stderr)
	case "run":
		return cmdScenariosRun(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "portlab scenarios: unknown command %q\n%s", args[0], scenariosUsage)
	return exitError(2)
}

// cmdScenariosLint checks lessons against the hosts and profiles the
// server loads, so a teacher's own world files are checked too.
func cmdScenariosLint(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portlab scenarios lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hosts := fs.String("hosts", "", "simulated hosts file, as for portlab serve (default: built in)")
	profiles := fs.String("profiles", "", "network profiles file, as for portlab serve (default: built in)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	w, set, err := sandbox.LoadWorld(*hosts, *profiles)
	if err != nil {
		return err
	}
	p := lesson.Parser{Profiles: set.Names()}
	for _, h := range w.Hosts() {
		p.Hosts = append(p.Hosts, h.Name)
	}
	var errs []error
	if fs.NArg() == 0 {
		errs = scenarios.LintWith(p, nil, nil)
	} else {
		errs = scenarios.LintFilesWith(p, fs.Args())
	}
	for _, err := range errs {
		fmt.Fprintln(stderr, err)
	}
	if len(errs) > 0 {
		return exitError(1)
	}
	fmt.Fprintln(stdout, "lessons ok")
	return nil
}

func cmdScenariosRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portlab scenarios run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "a running portlab (default: start one in-process, browser gateway only)")
	all := fs.Bool("all", false, "play every lesson (the default when no NAME is given)")
	verbose := fs.Bool("v", false, "print every lesson's transcript, not only failed ones'")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	names := fs.Args()
	if *all {
		names = nil
	}
	url := *server
	if url == "" {
		s, err := sandbox.New(sandbox.Config{LabsPerClient: 1000, Version: version})
		if err != nil {
			return err
		}
		defer s.Close()
		url = s.URL()
	}
	r := &headless.Runner{Server: url, Out: stdout, Verbose: *verbose}
	if err := r.Run(ctx, names); err != nil {
		fmt.Fprintln(stderr, "portlab scenarios run:", err)
		return exitError(1)
	}
	return nil
}
