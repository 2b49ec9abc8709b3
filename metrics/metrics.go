// Package metrics is fenfu's small metrics registry: counters and latency
// histograms with labels, exposed in the Prometheus text format at
// /metrics. It has no global state; each server owns a Registry.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Buckets are the latency histogram's upper bounds in seconds.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Registry holds the metrics.
type Registry struct {
	mu       sync.Mutex
	counters map[string]*atomic.Int64
	hists    map[string]*histogram
	help     map[string]string
}

type histogram struct {
	mu     sync.Mutex
	counts []uint64
	sum    float64
	n      uint64
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{counters: map[string]*atomic.Int64{}, hists: map[string]*histogram{}, help: map[string]string{}}
}

// Help sets the help text of a metric family.
func (r *Registry) Help(name, text string) {
	r.mu.Lock()
	r.help[name] = text
	r.mu.Unlock()
}

func key(name string, labels []string) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// Add adds n to a counter; labels are name, value pairs.
func (r *Registry) Add(name string, n int64, labels ...string) {
	k := key(name, labels)
	r.mu.Lock()
	c, ok := r.counters[k]
	if !ok {
		c = new(atomic.Int64)
		r.counters[k] = c
	}
	r.mu.Unlock()
	c.Add(n)
}

// Observe records a duration in a histogram.
func (r *Registry) Observe(name string, d time.Duration, labels ...string) {
	k := key(name, labels)
	r.mu.Lock()
	h, ok := r.hists[k]
	if !ok {
		h = &histogram{counts: make([]uint64, len(Buckets))}
		r.hists[k] = h
	}
	r.mu.Unlock()
	s := d.Seconds()
	h.mu.Lock()
	for i, b := range Buckets {
		if s <= b {
			h.counts[i]++
		}
	}
	h.sum += s
	h.n++
	h.mu.Unlock()
}

// Write writes every metric in the Prometheus text format.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	ck := make([]string, 0, len(r.counters))
	for k := range r.counters {
		ck = append(ck, k)
	}
	hk := make([]string, 0, len(r.hists))
	for k := range r.hists {
		hk = append(hk, k)
	}
	help := map[string]string{}
	for k, v := range r.help {
		help[k] = v
	}
	r.mu.Unlock()
	sort.Strings(ck)
	sort.Strings(hk)
	typed := map[string]bool{}
	family := func(k, typ string) string {
		name, _, _ := strings.Cut(k, "{")
		if !typed[name] {
			typed[name] = true
			if h := help[name]; h != "" {
				fmt.Fprintf(w, "# HELP %s %s\n", name, h)
			}
			fmt.Fprintf(w, "# TYPE %s %s\n", name, typ)
		}
		return name
	}
	for _, k := range ck {
		family(k, "counter")
		r.mu.Lock()
		v := r.counters[k].Load()
		r.mu.Unlock()
		fmt.Fprintf(w, "%s %d\n", k, v)
	}
	for _, k := range hk {
		name := family(k, "histogram")
		labels := ""
		if i := strings.IndexByte(k, '{'); i >= 0 {
			labels = k[i+1 : len(k)-1]
		}
		r.mu.Lock()
		h := r.hists[k]
		r.mu.Unlock()
		h.mu.Lock()
		for i, b := range Buckets {
			fmt.Fprintf(w, "%s_bucket{%sle=\"%g\"} %d\n", name, withComma(labels), b, h.counts[i])
		}
		fmt.Fprintf(w, "%s_bucket{%sle=\"+Inf\"} %d\n", name, withComma(labels), h.n)
		fmt.Fprintf(w, "%s_sum%s %g\n", name, braces(labels), round(h.sum))
		fmt.Fprintf(w, "%s_count%s %d\n", name, braces(labels), h.n)
		h.mu.Unlock()
	}
}

func withComma(l string) string {
	if l == "" {
		return ""
	}
	return l + ","
}

func braces(l string) string {
	if l == "" {
		return ""
	}
	return "{" + l + "}"
}

func round(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// ServeHTTP serves the metrics.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	r.Write(w)
}
