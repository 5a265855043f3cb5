package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/headless"
	"github.com/portlab/portlab/scenarios/lesson"
	"github.com/portlab/portlab/server/sandbox"
)

var scenariosUsage = `usage:
  portlab scenarios list                 the lessons, in course order
  portlab scenarios lint [--hosts FILE] [--profiles FILE] [--lang TAG] [FILE...]
                                         check lesson files (default: the built-in ones)
                                         against the world portlab serve loads with the
                                         same flags; errors are file:line: message;
                                         --lang also lists the steps not translated into
                                         TAG and those translated from an older English text
  portlab scenarios run [--server URL] [-v] [--lang TAG] [--all | NAME...]
                                         play lessons headless against a running
                                         portlab, or one started in-process when
                                         --server is not given; --lang plays them in TAG
  portlab scenarios translate --lang TAG NAME
                                         print NAME.TAG.md to start a translation from:
                                         the lesson's text in English, each step with
                                         the source: its English text has now

languages: ` + languageList + `
`

var languageList = strings.Join(lesson.Languages, ", ")

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
	case "translate":
		return cmdScenariosTranslate(args[1:], stdout, stderr)
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
	lang := fs.String("lang", "", "also list what is missing or outdated in this translation ("+languageList+")")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *lang != "" && !slices.Contains(lesson.Languages, *lang) {
		fmt.Fprintf(stderr, "portlab scenarios lint: no language %q (languages: %s)\n", *lang, languageList)
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
	if *lang != "" {
		lib, err := scenarios.Builtin()
		if err != nil {
			return err
		}
		lag := lib.Lag(*lang)
		for _, f := range lag {
			fmt.Fprintln(stderr, f)
		}
		if len(lag) > 0 {
			fmt.Fprintf(stderr, "%s: %d parts to translate or update (whole lessons, introductions or steps)\n", *lang, len(lag))
			return exitError(1)
		}
		fmt.Fprintf(stdout, "lessons ok, %s complete and current\n", *lang)
		return nil
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
	lang := fs.String("lang", "", "play the lessons in this translation ("+languageList+"; default English)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *lang != "" && !slices.Contains(lesson.Languages, *lang) {
		fmt.Fprintf(stderr, "portlab scenarios run: no language %q (languages: %s)\n", *lang, languageList)
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
	r := &headless.Runner{Server: url, Out: stdout, Verbose: *verbose, Lang: *lang}
	if err := r.Run(ctx, names); err != nil {
		fmt.Fprintln(stderr, "portlab scenarios run:", err)
		return exitError(1)
	}
	return nil
}

// cmdScenariosTranslate prints the file a translation starts from.
func cmdScenariosTranslate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("portlab scenarios translate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", "", "the translation's language ("+languageList+")")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if !slices.Contains(lesson.Languages, *lang) || fs.NArg() != 1 {
		fmt.Fprintf(stderr, "usage: portlab scenarios translate --lang TAG NAME (languages: %s)\n", languageList)
		return exitError(2)
	}
	lib, err := scenarios.Builtin()
	if err != nil {
		return err
	}
	l, ok := lib.Lesson(fs.Arg(0), "en")
	if !ok {
		fmt.Fprintf(stderr, "portlab scenarios translate: no lesson %q\n", fs.Arg(0))
		return exitError(2)
	}
	_, err = io.WriteString(stdout, lesson.Skeleton(l))
	return err
}
