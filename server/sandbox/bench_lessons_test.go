package sandbox

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/headless"
	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/server/ca"
	"github.com/portlab/portlab/server/internal/pgtest"
)

// TestBenchLessons (PORTLAB_BENCH=1) is issue 14's side-by-side figure:
// the built-in lessons, in course order and round and round, played
// headless through the real gateway (WebSocket tunnels, as a browser
// plays them) by PORTLAB_BENCH_PLAYERS players at once (default 32)
// until PORTLAB_BENCH_LESSONS lessons are played (default 10 courses),
// first on one sandbox on the embedded store, then on three sandboxes
// sharing one throwaway PostgreSQL, spread as a round-robin load balancer
// spreads them: each lesson's lab is created on one replica, its tunnels
// go through the next, its mailbox and policy are read through the third.
//
// It prints one table: lessons per second for both and their ratio; the
// CPU a lesson costs (this process, players and replicas together, and
// PostgreSQL's processes) and so the rate the machine's cores bound; the
// delay from a 250 on one replica to the SSE event on another (p50, p95);
// then where this process's CPU went, from a CPU profile of each run.
//
// A lesson is mostly waiting (mailbox polls, time-outs, a 5 s greylist),
// so the measured rate grows with the players until the cores are busy;
// the ceiling is the cores over the CPU a lesson costs. Everything shares
// one machine, so three replicas cannot be faster here: the ratio is the
// price of the shared store, not a scaling figure. The only assertion is
// that every lesson passed.
func TestBenchLessons(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("a measurement: PORTLAB_BENCH=1")
	}
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	course := lib.Lessons()
	players := envInt(t, "PORTLAB_BENCH_PLAYERS", 32)
	lessons := envInt(t, "PORTLAB_BENCH_LESSONS", 10*len(course))
	if lessons < 2*players {
		t.Fatalf("%d lessons for %d players: the rate is measured while every player has a lesson to play; give at least twice as many lessons", lessons, players)
	}

	// One CA for every sandbox, as a Kubernetes Secret gives replicas:
	// a player fetches it from one replica and meets TLS on another.
	dir := t.TempDir()
	if _, err := ca.Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		CACert: filepath.Join(dir, "ca.pem"), CAKey: filepath.Join(dir, "ca-key.pem"),
		// Every player is at 127.0.0.1, as a class behind one school
		// address: the per-address bounds are raised for them, as
		// TestLoadClassHeadless does. Labs are deleted after their lesson.
		LabsPerClient: 4 * players, TunnelsPerClient: 4 * players,
		HTTPConns: 8 * players, HTTPConnsPerClient: 8 * players,
		// A dropped port's silence, shortened as in TestBuiltinLessons:
		// the lessons still see a time-out, the bench measures work.
		DropTimeout: 300 * time.Millisecond,
	}

	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	embedded := playLessons(t, "one", []*Sandbox{s}, lib, lessons, players, "")
	s.Close()

	dsn := pgtest.DSN(t)
	var three []*Sandbox
	for i := range 3 {
		c := cfg
		c.Store = dsn
		if i == 0 {
			c.PortOffset = "-1" // real listeners, for the 250 of the delay below
		}
		s, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		three = append(three, s)
	}
	shared := playLessons(t, "three", three, lib, lessons, players, dsn)
	delays := crossReplicaDelays(t, three[0], three[1], 300)

	var b strings.Builder
	cpus := runtime.NumCPU()
	fmt.Fprintf(&b, "%d built-in lessons (course order, round and round), %d players at once, headless through the gateway; %d CPUs, shared with whatever else runs\n\n", lessons, players, cpus)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tone replica, embedded store\tthree replicas, PostgreSQL\tthree / one")
	row := func(what string, one, three float64, format string) {
		fmt.Fprintf(tw, "%s\t"+format+"\t"+format+"\t%.2f\n", what, one, three, three/one)
	}
	row("lessons/s, all players busy", embedded.rate(), shared.rate(), "%.1f")
	row("mean time to play a lesson, s", embedded.meanLesson().Seconds(), shared.meanLesson().Seconds(), "%.2f")
	row("CPU per lesson, ms: this process (players and replicas)", ms(embedded.perLesson(embedded.cpu)), ms(shared.perLesson(shared.cpu)), "%.1f")
	fmt.Fprintf(tw, "CPU per lesson, ms: PostgreSQL\t-\t%.1f\t\n", ms(shared.perLesson(shared.pgCPU)))
	fmt.Fprintf(tw, "events crossing replicas per lesson\t-\t%.0f\t\n", float64(shared.crossed)/float64(shared.lessons))
	fmt.Fprintf(tw, "NOTIFYs per lesson (events sent together)\t-\t%.0f\t\n", float64(shared.notes)/float64(shared.lessons))
	fmt.Fprintf(tw, "events a full subscriber missed (the bus's Dropped)\t%d\t%d\t\n", embedded.dropped, shared.dropped)
	row(fmt.Sprintf("lessons/s the %d cores bound (cores / CPU per lesson)", cpus), embedded.ceiling(cpus), shared.ceiling(cpus), "%.1f")
	fmt.Fprintf(tw, "cores busy (CPU / wall)\t%.2f\t%.2f\t\n", embedded.busy(), shared.busy())
	fmt.Fprintf(tw, "250 on one replica to the SSE event on another (%d messages)\t-\tp50 %v, p95 %v\t\n",
		len(delays), delays[len(delays)/2].Round(time.Microsecond), delays[len(delays)*95/100].Round(time.Microsecond))
	tw.Flush()
	for _, r := range []*benchRun{embedded, shared} {
		fmt.Fprintf(&b, "\nwhere this process's CPU went, %s (%s):\n%s", r.name, r.profile, r.summary)
	}
	t.Log("\n" + b.String())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchRun is what playLessons measured.
type benchRun struct {
	name       string
	lessons    int
	wall       time.Duration // until the last lesson ended
	playing    time.Duration // until the first player found no lesson left
	played     int           // the lessons ended by then
	lessonTime time.Duration // the lessons' own times, added up
	cpu, pgCPU time.Duration // this process's; PostgreSQL's (0 without)
	notes      int           // the NOTIFYs that crossed the replicas
	crossed    int           // the events in them
	dropped    uint64        // the events a full subscriber missed
	profile    string        // the CPU profile's file
	summary    string        // the profile by package
}

// rate is lessons per second while every player had one to play: the
// last lessons, ended by fewer and fewer players, would understate it.
func (r *benchRun) rate() float64 { return float64(r.played) / r.playing.Seconds() }

// ceiling is the rate at which the cores would be busy all the time.
func (r *benchRun) ceiling(cores int) float64 {
	return float64(cores) * float64(r.lessons) / (r.cpu + r.pgCPU).Seconds()
}

func (r *benchRun) busy() float64 { return float64(r.cpu+r.pgCPU) / float64(r.wall) }

func (r *benchRun) meanLesson() time.Duration { return r.lessonTime / time.Duration(r.lessons) }

func (r *benchRun) perLesson(d time.Duration) time.Duration { return d / time.Duration(r.lessons) }

// playLessons plays n lessons with the given number of players at once,
// lesson i with its lab created on replica i, its tunnels through replica
// i+1 and its mailbox and policy read through replica i+2 (modulo the
// replicas), under a CPU profile. The players' goroutines carry the
// profile label side=players, so the profile tells their share from the
// replicas'. dsn, if set, is the PostgreSQL whose CPU is counted too.
// Every lesson must pass.
func playLessons(t *testing.T, name string, replicas []*Sandbox, lib *scenarios.Library, n, players int, dsn string) *benchRun {
	t.Helper()
	course := lib.Lessons()
	prof, err := os.CreateTemp("", "portlab-bench-"+name+"-*.pprof")
	if err != nil {
		t.Fatal(err)
	}
	defer prof.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a failure bound only
	defer cancel()

	r := &benchRun{name: name, lessons: n, profile: prof.Name()}
	var next atomic.Int64
	var mu sync.Mutex
	var failed []string
	notes := countNotes(ctx, t, dsn)
	dropped := func() (n uint64) {
		for _, s := range replicas {
			n += s.Bus().Dropped()
		}
		return n
	}
	droppedBefore := dropped()
	pgBefore := postgresCPU(t, dsn)
	cpuBefore := processCPU()
	began := time.Now()
	if err := pprof.StartCPUProfile(prof); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range players {
		wg.Go(func() {
			pprof.Do(ctx, pprof.Labels("side", "players"), func(ctx context.Context) {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						mu.Lock()
						if r.playing == 0 {
							r.playing = time.Since(began)
						}
						mu.Unlock()
						return
					}
					l := course[i%len(course)]
					lab := replicas[i%len(replicas)].URL()
					tun := replicas[(i+1)%len(replicas)].URL()
					api := &httpapi.Client{Server: replicas[(i+2)%len(replicas)].URL()}
					var out bytes.Buffer
					run := &headless.Runner{Server: lab, Out: &out, Library: lib, Engine: func(e *scenarios.Engine) {
						e.Server = tun
						own := &httpapi.Lab{ID: e.Lab, Key: e.Key}
						e.Mailbox = httpapi.Mailbox{Client: api, Lab: own}
						e.Policy = httpapi.LabPolicy{Client: api, Lab: own}
					}}
					start := time.Now()
					err := run.Run(ctx, []string{l.Name})
					mu.Lock()
					r.lessonTime += time.Since(start)
					if r.playing == 0 {
						r.played++
					}
					if err != nil {
						failed = append(failed, fmt.Sprintf("%s, lesson %d: %v\n%s", name, i, err, out.String()))
					}
					mu.Unlock()
				}
			})
		})
	}
	wg.Wait()
	pprof.StopCPUProfile()
	r.wall, r.cpu = time.Since(began), processCPU()-cpuBefore
	r.pgCPU = postgresCPU(t, dsn) - pgBefore
	r.notes, r.crossed = notes()
	r.dropped = dropped() - droppedBefore
	for i, f := range failed {
		if i == 3 {
			t.Errorf("%s: and %d more lessons failed", name, len(failed)-3)
			break
		}
		t.Error(f)
	}
	r.summary = profileByPackage(t, prof.Name())
	return r
}

// countNotes counts the notifications on the replicas' channel
// (package replica's "portlab_events") and the events they carry, from
// now until the returned function is called, which returns the counts.
// Without dsn it counts nothing.
func countNotes(ctx context.Context, t *testing.T, dsn string) func() (notes, events int) {
	t.Helper()
	if dsn == "" {
		return func() (int, int) { return 0, 0 }
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN portlab_events"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var n, ev atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nt, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			var p struct{ Events []json.RawMessage }
			json.Unmarshal([]byte(nt.Payload), &p)
			n.Add(1)
			ev.Add(int64(len(p.Events)))
		}
	}()
	return func() (int, int) {
		cancel()
		<-done
		conn.Close(context.Background())
		return int(n.Load()), int(ev.Load())
	}
}

// envInt reads a positive count from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// processCPU is the user and system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU the PostgreSQL server at dsn has used so far:
// its postmaster's (with its ended backends', which it has reaped) and
// its live backends'. Linux's /proc; the postmaster's pid is the first
// line of postmaster.pid in pgtest's data directory, beside the socket.
func postgresCPU(t *testing.T, dsn string) time.Duration {
	t.Helper()
	if dsn == "" {
		return 0
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pidFile, err := os.ReadFile(filepath.Join(u.Query().Get("host"), "data", "postmaster.pid"))
	if err != nil {
		t.Logf("PostgreSQL's CPU not counted: %v", err)
		return 0
	}
	pm, _, _ := strings.Cut(string(pidFile), "\n")
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, p := range procs {
		f := procStat(p)
		if len(f) < 17 {
			continue
		}
		utime, _ := strconv.ParseInt(f[13], 10, 64)
		stime, _ := strconv.ParseInt(f[14], 10, 64)
		switch {
		case f[0] == pm:
			cutime, _ := strconv.ParseInt(f[15], 10, 64)
			cstime, _ := strconv.ParseInt(f[16], 10, 64)
			ticks += utime + stime + cutime + cstime
		case f[3] == pm: // a backend or a helper process
			ticks += utime + stime
		}
	}
	// USER_HZ is 100 on every Linux architecture Go supports.
	return time.Duration(ticks) * 10 * time.Millisecond
}

// procStat splits /proc/PID/stat into its fields, the command's name
// (in parentheses, may hold spaces) as one.
func procStat(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || close < open {
		return nil
	}
	return append([]string{strings.TrimSpace(s[:open]), s[open+1 : close]}, strings.Fields(s[close+1:])...)
}

// profileByPackage summarises a CPU profile with `go tool pprof -traces`:
// the players' share (the side=players label), then the packages
// holding most of the samples: cum is the share of samples with the
// package anywhere on the stack, flat with it at the top (burning the
// CPU itself). Without the go command it says how to read the file.
func profileByPackage(t *testing.T, file string) string {
	t.Helper()
	how := "go tool pprof -top -cum " + file
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "  (no go command; read it with " + how + ")\n"
	}
	out, err := exec.Command(goCmd, "tool", "pprof", "-traces", file).Output()
	if err != nil {
		return fmt.Sprintf("  (%s: %v; read it with %s)\n", "go tool pprof -traces", err, how)
	}
	type share struct{ cum, flat time.Duration }
	pkgs := map[string]*share{}
	add := func(p string) *share {
		if pkgs[p] == nil {
			pkgs[p] = &share{}
		}
		return pkgs[p]
	}
	var total, players time.Duration
	// Each sample: a line of dashes, the label line ("side:  players")
	// if it has one, then "10ms   leaf" and the leaf's callers, one a
	// line, inlined ones marked "(inline)".
	var value time.Duration
	var labelled bool
	var seen map[string]bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "-----------+"):
			value, labelled, seen = 0, false, map[string]bool{}
			continue
		case strings.HasPrefix(line, "side:"):
			labelled = strings.HasSuffix(line, "players")
			continue
		case line == "" || seen == nil: // the header
			continue
		}
		if value == 0 {
			v, leaf, _ := strings.Cut(line, " ")
			d, err := time.ParseDuration(v)
			if err != nil {
				continue
			}
			value, line = d, strings.TrimSpace(leaf)
			total += d
			if labelled {
				players += d
			}
			add(pkgOf(line)).flat += d
		}
		fn := strings.TrimSuffix(line, " (inline)")
		if wrapper(fn) {
			continue
		}
		if p := pkgOf(fn); !seen[p] {
			seen[p] = true
			add(p).cum += value
		}
	}
	if total == 0 {
		return "  (an empty profile; read it with " + how + ")\n"
	}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(pkgs[b].cum, pkgs[a].cum) })
	var b strings.Builder
	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(total) }
	fmt.Fprintf(&b, "  %v of samples; the players' goroutines %.0f%%, the replicas' and the runtime's the rest\n", total, pct(players))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  cum\tflat\tpackage\t")
	shown := 0
	for _, p := range names {
		// The outermost frames (goroutine starts, the runtime's
		// scheduler) are on nearly every stack and say nothing.
		if pkgs[p].cum > total*95/100 {
			continue
		}
		fmt.Fprintf(tw, "  %.0f%%\t%.0f%%\t%s\t\n", pct(pkgs[p].cum), pct(pkgs[p].flat), p)
		if shown++; shown == 14 {
			break
		}
	}
	tw.Flush()
	fmt.Fprintf(&b, "  by function: %s\n", how)
	return b.String()
}

// wrapper tells the frames at the bottom of every player's stack (this
// test's own, runtime/pprof.Do's, sync.WaitGroup.Go's) and of the
// replicas' background goroutines: on every stack of theirs, they would
// hide what the goroutine does.
func wrapper(fn string) bool {
	return strings.HasPrefix(fn, "runtime/pprof.Do") || strings.HasPrefix(fn, "sync.(*WaitGroup).Go") ||
		strings.Contains(fn, "/server/sandbox.playLessons")
}

// pkgOf is the package of a function as pprof names it:
// "crypto/tls.(*Conn).Read" is crypto/tls. A package's path holds no
// "(" or "[", which a method's receiver or a generic's shape may follow
// with slashes of their own.
func pkgOf(fn string) string {
	if i := strings.IndexAny(fn, "(["); i >= 0 {
		fn = fn[:i]
	}
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}
