package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/version"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestOperatorKit runs serve's server in process on a fake clock, with
// --log-format json (from its variable), pays one order on credit and
// fails another for a short credit line through the cashier, and scrapes
// /metrics: every family an operator's dashboard and alerts read is
// there with sane values, the failed notification of the payment is in
// the log as JSON, and /version tells what fenfu version does. The
// dashboard and the alert rules in deploy/ name only metrics this scrape
// has. It does so on both sides of --settle-at (03:00): at 01:00, when
// the scheduler has not settled yesterday yet, and at 10:00, when it has
// on starting.
func TestOperatorKit(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			for _, hour := range []int{1, 10} {
				t.Run(fmt.Sprintf("%02d:00", hour), func(t *testing.T) {
					testOperatorKit(t, engine, time.Date(2026, 11, 27, hour, 0, 0, 0, fenfu.Shanghai))
				})
			}
		})
	}
}

func testOperatorKit(t *testing.T, engine db.Engine, now time.Time) {
	cfg := engineConfig(t, engine)
	// The log format as every command reads it: from its variable.
	cfg.LogFormat = DefaultConfig(func(k string) string {
		if k == "FENFU_LOG_FORMAT" {
			return "json"
		}
		return ""
	}).LogFormat
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, fenfu.Shanghai)
	settled := !now.Before(midnight.Add(cfg.SettleAt))
	w := startWorldAt(t, cfg, now)
	rich, poor := w.consumer(500000, 0), w.consumer(100, 0)
	pay := func(who payer, no string, want int) {
		t.Helper()
		o := w.order(no, 3200)
		if code, body := w.try(who.client, "POST", "/q/"+o.Token+"/pay", map[string]any{"channel": "credit", "phone": who.phone, "pin": who.pin}, nil); code != want {
			t.Fatalf("pay %s: HTTP %d %s, want %d", no, code, body, want)
		}
	}
	pay(rich, "OPS-0001", 200)
	pay(poor, "OPS-0002", 403) // NOT_ENOUGH: ¥32 on a ¥1 line

	// The payment's notification goes to shop.example, which does not
	// answer here: its failed attempt is logged as JSON. After
	// --settle-at, the scheduler logs that it settled yesterday.
	var failed, done map[string]any
	for deadline := time.Now().Add(10 * time.Second); (failed == nil || settled && done == nil) && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, line := range strings.Split(w.log.String(), "\n") {
			var r map[string]any
			if line == "" {
				continue
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("serve --log-format json wrote a line that is not JSON: %q", line)
			}
			switch msg := r["msg"].(string); {
			case strings.HasPrefix(msg, "notification delivery failed"):
				failed = r
			case msg == "settled":
				done = r
			}
		}
	}
	if failed == nil || failed["level"] != "WARN" || failed["mchid"] != w.mchid || failed["attempt"] != 1.0 ||
		failed["next_attempt_at"] == nil || failed["error"] == "" {
		t.Fatalf("no warning of the failed notification in the JSON log: %v\n%s", failed, w.log.String())
	}
	if yesterday := midnight.AddDate(0, 0, -1).Format(time.DateOnly); (done != nil) != settled || settled && done["date"] != yesterday {
		t.Fatalf("at %s the scheduler logged %v; want %s settled: %v", now.Format("15:04"), done, yesterday, settled)
	}

	var v version.Info
	if err := getJSON(context.Background(), w.base+"/version", &v); err != nil || v != version.Get() || v.Go == "" {
		t.Errorf("/version = %+v, want %+v", v, version.Get())
	}

	var doc map[string]any
	if err := getJSON(context.Background(), w.base+"/openapi.json", &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Errorf("/openapi.json: %v %v", err, doc["openapi"])
	}

	mfs := scrape(t, w.base)
	check := func(name string, ok func(float64) bool, labels ...string) {
		t.Helper()
		v, found := sample(mfs[name], labels...)
		if !found || !ok(v) {
			t.Errorf("%s%v = %v (found %v)", name, labels, v, found)
		}
	}
	is := func(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
	positive := func(v float64) bool { return v > 0 }
	one := is(1)
	atLeast0 := func(v float64) bool { return v >= 0 }
	check("fenfu_build_info", one, "version", v.Version, "goversion", v.Go)
	check("fenfu_payments_total", one, "channel", "credit", "outcome", "success")
	check("fenfu_payments_total", one, "channel", "credit", "outcome", "declined")
	check("fenfu_notify_attempts_total", positive, "result", "retry")
	check("fenfu_notify_pending", one)
	check("fenfu_notify_oldest_pending_age_seconds", func(v float64) bool { return v >= 0 && v < 600 })
	for _, store := range []string{"core", "credit"} {
		check("fenfu_db_commit_seconds", positive, "store", store)
		for _, reason := range dbRetryReasons(engine) {
			check("fenfu_db_retries_total", atLeast0, "store", store, "reason", reason)
		}
		pool := "shared"
		if engine == db.SQLite {
			pool = "write"
			check("go_sql_max_open_connections", one, "db_name", store, "pool", pool)
		}
		check("go_sql_open_connections", positive, "db_name", store, "pool", pool)
		check("go_sql_in_use_connections", atLeast0, "db_name", store, "pool", pool)
		check("go_sql_idle_connections", atLeast0, "db_name", store, "pool", pool)
		check("go_sql_wait_count_total", atLeast0, "db_name", store, "pool", pool)
		check("go_sql_wait_duration_seconds_total", atLeast0, "db_name", store, "pool", pool)
	}
	// The business day last due is yesterday after --settle-at, the day
	// before until then; the scheduler's run is there from the start,
	// never run (0) and not failed (1) until it runs.
	due, lastRun, batchDone := midnight.Add(cfg.SettleAt), float64(now.Unix()), 1.0
	if !settled {
		due, lastRun, batchDone = due.AddDate(0, 0, -1), 0, 0
	}
	check("fenfu_settlement_due_timestamp_seconds", is(float64(due.Unix())))
	check("fenfu_settlement_last_run_timestamp_seconds", is(lastRun))
	check("fenfu_settlement_last_run_success", one)
	for _, ch := range []string{"credit", "ordinary"} {
		check("fenfu_settlement_batch_done", is(batchDone), "channel", ch)
		check("fenfu_settlement_batch_merchants", atLeast0, "channel", ch)
		check("fenfu_settlement_batch_merchants_done", atLeast0, "channel", ch)
	}
	check("fenfu_http_requests_total", one, "route", "POST /q/{token}/pay", "status", "OK")
	check("fenfu_ticket_alerts_total", atLeast0, "result", "failed")
	check("fenfu_ticket_escalations_total", atLeast0, "type", "PAYMENT_FAILURE", "level", "2")
	check("go_goroutines", positive)
	check("go_memstats_heap_inuse_bytes", positive)
	check("go_gc_duration_seconds", atLeast0)
	check("process_resident_memory_bytes", positive)
	check("process_cpu_seconds_total", positive)

	// Every metric the dashboard's panels and the alert rules read is one
	// fenfu exports (or Prometheus's own up).
	have := map[string]bool{"up": true}
	for name, mf := range mfs {
		have[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_SUMMARY {
			have[name+"_bucket"], have[name+"_sum"], have[name+"_count"] = true, true, true
		}
	}
	for _, e := range dashboardExprs(t) {
		for _, name := range metricNames(e) {
			if !have[name] {
				t.Errorf("the dashboard reads %s, which /metrics lacks: %s", name, e)
			}
		}
	}
	for _, r := range alertRules(t) {
		for _, name := range metricNames(r.Expr) {
			if !have[name] {
				t.Errorf("alert %s reads %s, which /metrics lacks: %s", r.Alert, name, r.Expr)
			}
		}
	}
}

// scrape reads a server's /metrics with Prometheus's text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return mfs
}

// sample returns the value of the first series of mf with the given
// labels: a counter's or gauge's value, a histogram's or summary's count.
func sample(mf *dto.MetricFamily, labels ...string) (float64, bool) {
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == labels[i] && l.GetValue() == labels[i+1] }) {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount()), true
		}
	}
	return 0, false
}

// promSyntax is what is not a metric name in a PromQL expression: strings,
// label matchers, ranges, the label lists of by, without, on, ignoring
// and group_*, Grafana's variables, and numbers.
var promStrings, promSyntax = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`), regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|\$\{?\w+\}?|\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b`)

// promWords are PromQL's keywords.
var promWords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true,
	"on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}

// metricNames returns the metric names a PromQL expression reads: its
// identifiers that are neither syntax nor a function's name (followed by
// an opening parenthesis).
func metricNames(expr string) []string {
	rest := promSyntax.ReplaceAllString(promStrings.ReplaceAllString(expr, `""`), " ")
	var out []string
	for _, m := range regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`).FindAllStringSubmatch(rest, -1) {
		name := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m[0]), "("))
		if m[1] != "" || promWords[strings.ToLower(name)] {
			continue
		}
		out = append(out, name)
	}
	return out
}

// TestMetricNames: the reader of PromQL finds the metrics and nothing
// else, so the checks above cannot pass by finding no names.
func TestMetricNames(t *testing.T) {
	got := metricNames(`histogram_quantile(0.99, sum by (le, store) (rate(fenfu_db_commit_seconds_bucket{store=~"a|b"}[$__rate_interval]))) > 0.25 and on() (time() - max(fenfu_settlement_due_timestamp_seconds) > 7200) or up{job="fenfu"} == 0`)
	if want := []string{"fenfu_db_commit_seconds_bucket", "fenfu_settlement_due_timestamp_seconds", "up"}; !slices.Equal(got, want) {
		t.Errorf("metricNames = %v, want %v", got, want)
	}
}

// dashboardExprs checks deploy/grafana/fenfu-dashboard.json has what
// Grafana needs to import it (a title, a uid, a schema version, panels
// with an id, type, title and place, a Prometheus data source variable)
// and returns every panel's expressions.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/grafana/fenfu-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID, Title    string
		SchemaVersion int
		Time          struct{ From, To string }
		Templating    struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []struct {
			ID         int
			Type       string
			Title      string
			Datasource *struct{ Type, UID string }
			GridPos    *struct{ H, W, X, Y int }
			Targets    []struct{ Expr, RefID string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 || d.Time.From == "" || len(d.Panels) == 0 {
		t.Fatalf("the dashboard lacks uid, title, schemaVersion, time or panels")
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct{ Name, Type, Query string }) bool {
		return v.Type == "datasource" && v.Query == "prometheus" && v.Name == "datasource"
	}) {
		t.Errorf("the dashboard has no Prometheus data source variable named datasource")
	}
	var exprs []string
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if p.ID == 0 || ids[p.ID] || p.Type == "" || p.Title == "" || p.GridPos == nil || p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %d %q: an id of its own, a type, a title and a place within 24 columns are required", p.ID, p.Title)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: reads no target from the datasource variable", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" {
				t.Errorf("panel %q: a target without expr or refId", p.Title)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// rule is one alerting rule.
type rule struct {
	Alert, Expr, For string
	Labels           map[string]string
	Annotations      map[string]string
}

// alertRules reads deploy/prometheus/alerts.yml, YAML in the
// JSON-compatible flow style after its comment lines, and checks each rule
// has the fields Prometheus requires and an operator needs: a name, an
// expression, a for, a severity, a summary and a description.
func alertRules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	var f struct {
		Groups []struct {
			Name  string
			Rules []rule
		}
	}
	dec := json.NewDecoder(strings.NewReader(strings.Join(lines, "\n")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("alerts.yml does not read as JSON-compatible YAML: %v", err)
	}
	var out []rule
	names := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("a rule group without a name or rules")
		}
		for _, r := range g.Rules {
			if _, err := model.ParseDuration(r.For); err != nil || r.Alert == "" || names[r.Alert] || r.Expr == "" {
				t.Errorf("rule %q: needs a name of its own, an expr and a for duration (%v)", r.Alert, err)
			}
			names[r.Alert] = true
			if s := r.Labels["severity"]; (s != "warning" && s != "critical") || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("rule %q: needs severity warning or critical, a summary and a description", r.Alert)
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") || strings.Count(r.Expr, "{") != strings.Count(r.Expr, "}") {
				t.Errorf("rule %q: unbalanced expression %s", r.Alert, r.Expr)
			}
			out = append(out, r)
		}
	}
	for _, want := range []string{"FenfuInstanceDown", "FenfuHighErrorRate", "FenfuNotificationBacklogOld", "FenfuCommitLatencyHigh",
		"FenfuSettlementLate", "FenfuDBPoolSaturated", "FenfuOnDutyAlertFailed", "FenfuTicketSLAMissedTwice"} {
		if !names[want] {
			t.Errorf("alerts.yml has no %s", want)
		}
	}
	return out
}
