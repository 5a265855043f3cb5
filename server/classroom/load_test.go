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
	"testing"
	"time"

	"github.com/portlab/portlab/server/sandbox"
)

// TestLoadClassDashboard (PORTLAB_BENCH=1): 300 students join one class and
// each posts a progress record while the dashboard is connected; it
// reports the delay from sending a record to its row on the dashboard
// (p50, p95) and the Go heap's growth per student. The students' pages are played by
// plain HTTP clients here, not by the headless engine.
func TestLoadClassDashboard(t *testing.T) {
	if os.Getenv("PORTLAB_BENCH") == "" {
		t.Skip("set PORTLAB_BENCH=1")
	}
	const n = 300
	s := start(t, sandbox.Config{})
	tc := teacher(t, s)
	var cv classView
	tc.must(http.StatusCreated, "POST", "/api/classroom/classes", map[string]any{"name": "Big", "capacity": n}, &cv)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	students := make([]*client, n)
	ids := make([]string, n)
	for i := range n {
		c, j := joinClass(t, s, cv.Code, "S"+strconv.Itoa(i))
		students[i], ids[i] = c, j.Student
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/classroom/classes/"+cv.ID+"/events", nil)
	res, err := tc.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	seen := make(chan string, 4*n)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		event := ""
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok && event == "row" {
				var r row
				json.Unmarshal([]byte(v), &r)
				if r.Step == 1 {
					seen <- r.ID
				}
			}
		}
		close(seen)
	}()
	var delays []time.Duration
	for i, c := range students {
		sent := time.Now()
		c.must(http.StatusNoContent, "POST", "/api/classroom/me/progress", map[string]any{"kind": "progress", "lesson": "first-contact", "step": 1, "total": 14, "state": "running"}, nil)
		for id := range seen {
			if id == ids[i] {
				break
			}
		}
		delays = append(delays, time.Since(sent))
	}
	slices.Sort(delays)
	t.Logf("%d students: from sending a record to its row on the dashboard p50 %v, p95 %v; Go heap growth %.1f KiB per joined student (server and this test's clients together; SQLite's own memory is not Go heap)",
		n, delays[n/2], delays[n*95/100], float64(after.HeapAlloc-before.HeapAlloc)/n/1024)
}
