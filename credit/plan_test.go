package credit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
)

func TestSplitPutsTheRemainderFirst(t *testing.T) {
	for _, tc := range []struct {
		total fenfu.Fen
		n     int
		want  []fenfu.Fen
	}{
		{100, 3, []fenfu.Fen{34, 33, 33}},
		{600_00, 6, []fenfu.Fen{100_00, 100_00, 100_00, 100_00, 100_00, 100_00}},
		{1001, 12, []fenfu.Fen{88, 83, 83, 83, 83, 83, 83, 83, 83, 83, 83, 83}},
		{2, 3, []fenfu.Fen{2, 0, 0}},
	} {
		got := credit.Split(tc.total, tc.n)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Split(%d, %d) = %v, want %v", tc.total, tc.n, got, tc.want)
		}
	}
}

func TestCalendar(t *testing.T) {
	cal := credit.DefaultCalendar
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, s, fenfu.Shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ at, statement, due, next string }{
		{"2026-11-27 10:00:00", "2026-12-01", "2026-12-10", "2026-12-10"},
		{"2026-12-01 00:00:00", "2027-01-01", "2027-01-10", "2026-12-10"},
		{"2026-12-10 23:59:59", "2027-01-01", "2027-01-10", "2026-12-10"},
		{"2026-12-11 00:00:00", "2027-01-01", "2027-01-10", "2027-01-10"},
		{"2026-12-31 23:59:59", "2027-01-01", "2027-01-10", "2027-01-10"},
	} {
		s := cal.StatementAfter(at(tc.at))
		if got := s.Format(time.DateOnly); got != tc.statement {
			t.Errorf("%s: statement %s, want %s", tc.at, got, tc.statement)
		}
		if got := cal.DueOf(s).Format(time.DateOnly); got != tc.due {
			t.Errorf("%s: due %s, want %s", tc.at, got, tc.due)
		}
		if got := cal.NextDue(at(tc.at)); got != tc.next {
			t.Errorf("%s: next due %s, want %s", tc.at, got, tc.next)
		}
	}
}

// TestStatements: the statements listed for a consumer are those made
// from the first after its first purchase up to now, newest first.
func TestStatements(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation(time.DateTime, s, fenfu.Shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cal := credit.DefaultCalendar
	for _, tc := range []struct {
		since, now string
		most       int
		want       string
	}{
		{"2026-11-27 10:00:00", "2026-11-30 23:59:59", 24, ""},
		{"2026-11-27 10:00:00", "2026-12-01 00:00:00", 24, "2026-12"},
		{"2026-11-27 10:00:00", "2027-02-15 12:00:00", 24, "2027-02 2027-01 2026-12"},
		{"2026-12-01 00:00:00", "2027-02-15 12:00:00", 24, "2027-02 2027-01"},
		{"2026-11-27 10:00:00", "2027-02-15 12:00:00", 2, "2027-02 2027-01"},
	} {
		if got := strings.Join(cal.Statements(at(tc.since), at(tc.now), tc.most), " "); got != tc.want {
			t.Errorf("since %s, at %s: %q, want %q", tc.since, tc.now, got, tc.want)
		}
	}
	if got := strings.Join(credit.Calendar{StatementDay: 20, DueDay: 5}.Statements(at("2026-11-27 10:00:00"), at("2027-01-20 08:00:00"), 24), " "); got != "2027-01 2026-12" {
		t.Errorf("statements on the 20th: %q", got)
	}
}

func planPayment(attempt, consumerID string, amount fenfu.Fen, n int, payer credit.FeePayer) credit.Payment {
	p := payment(attempt, consumerID, amount)
	p.Terms = credit.Terms{Installments: n, FeePayer: payer, Rate: credit.DefaultRates()[n]}
	return p
}

func repay(d *db.DB, id, consumerID string, amount fenfu.Fen, payoff credit.EarlyPayoff) (credit.Repaid, error) {
	var r credit.Repaid
	err := d.Update(context.Background(), func(tx *db.Tx) error {
		var err error
		r, err = credit.Repay(context.Background(), tx, credit.Repayment{ID: id, ConsumerID: consumerID,
			Source: "partner:bank", Key: id, Amount: amount, Payoff: payoff})
		return err
	})
	return r, err
}

func owed(t *testing.T, d *db.DB, consumerID string, payoff credit.EarlyPayoff) credit.Owed {
	t.Helper()
	o, err := credit.OwedBy(context.Background(), d, consumerID, credit.DefaultCalendar, payoff)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// nextMonth moves the clock to the given day of the next month.
func toDay(c *fenfu.FakeClock, date string) {
	v, err := time.ParseInLocation(time.DateTime, date+" 12:00:00", fenfu.Shanghai)
	if err != nil {
		panic(err)
	}
	c.Set(v)
}

// A 6-installment purchase with the consumer bearing the 4.5 % fee, paid
// on schedule: every installment is its principal and fee, due on the
// 10th; each repayment restores the line by exactly its principal.
func TestSixInstallmentsRepaidOnSchedule(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := d.Clock.(*fenfu.FakeClock)
		open(t, d, "c1", 10_000_00)
		if _, err := capture(d, planPayment("a1", "c1", 1000_01, 6, credit.ConsumerPays)); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 1000_01, 9000_00-1)
		p, ok, err := credit.PlanOf(ctx, d, "a1")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		// 4.5 % of 1000.01 is 45.00045, rounded to 45.00.
		if p.Fee != 45_00 || p.FeePayer != credit.ConsumerPays || len(p.Schedule) != 6 {
			t.Fatalf("plan = %+v", p)
		}
		wantDue := []string{"2026-12-10", "2027-01-10", "2027-02-10", "2027-03-10", "2027-04-10", "2027-05-10"}
		for i, in := range p.Schedule {
			wp, wf := fenfu.Fen(166_66), fenfu.Fen(7_50)
			if i == 0 {
				wp = 1000_01 - 5*166_66
			}
			if in.DueOn != wantDue[i] || in.Principal != wp || in.Fee != wf {
				t.Errorf("installment %d = %+v, want %s %d %d", i+1, in, wantDue[i], wp, wf)
			}
		}
		if got, err := ledger.Balance(ctx, d, credit.FeeDueAccount("c1")); err != nil || got != 45_00 {
			t.Errorf("fee due = %d (%v), want 4500", got, err)
		}
		used := fenfu.Fen(1000_01)
		for i, in := range p.Schedule {
			toDay(clock, in.DueOn)
			o := owed(t, d, "c1", credit.PayoffWaived)
			if o.DueNow != in.Principal+in.Fee {
				t.Errorf("month %d: due now %d, want %d", i+1, o.DueNow, in.Principal+in.Fee)
			}
			r, err := repay(d, fmt.Sprintf("r%d", i), "c1", o.DueNow, credit.PayoffWaived)
			if err != nil {
				t.Fatal(err)
			}
			if r.Principal != in.Principal || r.Fee != in.Fee || r.Waived != 0 {
				t.Errorf("month %d: repaid %+v", i+1, r)
			}
			used -= in.Principal
			line(t, d, "c1", used, 10_000_00-used)
		}
		p, _, _ = credit.PlanOf(ctx, d, "a1")
		if p.State != credit.PlanPaid {
			t.Errorf("plan state %s, want PAID", p.State)
		}
		if got, _ := ledger.Balance(ctx, d, credit.InstallmentFeeAccount); got != 45_00 {
			t.Errorf("installment fee income %d, want 4500", got)
		}
	})
}

// A merchant-borne fee is taken from the merchant's pending settlement in
// the credit store; the consumer owes the principal only.
func TestMerchantBorneFee(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 10_000_00)
		q, err := capture(d, planPayment("a1", "c1", 1200_00, 12, credit.MerchantPays))
		if err != nil {
			t.Fatal(err)
		}
		p, _, _ := credit.PlanOf(ctx, d, "a1")
		if p.Fee != 90_00 || p.Schedule[0].Fee != 0 || p.Schedule[11].Principal != 100_00 {
			t.Errorf("plan = %+v", p)
		}
		pending, _ := ledger.Balance(ctx, d, ledger.AccountOf(ledger.MerchantPending, "m1"))
		if want := 1200_00 - q.Fee - 90_00; pending != want {
			t.Errorf("merchant pending %d, want %d", pending, want)
		}
		if got, _ := ledger.Balance(ctx, d, credit.FeeDueAccount("c1")); got != 0 {
			t.Errorf("consumer fee due %d, want 0", got)
		}
		line(t, d, "c1", 1200_00, 8800_00)
	})
}

// Paying a plan off early waives the fee of installments not yet due, or
// charges it, by the setting; either way the line is restored in full.
func TestEarlyPayoff(t *testing.T) {
	for _, payoff := range []credit.EarlyPayoff{credit.PayoffWaived, credit.PayoffCharged} {
		t.Run(string(payoff), func(t *testing.T) {
			store(t, func(t *testing.T, d *db.DB) {
				open(t, d, "c1", 10_000_00)
				if _, err := capture(d, planPayment("a1", "c1", 300_00, 3, credit.ConsumerPays)); err != nil {
					t.Fatal(err)
				}
				// fee 6.90: 2.30 per installment; the first is due 2026-12-10.
				o := owed(t, d, "c1", payoff)
				want := fenfu.Fen(300_00 + 2_30)
				if payoff == credit.PayoffCharged {
					want = 300_00 + 6_90
				}
				if o.DueNow != 100_00+2_30 || o.Payoff != want {
					t.Fatalf("owed = %+v, want due now 10230, payoff %d", o, want)
				}
				if _, err := repay(d, "too-much", "c1", want+1, payoff); fenfu.ErrorCode(err) != fenfu.ParamError {
					t.Errorf("repaying more than owed: %v", err)
				}
				r, err := repay(d, "r1", "c1", want, payoff)
				if err != nil {
					t.Fatal(err)
				}
				if r.Principal != 300_00 || (payoff == credit.PayoffWaived) != (r.Waived == 4_60) {
					t.Errorf("repaid %+v", r)
				}
				line(t, d, "c1", 0, 10_000_00)
				// The same key again is the same repayment, applied once.
				again, err := repay(d, "r1", "c1", want, payoff)
				if err != nil || again.Principal != 300_00 {
					t.Errorf("again = %+v, %v", again, err)
				}
				line(t, d, "c1", 0, 10_000_00)
			})
		})
	}
}

// A partial refund in month 2 takes the refunded principal off the unpaid
// installments, returns its share of the fee, and the line gets the
// principal back.
func TestPartialRefundInMonthTwo(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := d.Clock.(*fenfu.FakeClock)
		open(t, d, "c1", 10_000_00)
		if _, err := capture(d, planPayment("a1", "c1", 600_00, 6, credit.ConsumerPays)); err != nil {
			t.Fatal(err)
		}
		toDay(clock, "2026-12-10")
		if _, err := repay(d, "r1", "c1", 100_00+4_50, credit.PayoffWaived); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 500_00, 9500_00)
		toDay(clock, "2026-12-20")
		if err := refund(d, credit.Refund{RefundID: "f1", AttemptID: "a1", OrderID: "O-a1", MchID: "m1", Amount: 150_00, Fee: 90}); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 350_00, 9650_00)
		p, _, _ := credit.PlanOf(ctx, d, "a1")
		// fee 27.00; the refund returns 27.00 × 150/600 = 6.75 of it:
		// 22.50 left unpaid over five installments, 4.50 each.
		if p.FeeReturned != 6_75 {
			t.Errorf("fee returned %d, want 675", p.FeeReturned)
		}
		for _, in := range p.Schedule[1:] {
			if in.Principal != 70_00 || in.Fee != 4_50-1_35 {
				t.Errorf("installment %d = %+v, want 7000 + 315", in.Seq, in)
			}
		}
		// Refunding the rest owes back what was repaid.
		if err := refund(d, credit.Refund{RefundID: "f2", AttemptID: "a1", OrderID: "O-a1", MchID: "m1", Amount: 450_00, Fee: 270}); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 0, 10_000_00)
		if got, _ := ledger.Balance(ctx, d, credit.OverpaidAccount("c1")); got != 100_00+4_50 {
			t.Errorf("owed back %d, want 10450", got)
		}
		p, _, _ = credit.PlanOf(ctx, d, "a1")
		if p.State != credit.PlanPaid {
			t.Errorf("plan %s, want PAID", p.State)
		}
	})
}

// Random purchases (1/3/6/12, either fee payer), refunds, repayments and
// days passing over 200 consumers: after every step each line equals its
// plans' outstanding principal and the store proves.
func TestPlansProperty(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := d.Clock.(*fenfu.FakeClock)
		rng := rand.New(rand.NewPCG(13, 2026))
		const consumers = 200
		steps := 1500
		if testing.Short() {
			steps = 100
		}
		for i := range consumers {
			open(t, d, fmt.Sprintf("c%02d", i), 20_000_00)
		}
		type bought struct {
			attempt, consumer         string
			amount, refunded, planFee fenfu.Fen
		}
		var all []bought
		counts := []int{1, 3, 6, 12}
		for step := range steps {
			c := fmt.Sprintf("c%02d", rng.IntN(consumers))
			switch k := rng.IntN(10); {
			case k < 4:
				n := counts[rng.IntN(4)]
				payer := credit.ConsumerPays
				if rng.IntN(2) == 0 {
					payer = credit.MerchantPays
				}
				a := fmt.Sprintf("a%d", step)
				amount := fenfu.Fen(1 + rng.IntN(3000_00))
				p := planPayment(a, c, amount, n, payer)
				_, err := capture(d, p)
				if err == nil {
					all = append(all, bought{a, c, amount, 0, p.Terms.MerchantFee(amount)})
				} else if fenfu.ErrorCode(err) != fenfu.NotEnough {
					t.Fatal(err)
				}
			case k < 6 && len(all) > 0:
				b := &all[rng.IntN(len(all))]
				if left := b.amount - b.refunded; left > 0 {
					amt := fenfu.Fen(1 + rng.IntN(int(left)))
					// The merchant's share of its installment fee, as the
					// core store computes it.
					share := fee.RefundFee(b.planFee, b.amount, b.refunded, amt)
					if err := refund(d, credit.Refund{RefundID: fmt.Sprintf("f%d", step), AttemptID: b.attempt,
						OrderID: "O-" + b.attempt, MchID: "m1", Amount: amt, PlanFee: share}); err != nil {
						t.Fatal(err)
					}
					b.refunded += amt
					c = b.consumer
				}
			case k < 9:
				payoff := []credit.EarlyPayoff{credit.PayoffWaived, credit.PayoffCharged}[rng.IntN(2)]
				o := owed(t, d, c, payoff)
				if o.Payoff > 0 {
					amt := fenfu.Fen(1 + rng.IntN(int(o.Payoff)))
					if rng.IntN(4) == 0 {
						amt = o.Payoff
					}
					if _, err := repay(d, fmt.Sprintf("r%d", step), c, amt, payoff); err != nil {
						t.Fatalf("step %d: repay %d of %+v: %v", step, amt, o, err)
					}
				}
			default:
				clock.Advance(time.Duration(1+rng.IntN(20)) * 24 * time.Hour)
			}
			l, err := credit.Get(ctx, d, c)
			if err != nil {
				t.Fatal(err)
			}
			plans, err := credit.Plans(ctx, d, c)
			if err != nil {
				t.Fatal(err)
			}
			var outstanding fenfu.Fen
			for _, p := range plans {
				for _, in := range p.Schedule {
					outstanding += in.Principal - in.PaidPrincipal
				}
			}
			if outstanding != l.Used {
				t.Fatalf("step %d: %s used %d, plans outstanding %d", step, c, l.Used, outstanding)
			}
			if got, err := ledger.Balance(ctx, d, credit.Account(c)); err != nil || got != l.Used {
				t.Fatalf("step %d: %s used %d, receivable %d (%v)", step, c, l.Used, got, err)
			}
			if step%100 == 0 {
				if err := credit.Verify(ctx, d); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
			}
		}
		if err := credit.Verify(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}

// Recovery's fence stops a repayment that has not been applied, and loses
// to one that has.
func TestVoidRepayment(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 1000_00)
		if _, err := capture(d, payment("a1", "c1", 100_00)); err != nil {
			t.Fatal(err)
		}
		var r credit.Repaid
		if err := d.Update(ctx, func(tx *db.Tx) (err error) {
			r, err = credit.VoidRepayment(ctx, tx, "R1", "c1", credit.SourceBalance)
			return err
		}); err != nil || r.State != credit.RepaymentVoid {
			t.Fatal(r, err)
		}
		err := d.Update(ctx, func(tx *db.Tx) error {
			_, err := credit.Repay(ctx, tx, credit.Repayment{ID: "R1", ConsumerID: "c1", Source: credit.SourceBalance, Key: "R1",
				Amount: 50_00, Payoff: credit.PayoffWaived})
			return err
		})
		if !errors.Is(err, credit.ErrRepaymentVoided) {
			t.Errorf("repaying a voided repayment: %v", err)
		}
		if _, err := repay(d, "R2", "c1", 50_00, credit.PayoffWaived); err != nil {
			t.Fatal(err)
		}
		if err := d.Update(ctx, func(tx *db.Tx) (err error) {
			r, err = credit.VoidRepayment(ctx, tx, "R2", "c1", "partner:bank")
			return err
		}); err != nil || r.State != credit.RepaymentApplied || r.Principal != 50_00 {
			t.Fatal(r, err)
		}
		line(t, d, "c1", 50_00, 950_00)
	})
}

// Payments captured before plans existed get a pay-in-full plan for what
// is left of them, and the store proves again.
func TestBackfillPlans(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 1000_00)
		for _, a := range []string{"a1", "a2"} {
			if _, err := capture(d, payment(a, "c1", 100_00)); err != nil {
				t.Fatal(err)
			}
		}
		if err := refund(d, credit.Refund{RefundID: "f1", AttemptID: "a2", OrderID: "O-a2", MchID: "m1", Amount: 100_00}); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{`DELETE FROM credit_plan_changes`, `DELETE FROM credit_installments`, `DELETE FROM credit_plans`} {
			if _, err := d.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := credit.Verify(ctx, d); err == nil {
			t.Fatal("verify passed with payments on no plan")
		}
		if _, err := d.Exec(ctx, `DELETE FROM credit_backfills`); err != nil { // as before the migration's first start
			t.Fatal(err)
		}
		if n, err := credit.BackfillPlans(ctx, d, credit.DefaultCalendar); err != nil || n != 2 {
			t.Fatalf("backfill = %d, %v", n, err)
		}
		if n, err := credit.BackfillPlans(ctx, d, credit.DefaultCalendar); err != nil || n != 0 {
			t.Fatalf("backfill again = %d, %v", n, err)
		}
		line(t, d, "c1", 100_00, 900_00)
		if _, err := repay(d, "r1", "c1", 100_00, credit.PayoffWaived); err != nil {
			t.Fatal(err)
		}
		line(t, d, "c1", 0, 1000_00)
	})
}

// Repayments, refunds and purchases of one consumer at once: each is
// applied whole, one after another, and the store proves.
func TestConcurrentRepaymentsAndRefunds(t *testing.T) {
	store(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		open(t, d, "c1", 100_000_00)
		for i := range 8 {
			if _, err := capture(d, planPayment(fmt.Sprintf("a%d", i), "c1", 1200_00, 12, credit.ConsumerPays)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 24)
		for i := range 8 {
			wg.Add(3)
			go func() {
				defer wg.Done()
				_, err := repay(d, fmt.Sprintf("r%d", i), "c1", 50_00, credit.PayoffCharged)
				errs <- err
			}()
			go func() {
				defer wg.Done()
				errs <- refund(d, credit.Refund{RefundID: fmt.Sprintf("f%d", i), AttemptID: fmt.Sprintf("a%d", i),
					OrderID: fmt.Sprintf("O-a%d", i), MchID: "m1", Amount: 100_00})
			}()
			go func() {
				defer wg.Done()
				_, err := capture(d, planPayment(fmt.Sprintf("b%d", i), "c1", 300_00, 3, credit.MerchantPays))
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		l, err := credit.Get(ctx, d, "c1")
		if err != nil {
			t.Fatal(err)
		}
		// 8 × 1200.00 + 8 × 300.00 − 8 × 100.00 refunded − what the eight
		// repayments of 50.00 paid of principal.
		rs, err := credit.Repayments(ctx, d, "c1", 100)
		if err != nil || len(rs) != 8 {
			t.Fatalf("repayments %+v, %v", rs, err)
		}
		var principal, paidFee fenfu.Fen
		for _, r := range rs {
			principal += r.Principal
			paidFee += r.Fee
		}
		// The unpaid fee: 7.5 % of the eight 1200.00 purchases less what
		// the refunds returned of it (fee.RefundFee, each the first refund
		// of its plan) and what the repayments paid.
		unpaidFee := 8 * (fee.Apply(1200_00, 75_000) - fee.RefundFee(fee.Apply(1200_00, 75_000), 1200_00, 0, 100_00))
		unpaidFee -= paidFee
		o := owed(t, d, "c1", credit.PayoffCharged)
		if principal <= 0 || l.Used != 8*1200_00+8*300_00-8*100_00-principal || o.Payoff != l.Used+unpaidFee {
			t.Errorf("used %d, payoff %d; repayments paid %d of principal and %d of fee", l.Used, o.Payoff, principal, paidFee)
		}
		line(t, d, "c1", l.Used, l.Limit-l.Used)
	})
}
