// Package metrics is fenfu's metrics registry: counters, gauges and
// latency histograms with labels, gauges read from the stores when
// Prometheus scrapes (cached, so scrapes cannot load a store), the pools
// of the stores' connections, and the Go runtime and process, exposed at
// /metrics over the Prometheus client library
// (github.com/prometheus/client_golang), which writes the exposition
// formats and escapes label values as they require. It has no global
// state: each server owns a Registry, and each Registry its own
// prometheus.Registry.
package metrics

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Buckets are the latency histogram's upper bounds in seconds.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Registry holds the metrics. A metric family is created on its first
// use, with the label names that use gives; a later use with other label
// names, a negative counter increment, a name or label name the exposition
// format does not allow, or a histogram label named le is dropped rather
// than fail the caller. Metrics never stop
// a request or a batch.
type Registry struct {
	reg     *prometheus.Registry
	handler http.Handler

	mu       sync.Mutex
	help     map[string]string
	buckets  map[string][]float64
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	hists    map[string]*prometheus.HistogramVec
	failed   map[string]bool // names that could not be registered
}

// New returns a registry with the Go runtime's metrics (go_*: memory,
// garbage collection, goroutines) and the process's (process_*: CPU, open
// files, resident memory), and nothing of fenfu's own yet.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry(), help: map[string]string{}, buckets: map[string][]float64{},
		counters: map[string]*prometheus.CounterVec{}, gauges: map[string]*prometheus.GaugeVec{},
		hists: map[string]*prometheus.HistogramVec{}, failed: map[string]bool{}}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r.handler = promhttp.HandlerFor(prometheus.GathererFunc(r.gather), promhttp.HandlerOpts{})
	return r
}

// Help sets the help text of a metric family. It may be called before or
// after the family's first use.
func (r *Registry) Help(name, text string) {
	r.mu.Lock()
	r.help[name] = text
	r.mu.Unlock()
}

// SetBuckets sets the upper bounds, in seconds, of a histogram family
// that measures shorter or longer times than Buckets suit. It takes
// effect if called before the family's first use.
func (r *Registry) SetBuckets(name string, bounds []float64) {
	r.mu.Lock()
	r.buckets[name] = bounds
	r.mu.Unlock()
}

// Add adds n to a counter; labels are name, value pairs.
func (r *Registry) Add(name string, n int64, labels ...string) {
	if n < 0 {
		return // a counter only goes up
	}
	names, values := split(labels)
	r.mu.Lock()
	v, ok := r.counters[name]
	if !ok && !r.failed[name] {
		v = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name}, names)
		if r.register(name, v) {
			r.counters[name] = v
		} else {
			v = nil
		}
	}
	r.mu.Unlock()
	if v == nil {
		return
	}
	if c, err := v.GetMetricWith(values); err == nil {
		c.Add(float64(n))
	}
}

// Set sets a gauge; labels are name, value pairs.
func (r *Registry) Set(name string, v float64, labels ...string) {
	names, values := split(labels)
	r.mu.Lock()
	g, ok := r.gauges[name]
	if !ok && !r.failed[name] {
		g = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name}, names)
		if r.register(name, g) {
			r.gauges[name] = g
		} else {
			g = nil
		}
	}
	r.mu.Unlock()
	if g == nil {
		return
	}
	if m, err := g.GetMetricWith(values); err == nil {
		m.Set(v)
	}
}

// Pool exports the statistics of a store's connection pool when scraped,
// as client_golang's go_sql_* metrics (open, in use and idle connections,
// the most allowed, and the count and time of waits for one), labelled
// db_name with the store and pool with the pool's part: "read" or "write"
// for SQLite's two pools, "shared" for PostgreSQL's one.
func (r *Registry) Pool(store, pool string, d *sql.DB) error {
	return r.reg.Register(prometheus.WrapCollectorWith(prometheus.Labels{"pool": pool}, collectors.NewDBStatsCollector(d, store)))
}

// CounterFunc exports a counter whose value read returns when scraped,
// for a count kept elsewhere (an atomic in the code that counts); labels
// are name, value pairs, fixed for this series.
func (r *Registry) CounterFunc(name string, read func() float64, labels ...string) error {
	_, values := split(labels)
	r.mu.Lock()
	help := r.help[name]
	r.mu.Unlock()
	return r.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: values}, read))
}

// Gauge sets one gauge of a sampled family: its name, value and labels
// (name, value pairs).
type Gauge func(name string, v float64, labels ...string)

// Sample exports gauges that read calls set from a store when Prometheus
// scrapes. A scrape within every of the last read is answered from it,
// so however often and from however many scrapers, read runs at most once
// an interval on this node; a read that fails or takes more than
// SampleTimeout keeps the gauges of the last good one and counts
// fenfu_metrics_sample_errors_total{sample=name}. clock times the interval.
func (r *Registry) Sample(name string, every time.Duration, clock fenfu.Clock, read func(ctx context.Context, set Gauge) error) {
	s := &sampled{r: r, name: name, every: every, clock: clock, read: read}
	r.Add("fenfu_metrics_sample_errors_total", 0, "sample", name) // the family exists before a scrape needs it
	if err := r.reg.Register(s); err != nil {
		r.mu.Lock()
		r.failed[name] = true
		r.mu.Unlock()
	}
}

// SampleTimeout bounds one read of a Sample.
const SampleTimeout = 2 * time.Second

// sampled is a Sample's collector. It describes no metric in advance
// (an unchecked collector): its families are what its read sets.
type sampled struct {
	r     *Registry
	name  string
	every time.Duration
	clock fenfu.Clock
	read  func(ctx context.Context, set Gauge) error

	mu   sync.Mutex // held through a read, so concurrent scrapes share it
	at   time.Time  // of the last read, good or not
	last []prometheus.Metric
}

func (s *sampled) Describe(chan<- *prometheus.Desc) {}

func (s *sampled) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.clock.Now(); s.at.IsZero() || now.Sub(s.at) >= s.every || now.Before(s.at) {
		s.at = now
		if got, err := s.collect(); err != nil {
			s.r.Add("fenfu_metrics_sample_errors_total", 1, "sample", s.name)
		} else {
			s.last = got
		}
	}
	for _, m := range s.last {
		ch <- m
	}
}

// collect runs a read and turns what it set into metrics; a gauge the
// exposition format cannot carry (a bad name, labels unlike its family's
// earlier ones) is dropped.
func (s *sampled) collect() ([]prometheus.Metric, error) {
	ctx, cancel := context.WithTimeout(context.Background(), SampleTimeout)
	defer cancel()
	var out []prometheus.Metric
	descs := map[string]*prometheus.Desc{}
	err := s.read(ctx, func(name string, v float64, labels ...string) {
		names, values := split(labels)
		key := name + "\xff" + strings.Join(names, "\xff")
		d, ok := descs[key]
		if !ok {
			s.r.mu.Lock()
			help := s.r.help[name]
			s.r.mu.Unlock()
			d = prometheus.NewDesc(name, help, names, nil)
			descs[key] = d
		}
		vals := make([]string, len(names))
		for i, n := range names {
			vals[i] = values[n]
		}
		if m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, vals...); err == nil {
			out = append(out, m)
		}
	})
	return out, err
}

// Observe records a duration in a histogram, in seconds.
func (r *Registry) Observe(name string, d time.Duration, labels ...string) {
	names, values := split(labels)
	if _, ok := values["le"]; ok {
		return // a histogram's own label: client_golang panics on it
	}
	r.mu.Lock()
	v, ok := r.hists[name]
	if !ok && !r.failed[name] {
		b := r.buckets[name]
		if b == nil {
			b = Buckets
		}
		v = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Buckets: b}, names)
		if r.register(name, v) {
			r.hists[name] = v
		} else {
			v = nil
		}
	}
	r.mu.Unlock()
	if v == nil {
		return
	}
	if h, err := v.GetMetricWith(values); err == nil {
		h.Observe(d.Seconds())
	}
}

// register registers a new family, remembering a name that cannot be
// registered (invalid, or already taken by a family of another type).
// r.mu is held.
func (r *Registry) register(name string, c prometheus.Collector) bool {
	if err := r.reg.Register(c); err != nil {
		r.failed[name] = true
		return false
	}
	return true
}

// split turns name, value pairs into label names and a label set. Values
// that are not UTF-8, which the exposition format cannot carry, have their
// invalid bytes replaced; an odd name at the end is ignored.
func split(pairs []string) ([]string, prometheus.Labels) {
	names := make([]string, 0, len(pairs)/2)
	values := make(prometheus.Labels, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i+1]
		if !utf8.ValidString(v) {
			v = strings.ToValidUTF8(v, "\uFFFD")
		}
		names = append(names, pairs[i])
		values[pairs[i]] = v
	}
	return names, values
}

// gather collects the metrics with the help texts set so far. Families
// are created without one, so that help given before or after a family's
// first use is set in one place, here; a family with none has no HELP
// line.
func (r *Registry) gather() ([]*dto.MetricFamily, error) {
	mfs, err := r.reg.Gather()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, mf := range mfs {
		if h := r.help[mf.GetName()]; h != "" {
			mf.Help = &h
		} else {
			mf.Help = nil
		}
	}
	return mfs, err
}

// Write writes every metric in the Prometheus text format.
func (r *Registry) Write(w io.Writer) {
	mfs, _ := r.gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		_ = enc.Encode(mf)
	}
}

// ServeHTTP serves the metrics in the format the scraper asks for: the
// text format, or Prometheus's protocol buffers.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.handler.ServeHTTP(w, req)
}
