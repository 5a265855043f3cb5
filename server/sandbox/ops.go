package sandbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/portlab/portlab/server/classroom/store"
	"github.com/portlab/portlab/server/internal/metrics"
)

// Pinger is a store that can say whether it is reachable (a database
// server); /readyz asks it. A store without it is in-process and always
// reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// gauges registers the numbers read at each scrape, all in one read: the
// mail statistics (a query on a shared store) and the classes (a load of
// every class) once per scrape, however many gauges show them.
func (s *Sandbox) gauges() {
	s.metrics.Gauges([]metrics.GaugeDesc{
		{Name: "portlab_labs", Help: "Labs open now, the shared classroom included."},
		{Name: "portlab_tunnels_open", Help: "WebSocket tunnels open now."},
		{Name: "portlab_mailbox_messages", Help: "Messages held in every lab's mailbox."},
		{Name: "portlab_mailbox_bytes", Help: "Bytes held in every lab's mailbox."},
		{Name: "portlab_classes", Help: "Classes in the class store (-1: the store did not answer)."},
	}, func() []float64 {
		messages, bytes, _ := s.store.Stats()
		return []float64{float64(s.labs.Len()), float64(s.gateway.Open()), float64(messages), float64(bytes), s.classCount()}
	})
}

// classCount is how many classes the store holds, or -1 when it did not
// answer (/readyz says more).
func (s *Sandbox) classCount() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := s.classes.CountClasses(ctx)
	if err != nil {
		return -1
	}
	return float64(n)
}

// serveMetrics serves /metrics alone on its own address (--metrics), a
// port the cluster's Prometheus reaches and the public does not.
func (s *Sandbox) serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.metricsLn = ln
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return nil
}

// MetricsURL is where /metrics is served.
func (s *Sandbox) MetricsURL() string {
	if s.metricsLn != nil {
		return "http://" + s.metricsLn.Addr().String() + "/metrics"
	}
	return s.URL() + "/metrics"
}

// healthz: the process is alive and serving HTTP.
func (s *Sandbox) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz: this replica should get traffic: not draining, its listeners
// open, its store reachable. 503 with the reason otherwise.
func (s *Sandbox) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.Ready(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(err.Error() + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// Ready says why the sandbox should get no traffic, or nil.
func (s *Sandbox) Ready(ctx context.Context) error {
	if s.draining.Load() {
		return errors.New("shutting down")
	}
	select {
	case <-s.done:
		return errors.New("closed")
	default:
	}
	if p, ok := s.classes.(Pinger); ok {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			return errors.New("class store unreachable: " + err.Error())
		}
	}
	return nil
}

// Shutdown stops the sandbox gracefully: /readyz answers 503 at once, no
// new connection or tunnel is accepted, every SMTP session gets 421 4.3.2
// (a message in DATA is let finish, so what got 250 is stored), every
// tunnel closes with 1001 and a reason the page shows, and the HTTP
// server finishes its requests; what is still open when ctx ends is cut.
func (s *Sandbox) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.gateway.Drain()
	for _, ln := range s.smtpLns {
		ln.Close()
	}
	err := s.relay.Shutdown(ctx)
	s.gateway.CloseTunnels()
	s.endRequests() // live event streams end; the page reconnects elsewhere
	if e := s.httpSrv.Shutdown(ctx); err == nil && !errors.Is(e, http.ErrServerClosed) {
		err = e
	}
	s.Close()
	return err
}

// timedStore is the class store with its latency measured; methods it
// does not list pass through unmeasured.
type timedStore struct {
	store.Store
	m *metrics.Metrics
}

// Ping asks the store beneath, if it can be asked (a database server).
func (t timedStore) Ping(ctx context.Context) error {
	if p, ok := t.Store.(Pinger); ok {
		defer t.m.StoreOp("Ping", time.Now())
		return p.Ping(ctx)
	}
	return nil
}

func (t timedStore) Class(ctx context.Context, id string) (store.Class, error) {
	defer t.m.StoreOp("Class", time.Now())
	return t.Store.Class(ctx, id)
}

func (t timedStore) ClassByCode(ctx context.Context, code string) (store.Class, error) {
	defer t.m.StoreOp("ClassByCode", time.Now())
	return t.Store.ClassByCode(ctx, code)
}

func (t timedStore) Classes(ctx context.Context) ([]store.Class, error) {
	defer t.m.StoreOp("Classes", time.Now())
	return t.Store.Classes(ctx)
}

func (t timedStore) CountClasses(ctx context.Context) (int, error) {
	defer t.m.StoreOp("CountClasses", time.Now())
	return t.Store.CountClasses(ctx)
}

func (t timedStore) StudentByToken(ctx context.Context, tokenHash string) (store.Student, error) {
	defer t.m.StoreOp("StudentByToken", time.Now())
	return t.Store.StudentByToken(ctx, tokenHash)
}

func (t timedStore) Students(ctx context.Context, classID string) ([]store.Student, error) {
	defer t.m.StoreOp("Students", time.Now())
	return t.Store.Students(ctx, classID)
}

// AddProgress also counts the lessons passed.
func (t timedStore) AddProgress(ctx context.Context, p store.Progress) (store.Progress, error) {
	defer t.m.StoreOp("AddProgress", time.Now())
	p, err := t.Store.AddProgress(ctx, p)
	if err == nil && p.Kind == "progress" && p.State == "passed" {
		t.m.LessonPassed()
	}
	return p, err
}

func (t timedStore) Progress(ctx context.Context, classID string) ([]store.Progress, error) {
	defer t.m.StoreOp("Progress", time.Now())
	return t.Store.Progress(ctx, classID)
}
