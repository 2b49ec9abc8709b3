package credit_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
)

var update = flag.Bool("update", false, "rewrite the golden statements")

// The statements of a known December and January: purchases in full and
// in installments, a partial repayment, a partial refund that recomputes a
// plan, against golden files. Activity after a statement date does not
// change its statement.
func TestStatementGolden(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := d.Clock.(*fenfu.FakeClock)
		open(t, d, "c1", 10_000_00)
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		_, err := capture(d, planPayment("a1", "c1", 600_00, 6, credit.ConsumerPays))
		must(err)
		_, err = capture(d, payment("a2", "c1", 100_00))
		must(err)
		toDay(clock, "2026-12-05")
		_, err = repay(d, "r1", "c1", 150_00, credit.PayoffWaived)
		must(err)
		toDay(clock, "2026-12-20")
		must(refund(d, credit.Refund{RefundID: "f1", AttemptID: "a1", OrderID: "O-a1", MchID: "m1", Amount: 150_00, Fee: 90}))
		_, err = capture(d, planPayment("a3", "c1", 300_00, 3, credit.MerchantPays))
		must(err)
		toDay(clock, "2027-01-02")
		statements := func() map[string]credit.Statement {
			out := map[string]credit.Statement{}
			for _, m := range []string{"2026-12", "2027-01"} {
				s, err := credit.StatementOf(ctx, d, "c1", m, credit.DefaultCalendar)
				must(err)
				out[m] = s
			}
			return out
		}
		first := statements()
		for m, s := range first {
			got, _ := json.MarshalIndent(s, "", "  ")
			path := filepath.Join("testdata", "statement-"+m+".json")
			if *update {
				must(os.WriteFile(path, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(path)
			must(err)
			if string(want) != string(got)+"\n" {
				t.Errorf("statement %s differs from %s:\n%s", m, path, got)
			}
		}
		// Later repayments and refunds leave past statements as they were.
		toDay(clock, "2027-01-08")
		_, err = repay(d, "r2", "c1", 200_00, credit.PayoffWaived)
		must(err)
		must(refund(d, credit.Refund{RefundID: "f2", AttemptID: "a3", OrderID: "O-a3", MchID: "m1", Amount: 100_00}))
		again := statements()
		a, _ := json.Marshal(first)
		b, _ := json.Marshal(again)
		if string(a) != string(b) {
			t.Errorf("statements changed after later activity:\n%s\n%s", a, b)
		}
		if _, err := credit.StatementOf(ctx, d, "c1", "2027-02", credit.DefaultCalendar); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
			t.Errorf("a future statement: %v", err)
		}
		// r1 paid 4.50 of fee, r2 3.15: 1000.00 - 145.50 - 150.00 - 100.00 - 196.85.
		line(t, d, "c1", 407_65, 10_000_00-407_65)
	})
}
