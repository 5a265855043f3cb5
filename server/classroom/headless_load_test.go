package classroom_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portlab/portlab/scenarios"
	"github.com/portlab/portlab/scenarios/httpapi"
	"github.com/portlab/portlab/scenarios/tunnel"
	"github.com/portlab/portlab/server/sandbox"
)

// TestLoadClassHeadless (PORTLAB_BENCH=1): a class of 300 students
// (PORTLAB_CLASS_STUDENTS), each a headless player of first-contact
// (PORTLAB_CLASS_LESSON) in their own class lab, through the real
// WebSocket gateway and relay, all at once, posting progress as a
// student's page does, while the teacher's dashboard stream is connected.
// It prints the dashboard's update delay (from a progress record sent to
// its row on the dashboard, p50 and p95) and the Go heap per student,
// after joining and after the lessons (their labs' transcripts, mail and
// port boards held).
func TestLoadClassHeadless(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("set PORTLAB_BENCH=1")
	}
	n := 300
	if v, err := strconv.Atoi(os.Getenv("PORTLAB_CLASS_STUDENTS")); err == nil && v > 0 {
		n = v
	}
	name := "first-contact"
	if v := os.Getenv("PORTLAB_CLASS_LESSON"); v != "" {
		name = v
	}
	lib, err := scenarios.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	l, ok := lib.Lesson(name, "en")
	if !ok {
		t.Fatalf("no lesson %s", name)
	}
	// The whole class comes from 127.0.0.1, as a class behind one school
	// address does: the per-address bounds (100 tunnels, 512 HTTP
	// connections by default) must be raised for it (see the README's
	// Classroom section).
	s := start(t, sandbox.Config{DropTimeout: 200 * time.Millisecond, HTTPConns: 8 * n, HTTPConnsPerClient: 8 * n, TunnelsPerClient: 4 * n})
	tc := teacher(t, s)
	var cv classView
	tc.must(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Load", "capacity": n}, &cv)

	var before, joinedMem, played runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	students := make([]*client, n)
	js := make([]joined, n)
	for i := range n {
		students[i], js[i] = joinClass(t, s, cv.Code, "S"+strconv.Itoa(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&joinedMem)

	// The dashboard: each row that arrives settles the student's records
	// sent up to its step.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/classroom/classes/"+cv.ID+"/events", nil)
	res, err := tc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	type sent struct {
		step int
		at   time.Time
	}
	var mu sync.Mutex
	pending := map[string][]sent{}
	var delays []time.Duration
	rows, left := 0, 0 // rows read; records not yet on the dashboard
	playing := true
	settled := make(chan struct{}) // closed once play is over and left is 0
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		event := ""
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = v
			}
			v, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || event != "row" {
				continue
			}
			now := time.Now()
			var r row
			json.Unmarshal([]byte(v), &r)
			mu.Lock()
			rows++
			p := pending[r.ID]
			k := 0
			for ; k < len(p) && p[k].step <= r.Step && r.Lesson == name; k++ {
				delays = append(delays, now.Sub(p[k].at))
			}
			pending[r.ID] = p[k:]
			left -= k
			if !playing && left == 0 {
				close(settled)
				playing = true // closed once
			}
			mu.Unlock()
		}
	}()

	pool, err := (&httpapi.Client{Server: s.URL()}).CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var wg sync.WaitGroup
	var failed sync.Map
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, j := students[i], js[i]
			post := func(step int, state string) {
				mu.Lock()
				pending[j.Student] = append(pending[j.Student], sent{step, time.Now()})
				left++
				mu.Unlock()
				if code, b := c.do("POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": name, "step": step, "total": len(l.Steps), "state": state}); code != http.StatusNoContent {
					failed.Store(j.Name, "progress: "+strconv.Itoa(code)+" "+string(b))
				}
			}
			e := &scenarios.Engine{
				Dialer: tunnel.Dialer{}, Server: s.URL(), Lab: j.Lab.ID, Key: j.Lab.Key, RootCAs: pool,
				Mailbox: httpapi.Mailbox{Client: &httpapi.Client{Server: s.URL()}, Lab: &httpapi.Lab{ID: j.Lab.ID, Key: j.Lab.Key}},
				OnEvent: func(ev scenarios.Event) {
					switch ev.Kind {
					case scenarios.StepPassed:
						state := "running"
						if ev.Index+1 == ev.Steps {
							state = "watched"
						}
						post(ev.Index+1, state)
					}
				},
			}
			if err := e.Run(ctx, l); err != nil {
				failed.Store(j.Name, err.Error())
			}
		}()
	}
	wg.Wait()
	playedIn := time.Since(began)
	runtime.GC()
	runtime.ReadMemStats(&played)
	failures := 0
	failed.Range(func(k, v any) bool {
		if failures < 3 {
			t.Errorf("%s: %s", k, v)
		}
		failures++
		return true
	})

	// The last rows settle; then the stream is done with.
	mu.Lock()
	playing = false
	if left == 0 {
		close(settled)
		playing = true
	}
	mu.Unlock()
	select {
	case <-settled:
	case <-time.After(10 * time.Second):
		mu.Lock()
		t.Errorf("%d progress records never showed on the dashboard", left)
		mu.Unlock()
	}
	cancel()
	<-readerDone
	mu.Lock()
	slices.Sort(delays)
	d := delays
	mu.Unlock()
	if len(d) == 0 {
		t.Fatal("no dashboard updates measured")
	}
	t.Logf("%d students played %s (%d steps) at once through the gateway in %v (%d failed); the dashboard got %d rows",
		n, name, len(l.Steps), playedIn.Round(time.Millisecond), failures, rows)
	t.Logf("dashboard update delay over %d progress records: p50 %v, p95 %v, max %v",
		len(d), d[len(d)/2].Round(time.Microsecond), d[len(d)*95/100].Round(time.Microsecond), d[len(d)-1].Round(time.Microsecond))
	t.Logf("Go heap per student: %.1f KiB after joining, %.1f KiB after the lesson (server and this test's clients together; SQLite's own memory is not Go heap)",
		perStudent(before, joinedMem, n), perStudent(before, played, n))
}

// perStudent is the heap's growth from before to after, per student, in KiB.
func perStudent(before, after runtime.MemStats, n int) float64 {
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n) / 1024
}
