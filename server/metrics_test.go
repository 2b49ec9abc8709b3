package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestPanicAnswersAreCounted: a handler that panics is answered 500
// SYSTEM_ERROR inside instrument, so fenfu_http_requests_total counts the
// 500 and the FenfuHighErrorRate alert, which reads
// status="Internal Server Error" from it, sees these failures.
func TestPanicAnswersAreCounted(t *testing.T) {
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

// TestReviewMetricsServedToAnyClient: /metrics is served on the one
// listener that serves the merchant API and the cashier, to any client,
// with no token, trusted network or listener of its own; deploy.md's
// nginx block is the only guard, and GET / advertises the address. A
// client on the internet reads payment volumes and, in
// fenfu_risk_rule_matches_total{rule}, the names of the risk rules and
// how often each matches.
func TestReviewMetricsServedToAnyClient(t *testing.T) {
	e := newEnv(t, false)
	e.metrics.Add("fenfu_risk_rule_matches_total", 1, "rule", "velocity-3-in-10m", "decision", "REJECT", "mode", "act")
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.RemoteAddr = "203.0.113.9:40000" // a client on the internet, no proxy in between
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "velocity-3-in-10m") {
		t.Errorf("/metrics answered 200 to %s with the risk rules' names; it must not be served to any client by default", req.RemoteAddr)
	}
}
