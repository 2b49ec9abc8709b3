// Package server assembles fenfu's HTTP surface — the WeChat Pay v3
// merchant API, the consumer cashier, the staff API and console, the
// merchant portal, /healthz, /version, /metrics and the API document at
// /openapi.json — behind the middleware they share (the client's address
// behind trusted proxies, request metrics, panic recovery). The whole
// route table is in routes.go.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/admin"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/console"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/portal"
	"github.com/fenfu/fenfu/version"
	"github.com/fenfu/fenfu/web"
	"github.com/fenfu/fenfu/wxpay"
)

// Deps are the parts the server is made of.
type Deps struct {
	API   *wxpay.API
	Admin *admin.API
	// Console, if set, is the staff's web console over Admin.
	Console *console.Console
	Cashier *cashier.Cashier
	// Portal, if set, serves the merchant portal.
	Portal  *portal.Portal
	Metrics *metrics.Registry
	Log     *slog.Logger
	// Health reports whether the stores answer.
	Health func(ctx context.Context) error
	// Proxies are the reverse proxies whose X-Forwarded-For is believed.
	Proxies Proxies
	// MetricsFrom are the networks whose clients may read /metrics, by
	// the client's address as Proxies resolve it; nil lets no one.
	MetricsFrom Networks
	// Build is what the binary was built from, answered at /version and
	// exported as fenfu_build_info.
	Build version.Info
	// RoundTrips, if set, has each request's database round trips
	// counted and exported as fenfu_db_request_roundtrips_total{store,
	// route}: it returns the request's context with a count attached and
	// what reads the count, by store, once the request is served. Set it
	// when a store is on PostgreSQL (SQLite has none to count).
	RoundTrips func(context.Context) (context.Context, func() map[string]int64)
}

// New returns fenfu's HTTP handler.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	routes(mux, d)
	d.Metrics.Help("fenfu_http_requests_total", "HTTP requests served, by route and status.")
	d.Metrics.Help("fenfu_http_request_seconds", "HTTP request latency, by route.")
	d.Metrics.Help("fenfu_build_info", "Always 1, labelled with what this node was built from: version, revision, modified, goversion.")
	d.Metrics.Set("fenfu_build_info", 1, "version", d.Build.Version, "revision", d.Build.Revision,
		"modified", strconv.FormatBool(d.Build.Modified), "goversion", d.Build.Go)
	// Recovery sits inside instrument, so a panicking handler's 500 is
	// counted and timed like any other answer.
	if d.RoundTrips != nil {
		d.Metrics.Help("fenfu_db_request_roundtrips_total", "Database round trips made while serving HTTP requests, by store and route.")
	}
	return clientAddr(d.Proxies, instrument(d.Metrics, d.RoundTrips, recoverPanics(d.Log, mux)))
}

func handleHealth(check func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := check(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
}

// handleVersion answers what the node was built from, as fenfu version
// --json prints it: during a rolling upgrade, which nodes run what.
func handleVersion(v version.Info) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	})
}

// handleIndex says what fenfu serves where; /metrics only to the clients
// that may read it.
func handleIndex(metricsFrom Networks) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metrics := ""
		if metricsFrom.admits(r) {
			metrics = " /metrics;"
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("fenfu: credit payments through QR codes.\n" +
			"Merchant API: WeChat Pay API v3 at /v3/...; cashier pages at /q/<token>; every error and its remedy at /errors; /healthz; /version;" +
			metrics + " the API document at /openapi.json.\n"))
	})
}

// DefaultMetricsFrom are the networks whose clients may read /metrics
// unless serve's --metrics-from says otherwise: loopback and the private
// ranges, where a Prometheus beside fenfu scrapes from.
func DefaultMetricsFrom() Networks {
	ns, _ := ParseNetworks("127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7") // constant: it parses
	return ns
}

// onlyFrom serves next to the clients in ns, by the address clientAddr
// resolved, and answers anyone else 403 FORBIDDEN: /metrics names the
// risk rules and how often each matches, and the payments' volumes.
func onlyFrom(ns Networks, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ns.admits(r) {
			next.ServeHTTP(w, r)
			return
		}
		e := fenfu.Errorf(fenfu.Forbidden, "%s is not served to %s", r.URL.Path, r.RemoteAddr)
		e.Remedy = "Read it from an address in serve's --metrics-from (FENFU_METRICS_FROM; loopback and private networks by default), " +
			"or add the scraper's network there; behind a reverse proxy, list the proxy in --trusted-proxies."
		web.WriteJSON(w, e.Code.HTTPStatus(), map[string]string{"code": string(e.Code), "message": e.Message, "remedy": e.Remedy,
			"help": catalog.Href(e.Code)})
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func instrument(m *metrics.Registry, trips func(context.Context) (context.Context, func() map[string]int64), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		var counts func() map[string]int64
		if trips != nil {
			var ctx context.Context
			ctx, counts = trips(r.Context())
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.Add("fenfu_http_requests_total", 1, "route", route, "status", http.StatusText(sw.status))
		m.Observe("fenfu_http_request_seconds", time.Since(start), "route", route)
		if counts != nil {
			for store, n := range counts() {
				m.Add("fenfu_db_request_roundtrips_total", n, "store", store, "route", route)
			}
		}
	})
}

func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic serving request", "path", r.URL.Path, "panic", p)
				http.Error(w, `{"code":"SYSTEM_ERROR","message":"system error, please retry"}`, http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
