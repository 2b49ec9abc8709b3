package server_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestReviewPanicAnswersAreNotCounted: a handler that panics is answered
// 500 SYSTEM_ERROR by recoverPanics, which wraps instrument, so the panic
// unwinds past instrument's count: fenfu_http_requests_total never has
// the 500, and the FenfuHighErrorRate alert, which reads
// status="Internal Server Error" from it, never sees these failures.
func TestReviewPanicAnswersAreNotCounted(t *testing.T) {
	e := newEnv(t, false)
	boom := func(context.Context) error { panic("boom") }
	e.health.Store(&boom)
	for range 3 {
		if resp, _ := e.get(t, "/healthz"); resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("panicking handler answered %d", resp.StatusCode)
		}
	}
	_, body := e.get(t, "/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := counter(mfs["fenfu_http_requests_total"], "route", "GET /healthz", "status", "Internal Server Error"); got != 3 {
		t.Errorf(`fenfu_http_requests_total{route="GET /healthz",status="Internal Server Error"} = %v after 3 answers of 500, want 3`, got)
	}
}
