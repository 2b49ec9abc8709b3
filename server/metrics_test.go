package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/server"
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

// TestMetricsOnlyToItsNetworks: /metrics, which names the risk rules
// and how often each matches, is served only to clients in MetricsFrom
// (loopback and the private ranges by default), judged on the client's
// address as the trusted proxies resolve it; anyone else is answered 403
// FORBIDDEN with fenfu's error body, and GET / does not name /metrics to
// them.
func TestMetricsOnlyToItsNetworks(t *testing.T) {
	e := newEnvWith(t, false, server.Proxies{netip.MustParsePrefix("10.0.0.0/8")}, nil)
	e.metrics.Add("fenfu_risk_rule_matches_total", 1, "rule", "velocity-3-in-10m", "decision", "REJECT", "mode", "act")
	serve := func(path, peer, forwarded string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = peer
		if forwarded != "" {
			req.Header.Set("X-Forwarded-For", forwarded)
		}
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, req)
		return rec
	}
	rec := serve("/metrics", "203.0.113.9:40000", "") // a client on the internet, no proxy in between
	if rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "velocity-3-in-10m") {
		t.Errorf("/metrics answered 200 to 203.0.113.9:40000 with the risk rules' names; it must not be served to any client by default")
	}
	for _, c := range []struct {
		name, peer, forwarded string
		served                bool
	}{
		{"a client on the internet", "203.0.113.9:40000", "", false},
		{"a client on the internet behind the trusted proxy", "10.0.0.2:443", "203.0.113.9", false},
		{"a client on the internet naming a private address, no proxy", "203.0.113.9:40000", "192.168.1.5", false},
		{"Prometheus on the host", "127.0.0.1:50000", "", true},
		{"Prometheus over IPv6 loopback", "[::1]:50000", "", true},
		{"Prometheus on the private network", "172.20.0.5:50000", "", true},
		{"Prometheus behind the trusted proxy", "10.0.0.2:443", "192.168.1.5", true},
	} {
		rec := serve("/metrics", c.peer, c.forwarded)
		if served := rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "velocity-3-in-10m"); served != c.served {
			t.Errorf("%s: /metrics answered %d, served %v, want %v", c.name, rec.Code, served, c.served)
		}
		if !c.served && (rec.Code != http.StatusForbidden || code(t, rec.Body.Bytes()) != "FORBIDDEN" || !strings.Contains(rec.Body.String(), "--metrics-from")) {
			t.Errorf("%s: /metrics answered %d %s; want 403 FORBIDDEN with a remedy naming --metrics-from", c.name, rec.Code, rec.Body)
		}
		if index := serve("/", c.peer, c.forwarded).Body.String(); strings.Contains(index, "/metrics") != c.served {
			t.Errorf("%s: GET / names /metrics: %v, want %v\n%s", c.name, !c.served, c.served, index)
		}
	}
}
