package metrics

import (
	"strings"
	"testing"
	"time"
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
}
