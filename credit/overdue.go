package credit

// Overdue installments. The day after its due day an unpaid installment
// is OVERDUE, and every day it stays so it is charged a late fee on its
// unpaid principal, added to its fee (so repayments pay it like any fee,
// oldest first) and posted against the late-fee income. Each installment
// and day is charged by inserting its row in credit_late_fees: whichever
// run inserts it charges it, so two nodes running the job, or one running
// it twice, charge a day once, and a run after missed days charges each.

import (
	"context"
	"fmt"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
)

// DefaultLateFee is the late fee per overdue day, of the overdue
// principal: 0.05 %.
const DefaultLateFee fee.PPM = 500

// LateFeeAccount is the platform's income from late fees.
var LateFeeAccount = ledger.AccountOf(ledger.PlatformFee, "late")

// lateFeeEntries are the postings of a day's late fee: the consumer owes
// it, the platform earns it.
func lateFeeEntries(consumerID string, f fenfu.Fen) []ledger.Entry {
	return []ledger.Entry{ledger.Debit(FeeDueAccount(consumerID), f), ledger.Credit(LateFeeAccount, f)}
}

func lateFeeRef(planID string, seq int, day string) string {
	return fmt.Sprintf("%s:%d:%s", planID, seq, day)
}

// Today is the Asia/Shanghai day of t, as plan dates are written.
func Today(t time.Time) string { return t.In(fenfu.Shanghai).Format(DateLayout) }

// OverdueRun is what one run of the overdue job did.
type OverdueRun struct {
	Day string `json:"day"`
	// Marked counts installments moved to OVERDUE, Charged the
	// installment-days charged, LateFees what they were charged.
	Marked   int       `json:"marked"`
	Charged  int       `json:"charged"`
	LateFees fenfu.Fen `json:"late_fees"`
}

// MarkOverdue runs the overdue job as of day (YYYY-MM-DD, Asia/Shanghai):
// every unpaid installment due before day is moved to OVERDUE and charged
// rate of its unpaid principal for every day after its due day up to and
// including day that was not charged yet. Each installment is done in a
// transaction of its own, after its consumer's line lock.
func MarkOverdue(ctx context.Context, d *db.DB, day string, rate fee.PPM) (OverdueRun, error) {
	run := OverdueRun{Day: day}
	if _, err := time.ParseInLocation(DateLayout, day, fenfu.Shanghai); err != nil {
		return run, fenfu.FieldError("date", "the date must be YYYY-MM-DD, not %q", day)
	}
	if rate < 0 || rate > 1_000_000 {
		return run, fmt.Errorf("credit: late fee rate %d out of range", rate)
	}
	type key struct {
		plan     string
		seq      int
		consumer string
	}
	// An installment already charged for day has nothing left to do: a
	// second run of the day reads, and locks, nothing.
	todo, err := db.All(ctx, d, func(r db.Scanner) (k key, err error) {
		err = r.Scan(&k.plan, &k.seq, &k.consumer)
		return k, err
	}, `SELECT i.plan_id, i.seq, i.consumer_id FROM credit_installments i
		WHERE i.state IN `+unpaid+` AND i.due_on < $1 AND NOT EXISTS (SELECT 1 FROM credit_late_fees f
		WHERE f.plan_id = i.plan_id AND f.seq = i.seq AND f.day = $1) ORDER BY i.consumer_id, i.due_on, i.plan_id, i.seq`, day)
	if err != nil {
		return run, fmt.Errorf("credit: overdue: %w", err)
	}
	for _, k := range todo {
		err := d.Update(ctx, func(tx *db.Tx) error {
			r, err := chargeOverdue(ctx, tx, k.consumer, k.plan, k.seq, day, rate)
			if err == nil {
				run.Marked += r.Marked
				run.Charged += r.Charged
				run.LateFees += r.LateFees
			}
			return err
		})
		if err != nil {
			return run, fmt.Errorf("credit: overdue %s/%d: %w", k.plan, k.seq, err)
		}
	}
	return run, nil
}

// chargeOverdue marks one installment overdue and charges its late fees up
// to day, in the caller's transaction.
func chargeOverdue(ctx context.Context, tx *db.Tx, consumerID, planID string, seq int, day string, rate fee.PPM) (OverdueRun, error) {
	var r OverdueRun
	// The line first, then the plan, as repayments and refunds take them.
	if _, _, err := Lock(ctx, tx, consumerID); err != nil {
		return r, err
	}
	ins, err := installmentsOf(ctx, tx, `plan_id = $1 AND seq = $2 AND state IN `+unpaid+` AND due_on < $3`, planID, seq, day)
	if err != nil || len(ins) == 0 {
		return r, err
	}
	old := ins[0]
	if old.State == string(InstallmentDue) {
		q, a, err := installmentMachine.SQL(db.Move[InstallmentState]{From: []InstallmentState{InstallmentDue}, To: InstallmentOverdue,
			Where: "plan_id = $1 AND seq = $2", Args: []any{planID, seq}})
		if err != nil {
			return r, err
		}
		if _, err := tx.ExecContext(ctx, q, a...); err != nil {
			return r, err
		}
		r.Marked++
	}
	due, err := time.ParseInLocation(DateLayout, old.DueOn, fenfu.Shanghai)
	if err != nil {
		return r, err
	}
	from := due.AddDate(0, 0, 1)
	var last string
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(day), '') FROM credit_late_fees WHERE plan_id = $1 AND seq = $2`,
		planID, seq).Scan(&last); err != nil {
		return r, err
	}
	if last != "" {
		l, err := time.ParseInLocation(DateLayout, last, fenfu.Shanghai)
		if err != nil {
			return r, err
		}
		from = l.AddDate(0, 0, 1)
	}
	principal := old.Principal - old.PaidPrincipal
	perDay := fee.Apply(principal, rate)
	if perDay > 0 {
		if err := ledger.Open(ctx, tx, FeeDueAccount(consumerID)); err != nil {
			return r, err
		}
	}
	var total fenfu.Fen
	for t := from; t.Format(DateLayout) <= day; t = t.AddDate(0, 0, 1) {
		dd := t.Format(DateLayout)
		res, err := tx.ExecContext(ctx, `INSERT INTO credit_late_fees (plan_id, seq, day, consumer_id, principal, fee, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, planID, seq, dd, consumerID, principal, perDay, db.Micros(tx.Now))
		if err != nil {
			return r, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		r.Charged++
		if perDay == 0 {
			continue
		}
		if err := ledger.Post(ctx, tx, ledger.Txn{Kind: "late_fee", Ref: lateFeeRef(planID, seq, dd),
			Entries: lateFeeEntries(consumerID, perDay)}); err != nil {
			return r, err
		}
		total += perDay
	}
	if total > 0 {
		in := old
		in.Fee += total
		if err := setInstallment(ctx, tx, "late:"+day, old, in); err != nil {
			return r, err
		}
	}
	r.LateFees = total
	return r, nil
}

// Overdue is what a consumer has overdue: the outstanding amount of its
// overdue installments, the earliest due day among them and how many days
// ago that was.
type Overdue struct {
	Amount fenfu.Fen `json:"amount"`
	DueOn  string    `json:"due_on,omitempty"`
	Days   int       `json:"days"`
}

// OverdueOf returns what a consumer has overdue at now.
func OverdueOf(ctx context.Context, q rowQuerier, consumerID string, now time.Time) (Overdue, error) {
	var o Overdue
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(principal - paid_principal + fee - paid_fee), 0), COALESCE(MIN(due_on), '')
		FROM credit_installments WHERE consumer_id = $1 AND state = $2`, consumerID, string(InstallmentOverdue)).Scan(&o.Amount, &o.DueOn)
	if err != nil || o.DueOn == "" {
		return o, err
	}
	o.Days, err = overdueDays(o.DueOn, now)
	return o, err
}

// OverdueIn is OverdueOf of a consumer whose unpaid installments (as
// OwedBy reads them) are open, without reading them again.
func OverdueIn(open []Installment, now time.Time) (Overdue, error) {
	var o Overdue
	for _, in := range open {
		if in.State != string(InstallmentOverdue) {
			continue
		}
		o.Amount += in.Outstanding()
		if o.DueOn == "" || in.DueOn < o.DueOn {
			o.DueOn = in.DueOn
		}
	}
	if o.DueOn == "" {
		return o, nil
	}
	var err error
	o.Days, err = overdueDays(o.DueOn, now)
	return o, err
}

// overdueDays is how many days before now's day the due day dueOn was.
func overdueDays(dueOn string, now time.Time) (int, error) {
	due, err := time.ParseInLocation(DateLayout, dueOn, fenfu.Shanghai)
	if err != nil {
		return 0, err
	}
	return int(fenfu.DayStart(now).Sub(due).Hours()+12) / 24, nil
}

// overdueError is the refusal of a credit payment of a consumer with
// something overdue.
func overdueError(o Overdue) error {
	e := fenfu.Errorf(fenfu.RuleLimit, "credit payments are paused while a repayment is overdue: repay ¥%s due on %s", fenfu.Yuan(o.Amount), o.DueOn)
	e.Remedy = "Repay everything overdue (from balance or at a funding partner); credit payments resume at once."
	return e
}
