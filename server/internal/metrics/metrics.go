// Package metrics is the sandbox's Prometheus instruments, in one place:
// the relay's traffic (read from the event bus, so the relay carries no
// counting code), the gateway's tunnels, the labs, classes and lessons
// passed, the mailboxes, and the class store's latency.
//
// Every label has a bounded set of values that the operator's own files
// decide (lesson ports and simulated hosts) or the protocol does (reply
// codes, TLS versions, close codes). Nothing a user sends becomes a label:
// no addresses, no lab ids, no user names.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portlab/portlab/server/events"
)

// Metrics is one sandbox's instruments on a registry of its own, so that
// two sandboxes in one test process do not collide. The nil *Metrics
// counts nothing, so a caller without metrics needs no checks.
type Metrics struct {
	reg           *prometheus.Registry
	conns         *prometheus.CounterVec
	replies       *prometheus.CounterVec
	tls           *prometheus.CounterVec
	auth          *prometheus.CounterVec
	messages      prometheus.Counter
	tunnelCloses  *prometheus.CounterVec
	lessonsPassed prometheus.Counter
	storeLatency  *prometheus.HistogramVec
}

// New makes the instruments, with Go's runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.conns = m.counterVec("portlab_smtp_connections_total", "SMTP connections opened, per door (simulated host and lesson port).", "host", "port")
	m.replies = m.counterVec("portlab_smtp_replies_total", "SMTP replies sent, per reply code.", "code")
	m.tls = m.counterVec("portlab_tls_handshakes_total", "TLS handshakes by the relay (STARTTLS or implicit), per version, or failed.", "version")
	m.auth = m.counterVec("portlab_smtp_auth_total", "AUTH attempts, per result (ok, failed).", "result")
	m.messages = m.counter("portlab_messages_accepted_total", "Messages accepted with 250 and stored in a mailbox.")
	m.tunnelCloses = m.counterVec("portlab_tunnel_closes_total", "WebSocket tunnels closed by the gateway, per close code (scenarios/tunnel/doc.go).", "code")
	m.lessonsPassed = m.counter("portlab_lessons_passed_total", "Lessons a class's student passed (classroom progress).")
	m.storeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "portlab_store_seconds", Help: "Latency of the class store's operations, per operation.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8), // 0.5 ms .. 8 s
	}, []string{"op"})
	m.reg.MustRegister(m.storeLatency)
	return m
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	m.reg.MustRegister(c)
	return c
}

// GaugeDesc names one gauge of a [Metrics.Gauges] set.
type GaugeDesc struct{ Name, Help string }

// Gauges registers gauges read at each scrape (labs, classes, mailbox
// bytes, open tunnels): the owner keeps the numbers, nothing is copied.
// read runs once per scrape and returns one value per desc, in order, so
// that numbers from one costly source (the mail statistics, a query on
// a shared store) are read once, not once per gauge.
func (m *Metrics) Gauges(descs []GaugeDesc, read func() []float64) {
	if m == nil {
		return
	}
	c := &gaugeSet{read: read}
	for _, d := range descs {
		c.descs = append(c.descs, prometheus.NewDesc(d.Name, d.Help, nil, nil))
	}
	m.reg.MustRegister(c)
}

// gaugeSet is a prometheus.Collector whose values come from one call.
type gaugeSet struct {
	descs []*prometheus.Desc
	read  func() []float64
}

func (c *gaugeSet) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *gaugeSet) Collect(ch chan<- prometheus.Metric) {
	values := c.read()
	for i, d := range c.descs {
		if i < len(values) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, values[i])
		}
	}
}

// Observe counts one event of the bus (events.Bus.Observe calls it for
// every event, before any subscriber can drop it). An event another
// replica published is that replica's to count: counted here too, every
// total would be multiplied by the number of replicas.
func (m *Metrics) Observe(e events.Event) {
	if m == nil || e.Remote {
		return
	}
	switch e.Kind {
	case events.Connect:
		m.conns.WithLabelValues(e.Host, strconv.Itoa(e.Port)).Inc()
	case events.Reply:
		m.replies.WithLabelValues(replyCode(e.Text)).Inc()
	case events.TLS:
		version := e.TLSVersion
		if version == "" {
			version = "failed" // the relay's event for a handshake that failed
		}
		m.tls.WithLabelValues(version).Inc()
	case events.Auth:
		result := "failed"
		if e.OK {
			result = "ok"
		}
		m.auth.WithLabelValues(result).Inc()
	case events.Message:
		// Only a stored message has an id: the relay's bounce and queue
		// notes are Message events too (the page shows them with the
		// mail), and a bounce is counted where it is stored.
		if e.MessageID != "" {
			m.messages.Inc()
		}
	}
}

// replyCode is a reply line's code, or "other": the label never carries
// anything but three digits.
func replyCode(line string) string {
	if len(line) < 3 {
		return "other"
	}
	n, err := strconv.Atoi(line[:3])
	if err != nil || n < 200 || n > 599 {
		return "other"
	}
	return line[:3]
}

// TunnelClosed counts a tunnel the gateway closed with code.
func (m *Metrics) TunnelClosed(code int) {
	if m == nil {
		return
	}
	label := "other"
	if code >= 1000 && code <= 4999 {
		label = strconv.Itoa(code)
	}
	m.tunnelCloses.WithLabelValues(label).Inc()
}

// LessonPassed counts one lesson passed.
func (m *Metrics) LessonPassed() {
	if m == nil {
		return
	}
	m.lessonsPassed.Inc()
}

// StoreOp records how long one store operation took since start; op is
// a method name, never input.
func (m *Metrics) StoreOp(op string, start time.Time) {
	if m == nil {
		return
	}
	m.storeLatency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Handler serves the registry in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
