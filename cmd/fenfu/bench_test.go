package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/bench"
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
