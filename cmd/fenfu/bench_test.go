package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestBench runs a small in-process bench for each key type and checks its
// report: every payment done, no errors, the books proved.
func TestBench(t *testing.T) {
	for _, key := range []string{"rsa", "sm2"} {
		t.Run(key, func(t *testing.T) {
			// A third of the SM2 run's payments choose installments.
			share, plans := "0", 0
			if key == "sm2" {
				share, plans = "0.34", 54 // 34 of the first 100 and all 20 of the rest
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "result.json")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"bench", "--data-dir", dir, "--server", "inprocess", "--key", key,
				"--merchants", "2", "--consumers", "5", "--count", "120", "--concurrency", "8", "--installments", share, "-o", out},
				func(string) string { return "" }, nil, &stdout, &stderr)
			if err != nil {
				t.Fatalf("bench: %v\n%s", err, stderr.String())
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var r bench.Result
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Payments != 120 || len(r.Errors) != 0 || !r.ProofOK || r.Calls["payment"].Count != 120 ||
				r.Calls["create"].P50 <= 0 || r.CeilingPerS <= 0 || r.Efficiency <= 0 || r.InstallmentPayments != plans {
				t.Fatalf("result: %s", b)
			}
			// The machine's load around the run is recorded (unless the
			// machine is so idle that /proc/loadavg reads zeros).
			if now := bench.LoadAverage(); now[2] > 0 && r.LoadStart[2] <= 0 && r.LoadEnd[2] <= 0 {
				t.Fatalf("no load average recorded (now %v): %s", now, b)
			}
			if !strings.Contains(stdout.String(), "payments/s") || !strings.Contains(stdout.String(), "ledger proof    ok") {
				t.Fatalf("table:\n%s", stdout.String())
			}
		})
	}
}

// TestBenchLedger runs a small ledger bench in a temporary store and
// checks its report: every variant at each number of clients, every
// transaction posted and proved.
func TestBenchLedger(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "ledger.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bench", "ledger", "--data-dir", dir, "--clients", "2,3", "--count", "30",
		"--duration", "0", "-o", out}, func(string) string { return "" }, nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench ledger: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.LedgerResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 6 || !r.ProofOK || r.Engine != "sqlite" || r.Formance.TxPerS["hot"] != [2]float64{66, 72} {
		t.Fatalf("result: %s", b)
	}
	for i, x := range r.Runs {
		if x.Variant != bench.LedgerVariants[i/2] || x.Clients != 2+i%2 || x.Transactions != 30 || x.Latency.Count != 30 ||
			x.TxPerS <= 0 || x.FenfuCPUS < 0 || len(x.Errors) != 0 {
			t.Fatalf("run %d: %+v", i, x)
		}
	}
	if !strings.Contains(stdout.String(), "ok: 180 transactions") || !strings.Contains(stdout.String(), "proxy 403") {
		t.Fatalf("table:\n%s", stdout.String())
	}
	for _, args := range [][]string{{"--clients", "0"}, {"--variants", "warm"}, {"--count", "0", "--duration", "0"}, {"--pgbench", "1s"}} {
		err := run(context.Background(), append([]string{"bench", "ledger", "--data-dir", t.TempDir()}, args...),
			func(string) string { return "" }, nil, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("bench ledger %v ran", args)
		}
	}
}

// TestBenchRoundTrips runs a small bench on PostgreSQL and checks that it
// reports the server's round trips per payment, by call and by store, and
// that a payment takes no more than it did when they were last cut.
func TestBenchRoundTrips(t *testing.T) {
	if !slices.Contains(dbtest.Engines(), db.Postgres) {
		t.Skip("FENFU_TEST_POSTGRES is not set")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "result.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"bench", "--server", "inprocess", "--key", "sm2",
		"--core-db", dbtest.DSN(t, db.Postgres, "core"), "--credit-db", dbtest.DSN(t, db.Postgres, "credit"),
		"--merchants", "2", "--consumers", "5", "--count", "60", "--concurrency", "4", "-o", out},
		func(string) string { return "" }, nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	rt := r.RoundTrips
	if r.Payments != 60 || !r.ProofOK || rt == nil {
		t.Fatalf("result: %s", b)
	}
	// Each call reaches the core store at least once, the payment the
	// credit store too; the stores add up to the whole.
	if rt.Calls["create"] < 1 || rt.Calls["pay"] < 2 || rt.Calls["query"] < 1 || rt.Store["credit"]["pay"] < 1 ||
		math.Abs(rt.Store["core"]["total"]+rt.Store["credit"]["total"]-rt.Total) > 1e-6 {
		t.Fatalf("round trips: %+v", rt)
	}
	t.Logf("round trips per payment: %.2f, by call %v", rt.Total, rt.Calls)
	// The statements prepared on each new connection, and the work that
	// costs by the second rather than by the payment (the notification
	// worker's and the sealer's looks), add a little to a run this short
	// (about 10.3 of it); the steady state is about 9, and was 37 before
	// the cuts.
	if rt.Total > 13 {
		t.Errorf("%.2f round trips per payment, more than the 13 allowed", rt.Total)
	}
	// A create and a query verified with a cached key take one round
	// trip each, their checks (nonce, the merchant's keys) going with
	// their statement; the merchants' first requests and new connections
	// add a little to a run this short (about 1.7 and 1.1). Each took 3
	// before in the steady state.
	if rt.Calls["create"] > 2.5 || rt.Calls["query"] > 2.5 {
		t.Errorf("create %.2f, query %.2f round trips, more than the 2.5 allowed", rt.Calls["create"], rt.Calls["query"])
	}
	// The cashier's payment call, 3 round trips in each store once warm,
	// about 7 in a run this short (11.4 warm before its cuts).
	if rt.Calls["pay"] > 8.5 {
		t.Errorf("%.2f round trips per payment call, more than the 8.5 allowed", rt.Calls["pay"])
	}
	if !strings.Contains(stdout.String(), "round trips") {
		t.Fatalf("table:\n%s", stdout.String())
	}
}

// TestBenchNodesNeedPostgres: several nodes share stores only on
// PostgreSQL; asked on SQLite, the bench refuses before it provisions.
func TestBenchNodesNeedPostgres(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "2"}, "needs both stores on PostgreSQL"},
		{[]string{"--nodes", "2", "--server", "inprocess"}, "--nodes needs --server spawn"},
		{[]string{"--nodes", "0"}, "--nodes must be from 1 to 16"},
	} {
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"bench", "--data-dir", dir, "--count", "10"}, tc.args...),
			func(string) string { return "" }, nil, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("bench %v = %v (%s), want a refusal saying %q", tc.args, err, stderr.String(), tc.want)
		}
		if strings.Contains(stderr.String(), "provisioning") {
			t.Errorf("bench %v provisioned before refusing", tc.args)
		}
	}
}

// TestReadTripsSumsNodes: with several nodes, the round trips per payment
// are every node's, summed by store and by route.
func TestReadTripsSumsNodes(t *testing.T) {
	var urls []string
	for _, n := range []int{10, 32} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "fenfu_db_roundtrips_total{store=\"core\"} %d\n", n)
			fmt.Fprintf(w, "fenfu_db_request_roundtrips_total{route=\"POST /v3/pay/transactions/native\",store=\"core\"} %d\n", n/2)
		}))
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	sum, err := readTrips(context.Background(), urls)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Store["core"] != 42 || sum.Route["core"]["POST /v3/pay/transactions/native"] != 21 {
		t.Fatalf("summed trips %+v, want 42 and 21", sum)
	}
}
