package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// A flag not on the command line comes from its environment twin; one
// on the command line wins; a repeatable flag takes a list.
func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("PORTLAB_HTTP", "127.0.0.1:9999")
	t.Setenv("PORTLAB_LAB_TTL", "5m")
	t.Setenv("PORTLAB_SMTP_LISTEN", "false")
	t.Setenv("PORTLAB_ALLOW_ORIGIN", "a.example, b.example")
	t.Setenv("PORTLAB_LOG_FORMAT", "json")
	o, err := parseServeFlags([]string{"--http", "127.0.0.1:7777", "--log-format=text"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.HTTP != "127.0.0.1:7777" || o.LogFormat != "text" {
		t.Errorf("the command line lost to the environment: --http %s, --log-format %s", o.HTTP, o.LogFormat)
	}
	if o.LabTTL != 5*time.Minute || o.SMTPListen || !slices.Equal(o.Origins, stringList{"a.example", "b.example"}) {
		t.Errorf("from the environment: lab-ttl %v, smtp-listen %v, origins %q", o.LabTTL, o.SMTPListen, o.Origins)
	}

	t.Setenv("PORTLAB_LAB_TLL", "5m")
	if o, _ := parseServeFlags(nil, io.Discard); !slices.Contains(o.UnknownEnv, "PORTLAB_LAB_TLL") || slices.Contains(o.UnknownEnv, "PORTLAB_LAB_TTL") {
		t.Errorf("unknown variables: %q; want PORTLAB_LAB_TLL, not PORTLAB_LAB_TTL", o.UnknownEnv)
	}

	t.Setenv("PORTLAB_LABS_PER_CLIENT", "ten")
	var stderr strings.Builder
	if _, err := parseServeFlags(nil, &stderr); err == nil || !strings.Contains(stderr.String(), "PORTLAB_LABS_PER_CLIENT") {
		t.Errorf("a bad environment value: %v, %q", err, stderr.String())
	}
}

// `portlab serve --help` names every flag's environment twin.
func TestHelpListsEnvironment(t *testing.T) {
	var help strings.Builder
	parseServeFlags([]string{"--help"}, &help)
	n := 0
	for _, l := range strings.Split(help.String(), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(l), "-"); ok {
			name := strings.Fields(f)[0]
			n++
			if !strings.Contains(help.String(), "$"+envName(name)+"]") {
				t.Errorf("--help does not name $%s for -%s", envName(name), name)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d flags in --help:\n%s", n, help.String())
	}
}

func TestLogOptions(t *testing.T) {
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}} {
		if _, err := parseServeFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// SIGTERM (main's context ending) drains the server and logs it, in JSON
// with --log-format json.
func TestServeStopsOnSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- cmdServe(ctx, []string{"--smtp-listen=false", "--http", "127.0.0.1:0", "--data", t.TempDir(), "--log-format", "json", "--teacher-password", "pw-for-the-test"}, outW, errW)
		outW.Close()
		errW.Close()
	}()
	go io.Copy(io.Discard, outR)
	logs := bufio.NewScanner(errR)
	var msgs []string
	for logs.Scan() {
		var rec struct {
			Level, Msg string
		}
		if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
			t.Fatalf("not a JSON log line: %s", logs.Text())
		}
		if rec.Level == "INFO" {
			msgs = append(msgs, rec.Msg)
		}
		if rec.Msg == "serving" {
			cancel() // as SIGTERM does
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := []string{"serving", "shutting down", "stopped"}; !slices.Equal(msgs, want) {
		t.Errorf("logged %q, want %q", msgs, want)
	}
}

// --trusted-proxies takes a comma-separated list, from the command line or
// its environment twin, and a value that is no network stops the start
// with a message naming it.
func TestTrustedProxiesFlag(t *testing.T) {
	o, err := parseServeFlags([]string{"--trusted-proxies", "10.0.0.0/8, fd00::/8", "--trusted-proxies=192.0.2.7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.config(slog.New(slog.DiscardHandler)).TrustedProxies.String(); got != "10.0.0.0/8,fd00::/8,192.0.2.7/32" {
		t.Errorf("--trusted-proxies: %s", got)
	}
	if o, _ := parseServeFlags(nil, io.Discard); len(o.TrustedProxies.Proxies) != 0 {
		t.Errorf("default: %s, want none", o.TrustedProxies)
	}
	t.Setenv("PORTLAB_TRUSTED_PROXIES", "10.42.0.0/16,10.43.0.0/16")
	if o, err := parseServeFlags(nil, io.Discard); err != nil || o.TrustedProxies.String() != "10.42.0.0/16,10.43.0.0/16" {
		t.Errorf("from PORTLAB_TRUSTED_PROXIES: %s, %v", o.TrustedProxies, err)
	}
	for _, args := range [][]string{{"--trusted-proxies", "10.0.0.0/33"}, {"--trusted-proxies", "ingress-nginx"}} {
		var stderr strings.Builder
		if _, err := parseServeFlags(args, &stderr); err == nil || !strings.Contains(stderr.String(), "is not a network in CIDR notation") || !strings.Contains(stderr.String(), args[1]) {
			t.Errorf("%q: err %v, stderr %q", args, err, firstLine(stderr.String()))
		}
	}
	t.Setenv("PORTLAB_TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.300")
	var stderr strings.Builder
	if _, err := parseServeFlags(nil, &stderr); err == nil || !strings.Contains(stderr.String(), `PORTLAB_TRUSTED_PROXIES="10.0.0.0/8,10.0.0.300": "10.0.0.300" is not a network`) {
		t.Errorf("a bad PORTLAB_TRUSTED_PROXIES: err %v, stderr %q", err, stderr.String())
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
