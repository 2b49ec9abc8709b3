package main

import (
	"bytes"
	"context"
	"encoding/json"
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
