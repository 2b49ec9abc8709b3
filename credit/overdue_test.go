package credit_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
)

func markOverdue(t *testing.T, d *db.DB, day string) credit.OverdueRun {
	t.Helper()
	r, err := credit.MarkOverdue(context.Background(), d, day, credit.DefaultLateFee)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func verify(t *testing.T, d *db.DB) {
	t.Helper()
	if err := credit.Verify(context.Background(), d); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// A purchase paid in full on 27 November is due on 10 December. Missed,
// it is overdue from the 11th and charged 0.05 % of its principal for each
// day, once per day however often the job runs, with missed days caught
// up; the consumer's credit payments are refused naming what to repay
// until everything overdue is repaid.
func TestMissedDueDayIsOverdueWithLateFees(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := d.Clock.(*fenfu.FakeClock)
		open(t, d, "c1", 10_000_00)
		if _, err := capture(d, payment("a1", "c1", 1000_00)); err != nil {
			t.Fatal(err)
		}
		toDay(clock, "2026-12-10")
		if r := markOverdue(t, d, "2026-12-10"); r.Marked != 0 || r.Charged != 0 {
			t.Fatalf("on the due day: %+v", r)
		}
		toDay(clock, "2026-12-13")
		// 0.05 % of 1000.00 yuan is 0.50 a day: the 11th, 12th and 13th.
		if r := markOverdue(t, d, "2026-12-13"); r.Marked != 1 || r.Charged != 3 || r.LateFees != 1_50 {
			t.Fatalf("three days late: %+v", r)
		}
		if r := markOverdue(t, d, "2026-12-13"); r.Marked != 0 || r.Charged != 0 || r.LateFees != 0 {
			t.Fatalf("the same day again charged: %+v", r)
		}
		toDay(clock, "2026-12-15")
		if r := markOverdue(t, d, "2026-12-15"); r.Charged != 2 || r.LateFees != 1_00 {
			t.Fatalf("two missed days: %+v", r)
		}
		p, _, err := credit.PlanOf(ctx, d, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if in := p.Schedule[0]; in.State != string(credit.InstallmentOverdue) || in.Fee != 2_50 || in.Principal != 1000_00 {
			t.Fatalf("installment %+v", in)
		}
		o, err := credit.OverdueOf(ctx, d, "c1", clock.Now())
		if err != nil || o.Amount != 1002_50 || o.DueOn != "2026-12-10" || o.Days != 5 {
			t.Fatalf("overdue %+v %v", o, err)
		}
		// The same from the unpaid installments the credit account has read.
		if in, err := credit.OverdueIn(owed(t, d, "c1", credit.PayoffWaived).Upcoming, clock.Now()); err != nil || in != o {
			t.Fatalf("overdue of the unpaid installments %+v %v, want %+v", in, err, o)
		}
		verify(t, d)
		// verify proves every late fee against its posting.
		tamper := func(q string) {
			t.Helper()
			if err := d.Update(ctx, func(tx *db.Tx) error { _, err := tx.ExecContext(ctx, q); return err }); err != nil {
				t.Fatal(err)
			}
		}
		tamper(`UPDATE credit_late_fees SET fee = fee + 1 WHERE day = '2026-12-14'`)
		if err := credit.Verify(ctx, d); err == nil || !strings.Contains(err.Error(), "late fee") {
			t.Fatalf("verify of a late fee without its posting: %v", err)
		}
		tamper(`UPDATE credit_late_fees SET fee = fee - 1 WHERE day = '2026-12-14'`)
		verify(t, d)

		_, err = capture(d, payment("a2", "c1", 10_00))
		if fenfu.ErrorCode(err) != fenfu.RuleLimit || !strings.Contains(err.Error(), "repay ¥1002.50 due on 2026-12-10") {
			t.Fatalf("credit payment while overdue: %v", err)
		}
		// A partial repayment leaves it overdue: the late fee is paid
		// first, then principal.
		if r, err := repay(d, "r1", "c1", 500_00, credit.PayoffWaived); err != nil || r.Fee != 2_50 || r.Principal != 497_50 {
			t.Fatalf("partial repayment %+v %v", r, err)
		}
		if _, err := capture(d, payment("a2", "c1", 10_00)); fenfu.ErrorCode(err) != fenfu.RuleLimit ||
			!strings.Contains(err.Error(), "repay ¥502.50 due on 2026-12-10") {
			t.Fatalf("credit payment still overdue: %v", err)
		}
		if _, err := repay(d, "r2", "c1", 502_50, credit.PayoffWaived); err != nil {
			t.Fatal(err)
		}
		if o, err := credit.OverdueOf(ctx, d, "c1", clock.Now()); err != nil || o.Amount != 0 || o.Days != 0 {
			t.Fatalf("after repaying: %+v %v", o, err)
		}
		if _, err := capture(d, payment("a2", "c1", 10_00)); err != nil {
			t.Fatalf("credit payment after repaying: %v", err)
		}
		line(t, d, "c1", 10_00, 9_990_00)
		toDay(clock, "2026-12-20")
		if r := markOverdue(t, d, "2026-12-20"); r.Charged != 0 || r.LateFees != 0 {
			t.Fatalf("a repaid installment charged: %+v", r)
		}
		verify(t, d)
	})
}

// An overdue installment of a plan is charged on its own unpaid principal
// only, and a late fee of zero (a rate too small for the amount) still
// counts the day.
func TestLateFeeIsOnTheOverdueInstallmentOnly(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		clock := d.Clock.(*fenfu.FakeClock)
		open(t, d, "c1", 10_000_00)
		if _, err := capture(d, planPayment("a1", "c1", 3000_00, 3, credit.ConsumerPays)); err != nil {
			t.Fatal(err)
		}
		toDay(clock, "2026-12-12")
		// The first installment is 1000.00 of principal: 0.50 a day, two days.
		if r := markOverdue(t, d, "2026-12-12"); r.Marked != 1 || r.Charged != 2 || r.LateFees != 1_00 {
			t.Fatalf("%+v", r)
		}
		open(t, d, "c2", 10_000_00)
		if _, err := capture(d, payment("b1", "c2", 99)); err != nil {
			t.Fatal(err)
		}
		toDay(clock, "2027-01-12")
		r := markOverdue(t, d, "2027-01-12")
		// c1: its first installment 31 more days, its second (due 1-10) 2;
		// c2's 0.99 yuan accrues nothing, but its 2 days are counted.
		if r.Marked != 2 || r.Charged != 31+2+2 || r.LateFees != 31*50+2*50 {
			t.Fatalf("%+v", r)
		}
		verify(t, d)
	})
}

func changeLine(d *db.DB, c credit.LineChange) (credit.LineChanged, error) {
	var out credit.LineChanged
	err := d.Update(context.Background(), func(tx *db.Tx) error {
		var err error
		out, err = credit.ChangeLine(context.Background(), tx, c)
		return err
	})
	return out, err
}

func fen(f fenfu.Fen) *fenfu.Fen { return &f }

func yes(b bool) *bool { return &b }

// Staff raise and lower a line, change its rating and freeze it; a line is
// never lowered below what is used unless frozen, a frozen line takes no
// credit payment, and every change is recorded with its actor, reason and
// the line before and after.
func TestLineChanges(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 1000_00)
		if _, err := capture(d, payment("a1", "c1", 600_00)); err != nil {
			t.Fatal(err)
		}
		if _, err := changeLine(d, credit.LineChange{ID: "x0", ConsumerID: "c1", Actor: "li", Limit: fen(2000_00)}); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Fatalf("no reason: %v", err)
		}
		_, err := changeLine(d, credit.LineChange{ID: "x1", ConsumerID: "c1", Actor: "li", Reason: "risk", Limit: fen(599_99)})
		if fenfu.ErrorCode(err) != fenfu.InvalidRequest || !strings.Contains(err.Error(), "below the 600.00 yuan used") {
			t.Fatalf("lowered below used: %v", err)
		}
		c, err := changeLine(d, credit.LineChange{ID: "x2", ConsumerID: "c1", Actor: "li", Reason: "review", Limit: fen(600_00), Rating: new("C")})
		if err != nil || c.Before.Limit != 1000_00 || c.After.Limit != 600_00 || c.Before.Rating != "B" || c.After.Rating != "C" {
			t.Fatalf("lowered to used: %+v %v", c, err)
		}
		line(t, d, "c1", 600_00, 0)
		c, err = changeLine(d, credit.LineChange{ID: "x3", ConsumerID: "c1", Actor: "wang", Reason: "fraud report", Limit: fen(100_00), Frozen: yes(true)})
		if err != nil || c.After.State != credit.LineFrozen || c.After.Limit != 100_00 || c.After.Available != 0 {
			t.Fatalf("frozen and lowered: %+v %v", c, err)
		}
		if _, err := changeLine(d, credit.LineChange{ID: "x4", ConsumerID: "c1", Actor: "wang", Reason: "cleared", Frozen: yes(false)}); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			t.Fatalf("unfrozen below used: %v", err)
		}
		if _, err := changeLine(d, credit.LineChange{ID: "x5", ConsumerID: "c1", Actor: "wang", Reason: "more", Limit: fen(2000_00)}); err != nil {
			t.Fatal(err)
		}
		_, err = capture(d, payment("a2", "c1", 1_00))
		if fenfu.ErrorCode(err) != fenfu.RuleLimit || !strings.Contains(err.Error(), "frozen") {
			t.Fatalf("payment on a frozen line: %v", err)
		}
		if _, err := changeLine(d, credit.LineChange{ID: "x6", ConsumerID: "c1", Actor: "wang", Reason: "cleared", Frozen: yes(false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := capture(d, payment("a2", "c1", 1_00)); err != nil {
			t.Fatalf("payment after unfreezing: %v", err)
		}
		if _, err := changeLine(d, credit.LineChange{ID: "x7", ConsumerID: "nobody", Actor: "wang", Reason: "r", Limit: fen(1)}); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
			t.Fatalf("no line: %v", err)
		}
		ch, err := credit.LineChanges(ctx, d, "c1", 10)
		if err != nil || len(ch) != 4 {
			t.Fatalf("changes %+v %v", ch, err)
		}
		got := map[string]credit.LineChanged{}
		for _, c := range ch {
			got[c.ID] = c
		}
		if l, err := credit.Get(ctx, d, "c1"); err != nil || l.State != credit.LineActive || l.Available != 2000_00-601_00 {
			t.Fatalf("line after unfreezing %+v %v", l, err)
		}
		if c := got["x3"]; c.Actor != "wang" || c.Reason != "fraud report" || c.Before.State != credit.LineActive || c.After.State != credit.LineFrozen ||
			c.Before.Limit != 600_00 || c.After.Limit != 100_00 {
			t.Fatalf("recorded %+v", c)
		}
		verify(t, d)
	})
}

// A refund of an overdue purchase keeps the books: its late fees stay
// owed, spread with the rest of the plan's unpaid fee, and verify proves
// them.
func TestRefundOfAnOverduePurchase(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := d.Clock.(*fenfu.FakeClock)
		open(t, d, "c1", 10_000_00)
		if _, err := capture(d, planPayment("a1", "c1", 3000_00, 3, credit.ConsumerPays)); err != nil {
			t.Fatal(err)
		}
		toDay(clock, "2026-12-14")
		if r := markOverdue(t, d, "2026-12-14"); r.LateFees != 4*50 {
			t.Fatalf("%+v", r)
		}
		if err := refund(d, credit.Refund{RefundID: "r1", AttemptID: "a1", OrderID: "O-a1", MchID: "m1", Amount: 1500_00}); err != nil {
			t.Fatal(err)
		}
		p, _, err := credit.PlanOf(ctx, d, "a1")
		if err != nil {
			t.Fatal(err)
		}
		var fees fenfu.Fen
		for _, in := range p.Schedule {
			fees += in.Fee - in.PaidFee
		}
		// 2.3 % of 3000.00 is 69.00, half refunded: 34.50, and 2.00 of late fees.
		if fees != 34_50+2_00 {
			t.Errorf("unpaid fee %d, want 3650", fees)
		}
		verify(t, d)
		toDay(clock, "2026-12-15")
		if r := markOverdue(t, d, "2026-12-15"); r.Charged != 1 || r.LateFees != 25 {
			t.Fatalf("after the refund: %+v", r)
		}
		verify(t, d)
	})
}

// Two runs of the job for one day at once, as two nodes would, charge
// each installment-day once between them.
func TestOverdueRunsAtOnceChargeOnce(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		clock := d.Clock.(*fenfu.FakeClock)
		for _, c := range []string{"c1", "c2", "c3", "c4"} {
			open(t, d, c, 10_000_00)
			if _, err := capture(d, planPayment("a-"+c, c, 3000_00, 3, credit.ConsumerPays)); err != nil {
				t.Fatal(err)
			}
		}
		toDay(clock, "2026-12-20")
		runs := make([]credit.OverdueRun, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range runs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runs[i], errs[i] = credit.MarkOverdue(context.Background(), d, "2026-12-20", credit.DefaultLateFee)
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		// Four installments of 1000.00, ten days each at 0.50.
		if m, c, f := runs[0].Marked+runs[1].Marked, runs[0].Charged+runs[1].Charged, runs[0].LateFees+runs[1].LateFees; m != 4 || c != 40 || f != 40*50 {
			t.Fatalf("together marked %d, charged %d days, %d fen: %+v", m, c, f, runs)
		}
		verify(t, d)
	})
}
