package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestWrite(t *testing.T) {
	r := New()
	r.Help("fenfu_requests_total", "Requests served.")
	r.Add("fenfu_requests_total", 2, "route", "native", "status", "200")
	r.Observe("fenfu_request_seconds", 3*time.Millisecond, "route", "native")
	var b strings.Builder
	r.Write(&b)
	for _, want := range []string{
		"# HELP fenfu_requests_total Requests served.",
		"# TYPE fenfu_requests_total counter",
		`fenfu_requests_total{route="native",status="200"} 2`,
		`fenfu_request_seconds_bucket{route="native",le="0.0025"} 0`,
		`fenfu_request_seconds_bucket{route="native",le="0.005"} 1`,
		`fenfu_request_seconds_count{route="native"} 1`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	// A family given no help has no HELP line, not an empty one.
	if strings.Contains(b.String(), "# HELP fenfu_request_seconds") {
		t.Errorf("output has a HELP line for fenfu_request_seconds:\n%s", b.String())
	}
}

// scrape GETs /metrics from r's handler and parses the text format.
func scrape(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return mfs
}

// labels returns a metric's labels as a map.
func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestScrape: what /metrics serves parses as the Prometheus text format,
// with label values that need escaping coming back as they went in.
func TestScrape(t *testing.T) {
	r := New()
	r.Help("fenfu_payments_total", "Payments, by merchant name.\nSecond line with a \\ backslash.")
	odd := []string{
		`a "quoted" name`,
		`C:\shop\till`,
		"two\nlines",
		"分付 · 茶馆",
		"",
		"invalid \xff byte",
	}
	for i, v := range odd {
		r.Add("fenfu_payments_total", int64(i+1), "merchant", v, "channel", "credit")
	}
	r.Observe("fenfu_pay_seconds", 3*time.Millisecond, "merchant", odd[3])
	r.Observe("fenfu_pay_seconds", 2*time.Second, "merchant", odd[3])
	r.Observe("fenfu_pay_seconds", time.Millisecond, "merchant", odd[0])
	// Help given after the family's first use still reaches the scrape.
	r.Help("fenfu_pay_seconds", "Payment latency.")
	// Uses the family cannot take are dropped, not panicked on.
	r.Add("fenfu_payments_total", 1, "other", "labels")
	r.Add("fenfu_payments_total", -1, "merchant", odd[0], "channel", "credit")
	r.Add("fenfu_pay_seconds", 1) // the name is a histogram's
	r.Add("not a metric name", 1)
	r.Observe("fenfu_pay_seconds", time.Second, "le", "1")

	mfs := scrape(t, r)
	pays := mfs["fenfu_payments_total"]
	if pays == nil {
		t.Fatalf("no fenfu_payments_total in %v", mfs)
	}
	if got, want := pays.GetType(), dto.MetricType_COUNTER; got != want {
		t.Errorf("type = %v, want %v", got, want)
	}
	if got, want := pays.GetHelp(), "Payments, by merchant name.\nSecond line with a \\ backslash."; got != want {
		t.Errorf("help = %q, want %q", got, want)
	}
	got := map[string]float64{}
	for _, m := range pays.GetMetric() {
		l := labels(m)
		if l["channel"] != "credit" || len(l) != 2 {
			t.Errorf("labels = %q", l)
		}
		got[l["merchant"]] = m.GetCounter().GetValue()
	}
	for i, v := range odd {
		if v == odd[5] {
			v = "invalid \uFFFD byte"
		}
		if got[v] != float64(i+1) {
			t.Errorf("fenfu_payments_total{merchant=%q} = %v, want %d (all: %v)", v, got[v], i+1, got)
		}
	}
	if len(got) != len(odd) {
		t.Errorf("%d series, want %d: %v", len(got), len(odd), got)
	}

	lat := mfs["fenfu_pay_seconds"]
	if lat == nil || lat.GetType() != dto.MetricType_HISTOGRAM || lat.GetHelp() != "Payment latency." {
		t.Fatalf("fenfu_pay_seconds = %v", lat)
	}
	for _, m := range lat.GetMetric() {
		h := m.GetHistogram()
		switch l := labels(m); l["merchant"] {
		case odd[3]:
			if h.GetSampleCount() != 2 || h.GetSampleSum() < 2.003-1e-9 || h.GetSampleSum() > 2.003+1e-9 {
				t.Errorf("%q: count %d, sum %v; want 2 and 2.003", odd[3], h.GetSampleCount(), h.GetSampleSum())
			}
			if got, want := len(h.GetBucket()), len(Buckets)+1; got != want { // and +Inf
				t.Errorf("%d buckets, want %d", got, want)
			}
			for _, b := range h.GetBucket() {
				want := uint64(0)
				switch {
				case b.GetUpperBound() >= 2:
					want = 2
				case b.GetUpperBound() >= 0.003:
					want = 1
				}
				if b.GetCumulativeCount() != want {
					t.Errorf("bucket le=%g holds %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
				}
			}
		case odd[0]:
			if h.GetSampleCount() != 1 {
				t.Errorf("%q: count %d, want 1", odd[0], h.GetSampleCount())
			}
		default:
			t.Errorf("unexpected series %v", l)
		}
	}
}

// TestRegistriesAreSeparate: each Registry has its own metrics; nothing
// goes to a global one.
func TestRegistriesAreSeparate(t *testing.T) {
	a, b := New(), New()
	a.Add("fenfu_x_total", 1)
	b.Add("fenfu_x_total", 5)
	if got := scrape(t, a)["fenfu_x_total"].GetMetric()[0].GetCounter().GetValue(); got != 1 {
		t.Errorf("a's counter = %v, want 1", got)
	}
	for name := range scrape(t, New()) {
		if strings.HasPrefix(name, "fenfu_") {
			t.Errorf("a new registry serves %s", name)
		}
	}
}
