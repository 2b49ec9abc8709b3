package credit

// Repayment plans. They live in package credit, not one of their own,
// because every change to a plan is also a change to the credit line in
// the same transaction: a capture draws the line and creates the plan, a
// refund reduces both, and every fen of principal repaid lowers the line's
// used amount, which only this package may write.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
)

// FeePayer says who bears a plan's installment fee: WeChat Pay's
// subsidy_percent, 0 (the consumer) or 100 (the merchant).
type FeePayer string

// Fee payers.
const (
	ConsumerPays FeePayer = "consumer"
	MerchantPays FeePayer = "merchant"
)

// FeePayerOf returns the payer of a subsidy_percent: 0 or 100.
func FeePayerOf(subsidyPercent int) (FeePayer, bool) {
	switch subsidyPercent {
	case 0:
		return ConsumerPays, true
	case 100:
		return MerchantPays, true
	}
	return "", false
}

// Counts are the installment counts a payment may be split into besides
// paying in full.
var Counts = []int{3, 6, 12}

// ValidCount reports whether n is one of Counts.
func ValidCount(n int) bool { return n == 3 || n == 6 || n == 12 }

// Rates are the installment fee rates by count, of the principal.
type Rates map[int]fee.PPM

// DefaultRates are the commonly quoted consumer rates: 2.3 %, 4.5 % and
// 7.5 % for 3, 6 and 12 installments.
func DefaultRates() Rates { return Rates{3: 23_000, 6: 45_000, 12: 75_000} }

// Calendar is the statement calendar, Asia/Shanghai: each month's
// statement is made on StatementDay and is due on DueDay.
type Calendar struct {
	StatementDay, DueDay int
}

// DefaultCalendar: statements on the 1st, due on the 10th.
var DefaultCalendar = Calendar{StatementDay: 1, DueDay: 10}

// Validate checks that both days exist in every month.
func (c Calendar) Validate() error {
	if c.StatementDay < 1 || c.StatementDay > 28 || c.DueDay < 1 || c.DueDay > 28 {
		return fmt.Errorf("statement and due days must be from 1 to 28")
	}
	return nil
}

func (c Calendar) orDefault() Calendar {
	if c.StatementDay == 0 || c.DueDay == 0 {
		return DefaultCalendar
	}
	return c
}

// DateLayout is how plan dates are written: a calendar day, Asia/Shanghai.
const DateLayout = time.DateOnly

// StatementAfter returns the first statement made after t: the end of the
// statement period t falls in.
func (c Calendar) StatementAfter(t time.Time) time.Time {
	c = c.orDefault()
	l := t.In(fenfu.Shanghai)
	s := time.Date(l.Year(), l.Month(), c.StatementDay, 0, 0, 0, 0, fenfu.Shanghai)
	if !s.After(l) {
		s = s.AddDate(0, 1, 0)
	}
	return s
}

// DueOf returns the due date of the statement made on s.
func (c Calendar) DueOf(s time.Time) time.Time {
	c = c.orDefault()
	d := time.Date(s.Year(), s.Month(), c.DueDay, 0, 0, 0, 0, fenfu.Shanghai)
	if d.Before(s) {
		d = d.AddDate(0, 1, 0)
	}
	return d
}

// Statements returns the months (YYYY-MM) of the statements made from the
// first one after since up to now, newest first, at most most of them.
func (c Calendar) Statements(since, now time.Time, most int) []string {
	var out []string
	for s := c.StatementAfter(now).AddDate(0, -1, 0); !s.Before(c.StatementAfter(since)) && len(out) < most; s = s.AddDate(0, -1, 0) {
		out = append(out, s.Format("2006-01"))
	}
	return out
}

// NextDue returns the first due day on or after t's day: what is due by
// then is due now, what is due later is paid early.
func (c Calendar) NextDue(t time.Time) string {
	c = c.orDefault()
	l := t.In(fenfu.Shanghai)
	d := time.Date(l.Year(), l.Month(), c.DueDay, 0, 0, 0, 0, fenfu.Shanghai)
	if d.Before(fenfu.DayStart(t)) {
		d = d.AddDate(0, 1, 0)
	}
	return d.Format(DateLayout)
}

// Terms are how a credit payment is repaid.
type Terms struct {
	// Installments is 1 (pay in full, the default) or one of Counts.
	Installments int
	// FeePayer bears the installment fee of more than one installment.
	FeePayer FeePayer
	// Rate is the installment fee rate, of the principal.
	Rate     fee.PPM
	Calendar Calendar
}

// Fee is the installment fee of a payment of amount on these terms: none
// in full.
func (t Terms) Fee(amount fenfu.Fen) fenfu.Fen {
	if t.Installments <= 1 {
		return 0
	}
	return fee.Apply(amount, t.Rate)
}

// MerchantFee is the part of Fee the merchant bears: none unless it
// offered the terms interest-free.
func (t Terms) MerchantFee(amount fenfu.Fen) fenfu.Fen {
	if t.FeePayer != MerchantPays {
		return 0
	}
	return t.Fee(amount)
}

// ConsumerFee is the part of Fee the consumer owes: all of it unless the
// merchant bears it.
func (t Terms) ConsumerFee(amount fenfu.Fen) fenfu.Fen {
	if t.FeePayer == MerchantPays {
		return 0
	}
	return t.Fee(amount)
}

// Split divides total into n parts that differ by at most a fen, the
// remainder in the first: 100 in 3 is 34, 33, 33.
func Split(total fenfu.Fen, n int) []fenfu.Fen {
	parts := make([]fenfu.Fen, n)
	if n <= 0 {
		return parts
	}
	base := total / fenfu.Fen(n)
	for i := range parts {
		parts[i] = base
	}
	parts[0] = total - base*fenfu.Fen(n-1)
	return parts
}

// Installment is one due amount of a plan.
type Installment struct {
	PlanID        string    `json:"plan_id"`
	Seq           int       `json:"seq"`
	DueOn         string    `json:"due_on"`
	State         string    `json:"state"`
	Principal     fenfu.Fen `json:"principal"`
	Fee           fenfu.Fen `json:"fee"`
	PaidPrincipal fenfu.Fen `json:"paid_principal"`
	PaidFee       fenfu.Fen `json:"paid_fee"`
}

// Outstanding is what is left to pay of the installment.
func (i Installment) Outstanding() fenfu.Fen {
	return i.Principal - i.PaidPrincipal + i.Fee - i.PaidFee
}

// Schedule returns the installments of a plan of principal with a
// consumer-borne fee of consumerFee, for a payment at t.
func (t Terms) Schedule(principal, consumerFee fenfu.Fen, at time.Time) []Installment {
	n := max(t.Installments, 1)
	cal := t.Calendar.orDefault()
	first := cal.StatementAfter(at)
	ps, fs := Split(principal, n), Split(consumerFee, n)
	out := make([]Installment, n)
	for k := range out {
		out[k] = Installment{Seq: k + 1, DueOn: cal.DueOf(first.AddDate(0, k, 0)).Format(DateLayout),
			State: string(InstallmentDue), Principal: ps[k], Fee: fs[k]}
	}
	return out
}

// PlanState is a plan's state.
type PlanState string

// Plan states.
const (
	PlanOpen PlanState = "OPEN" // something is left to pay
	PlanPaid PlanState = "PAID" // repaid or refunded in full
)

var planMachine = db.Machine[PlanState]{Table: "credit_plans", Column: "state",
	Allowed: map[PlanState][]PlanState{PlanOpen: {PlanPaid}}}

// InstallmentState is an installment's state.
type InstallmentState string

// Installment states.
const (
	InstallmentDue     InstallmentState = "DUE"
	InstallmentOverdue InstallmentState = "OVERDUE" // unpaid after its due day; late fees accrue
	InstallmentPaid    InstallmentState = "PAID"
)

// unpaid are the states of an installment something is left to pay of,
// as a SQL list.
const unpaid = `('DUE', 'OVERDUE')`

var installmentMachine = db.Machine[InstallmentState]{Table: "credit_installments", Column: "state",
	Allowed: map[InstallmentState][]InstallmentState{InstallmentDue: {InstallmentPaid, InstallmentOverdue},
		InstallmentOverdue: {InstallmentPaid}}}

// InstallmentFeeAccount is the platform's income from installment fees.
var InstallmentFeeAccount = ledger.AccountOf(ledger.PlatformFee, "installment")

// FeeDueAccount is the installment fee a consumer owes.
func FeeDueAccount(consumerID string) ledger.Account {
	return ledger.AccountOf(ledger.ConsumerFeeDue, consumerID)
}

// OverpaidAccount is what the platform owes a consumer back from refunds
// of purchases it had already repaid.
func OverpaidAccount(consumerID string) ledger.Account {
	return ledger.AccountOf(ledger.ConsumerOverpaid, consumerID)
}

// installmentFeeEntries are the postings of a plan's fee: the consumer
// owes it, or the merchant's pending settlement pays it.
func installmentFeeEntries(payer FeePayer, consumerID, mchid string, f fenfu.Fen) []ledger.Entry {
	from := FeeDueAccount(consumerID)
	if payer == MerchantPays {
		from = ledger.AccountOf(ledger.MerchantPending, mchid)
	}
	return []ledger.Entry{ledger.Debit(from, f), ledger.Credit(InstallmentFeeAccount, f)}
}

// createPlan writes a captured payment's plan and posts its installment
// fee, in the capture's transaction.
func createPlan(ctx context.Context, tx *db.Tx, p Payment) error {
	t := p.Terms
	if t.Installments <= 1 {
		t.Installments, t.Rate, t.FeePayer = 1, 0, ""
	} else if !ValidCount(t.Installments) {
		return fenfu.FieldError("installment_number", "installments must be 3, 6 or 12, not %d", t.Installments)
	} else if t.FeePayer != ConsumerPays && t.FeePayer != MerchantPays {
		return fmt.Errorf("credit: plan of %s: fee payer %q", p.AttemptID, t.FeePayer)
	}
	planFee, consumerFee := t.Fee(p.Amount), t.ConsumerFee(p.Amount)
	now := db.Micros(tx.Now)
	const insertPlan = `INSERT INTO credit_plans (plan_id, order_id, consumer_id, mchid, state, installments, principal,
		fee, fee_payer, fee_rate, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`
	planArgs := []any{p.AttemptID, p.OrderID, p.ConsumerID, p.MchID, string(PlanOpen), t.Installments, p.Amount, planFee, string(t.FeePayer),
		int64(t.Rate), now}
	var q strings.Builder
	args := make([]any, 0, len(planArgs)+7*12)
	if tx.Engine == db.Postgres {
		// The plan and its installments in one statement: one round trip.
		q.WriteString(`WITH plan AS (` + insertPlan + `) `)
		args = append(args, planArgs...)
	} else if _, err := tx.ExecContext(ctx, insertPlan, planArgs...); err != nil {
		return fmt.Errorf("credit: plan of %s: %w", p.AttemptID, err)
	}
	sched := t.Schedule(p.Amount, consumerFee, tx.Now)
	q.WriteString(`INSERT INTO credit_installments (plan_id, seq, consumer_id, due_on, state, original_principal, original_fee,
		principal, fee) VALUES `)
	for i, in := range sched {
		if i > 0 {
			q.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+6, n+7)
		args = append(args, p.AttemptID, in.Seq, p.ConsumerID, in.DueOn, in.State, in.Principal, in.Fee)
	}
	// Nothing reads what it wrote: it goes with the transaction's next
	// statement or its commit (db.Tx.Later).
	if err := tx.Later(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("credit: plan of %s: %w", p.AttemptID, err)
	}
	ft, _, ok := planFeeTxn(p)
	if !ok {
		return nil
	}
	if t.FeePayer == ConsumerPays {
		if err := ledger.Open(ctx, tx, FeeDueAccount(p.ConsumerID)); err != nil {
			return err
		}
	}
	return ledger.Post(ctx, tx, ft)
}

// planFeeTxn is the ledger transaction of the installment fee of payment
// p's plan, and who pays it; ok is false if the plan has no fee (or is
// not one createPlan makes).
func planFeeTxn(p Payment) (_ ledger.Txn, payer FeePayer, ok bool) {
	t := p.Terms
	if t.Installments <= 1 || !ValidCount(t.Installments) || t.FeePayer != ConsumerPays && t.FeePayer != MerchantPays {
		return ledger.Txn{}, "", false
	}
	planFee := t.Fee(p.Amount)
	if planFee == 0 {
		return ledger.Txn{}, "", false
	}
	return ledger.Txn{Kind: "installment_fee", Ref: p.OrderID,
		Entries: installmentFeeEntries(t.FeePayer, p.ConsumerID, p.MchID, planFee)}, t.FeePayer, true
}

// Plan is a payment's repayment plan.
type Plan struct {
	PlanID       string        `json:"plan_id"`
	OrderID      string        `json:"order_id"`
	ConsumerID   string        `json:"consumer_id"`
	MchID        string        `json:"mchid"`
	State        PlanState     `json:"state"`
	Installments int           `json:"installments"`
	Principal    fenfu.Fen     `json:"principal"`
	Fee          fenfu.Fen     `json:"fee"`
	FeePayer     FeePayer      `json:"fee_payer,omitempty"`
	Refunded     fenfu.Fen     `json:"refunded"`
	FeeReturned  fenfu.Fen     `json:"fee_returned"`
	CreatedAt    time.Time     `json:"created_at"`
	Schedule     []Installment `json:"schedule"`
}

const planCols = `plan_id, order_id, consumer_id, mchid, state, installments, principal, fee, fee_payer, refunded, fee_returned, created_at`

func scanPlan(r db.Scanner) (Plan, error) {
	var p Plan
	var at int64
	err := r.Scan(&p.PlanID, &p.OrderID, &p.ConsumerID, &p.MchID, &p.State, &p.Installments, &p.Principal, &p.Fee, &p.FeePayer,
		&p.Refunded, &p.FeeReturned, &at)
	p.CreatedAt = db.Time(at)
	return p, err
}

// installmentsOf reads installments in due order.
func installmentsOf(ctx context.Context, q db.Querier, where string, args ...any) ([]Installment, error) {
	return db.All(ctx, q, func(r db.Scanner) (in Installment, err error) {
		err = r.Scan(&in.PlanID, &in.Seq, &in.DueOn, &in.State, &in.Principal, &in.Fee, &in.PaidPrincipal, &in.PaidFee)
		return in, err
	}, `SELECT plan_id, seq, due_on, state, principal, fee, paid_principal, paid_fee
		FROM credit_installments WHERE `+where+` ORDER BY due_on, plan_id, seq`, args...)
}

// Plans returns a consumer's plans, newest first, with their schedules.
func Plans(ctx context.Context, d *db.DB, consumerID string) ([]Plan, error) {
	out, err := db.All(ctx, d, scanPlan, `SELECT `+planCols+` FROM credit_plans WHERE consumer_id = $1 ORDER BY created_at DESC, plan_id`, consumerID)
	if err != nil {
		return nil, fmt.Errorf("credit: plans: %w", err)
	}
	ins, err := installmentsOf(ctx, d, `consumer_id = $1`, consumerID)
	if err != nil {
		return nil, fmt.Errorf("credit: plans: %w", err)
	}
	at := map[string]int{}
	for i, p := range out {
		at[p.PlanID] = i
	}
	for _, in := range ins {
		if i, ok := at[in.PlanID]; ok {
			out[i].Schedule = append(out[i].Schedule, in)
		}
	}
	return out, nil
}

// PlanOf returns the plan of a payment attempt; ok is false if it has none.
func PlanOf(ctx context.Context, d *db.DB, attemptID string) (p Plan, ok bool, err error) {
	p, err = scanPlan(d.QueryRowContext(ctx, `SELECT `+planCols+` FROM credit_plans WHERE plan_id = $1`, attemptID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("credit: plan %s: %w", attemptID, err)
	}
	p.Schedule, err = installmentsOf(ctx, d, `plan_id = $1`, attemptID)
	if err != nil {
		return p, false, fmt.Errorf("credit: plan %s: %w", attemptID, err)
	}
	return p, true, nil
}

// setInstallment writes an installment's new amounts, recording the
// change of its amounts under ref, and moves it to PAID once nothing is
// left of it.
func setInstallment(ctx context.Context, tx *db.Tx, ref string, old, in Installment) error {
	if dp, df := in.Principal-old.Principal, in.Fee-old.Fee; dp != 0 || df != 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO credit_plan_changes (ref, plan_id, seq, principal, fee, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, ref, in.PlanID, in.Seq, dp, df, db.Micros(tx.Now)); err != nil {
			return err
		}
	}
	set := `principal = $1, fee = $2, paid_principal = $3, paid_fee = $4`
	args := []any{in.Principal, in.Fee, in.PaidPrincipal, in.PaidFee, in.PlanID, in.Seq}
	if in.Outstanding() == 0 {
		q, a, err := installmentMachine.SQL(db.Move[InstallmentState]{From: []InstallmentState{InstallmentDue, InstallmentOverdue}, To: InstallmentPaid,
			Set: ", " + set, Where: "plan_id = $5 AND seq = $6", Args: args})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, q, a...)
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE credit_installments SET `+set+` WHERE plan_id = $5 AND seq = $6`, args...)
	return err
}

// closePlanIfDone moves a plan to PAID once none of its installments is
// due.
func closePlanIfDone(ctx context.Context, tx *db.Tx, planID string) error {
	q, a, err := planMachine.SQL(db.Move[PlanState]{From: []PlanState{PlanOpen}, To: PlanPaid, Set: ", updated_at = $1",
		Where: "plan_id = $2 AND NOT EXISTS (SELECT 1 FROM credit_installments i WHERE i.plan_id = $2 AND i.state IN " + unpaid + ")",
		Args:  []any{db.Micros(tx.Now), planID}})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, q, a...)
	return err
}

// planRefund is what a refund did to its plan.
type planRefund struct {
	Principal    fenfu.Fen // taken off the unpaid principal
	Overpaid     fenfu.Fen // principal the consumer had already repaid: owed back
	Fee          fenfu.Fen // the plan fee's share returned
	FeeOverpaid  fenfu.Fen // of a consumer-borne Fee, what the consumer had already paid
	FeePayer     FeePayer
	ConsumerID   string
	MchID        string
	HasPlan      bool
	Installments int
}

// refundPlan takes a refund of amount off its payment's plan: the unpaid
// principal goes down by the amount (what the consumer had already repaid
// of it is owed back), the fee by the same proportional share as the
// merchant fee, and the unpaid installments are recomputed, split evenly
// with the remainder in the first.
func refundPlan(ctx context.Context, tx *db.Tx, attemptID, refundID string, amount, merchantShare fenfu.Fen) (planRefund, error) {
	var r planRefund
	var principal, planFee, refunded fenfu.Fen
	err := tx.QueryRowContext(ctx, `UPDATE credit_plans SET updated_at = $1 WHERE plan_id = $2
		RETURNING consumer_id, mchid, fee_payer, principal, fee, refunded, installments`, db.Micros(tx.Now), attemptID).
		Scan(&r.ConsumerID, &r.MchID, &r.FeePayer, &principal, &planFee, &refunded, &r.Installments)
	if errors.Is(err, sql.ErrNoRows) {
		r.Principal = amount
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.HasPlan = true
	open, err := installmentsOf(ctx, tx, `plan_id = $1 AND state IN `+unpaid, attemptID)
	if err != nil {
		return r, err
	}
	var outP, outF fenfu.Fen
	for _, in := range open {
		outP += in.Principal - in.PaidPrincipal
		outF += in.Fee - in.PaidFee
	}
	r.Principal = min(amount, outP)
	r.Overpaid = amount - r.Principal
	r.Fee = fee.RefundFee(planFee, principal, refunded, amount)
	if r.FeePayer == MerchantPays {
		// The share the core store computed where the order's refunds
		// are serialised, and took off the merchant's settlement.
		r.Fee = merchantShare
		if merchantShare < 0 || merchantShare > planFee {
			return r, fmt.Errorf("installment fee share %d out of range (fee %d)", merchantShare, planFee)
		}
	}
	feeOff := fenfu.Fen(0)
	if r.FeePayer == ConsumerPays {
		feeOff = min(r.Fee, outF)
		r.FeeOverpaid = r.Fee - feeOff
	}
	ps, fs := Split(outP-r.Principal, len(open)), Split(outF-feeOff, len(open))
	for i, old := range open {
		in := old
		in.Principal, in.Fee = old.PaidPrincipal+ps[i], old.PaidFee+fs[i]
		if err := setInstallment(ctx, tx, "refund:"+refundID, old, in); err != nil {
			return r, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE credit_plans SET refunded = refunded + $1, fee_returned = fee_returned + $2 WHERE plan_id = $3`,
		amount, r.Fee, attemptID); err != nil {
		return r, err
	}
	return r, closePlanIfDone(ctx, tx, attemptID)
}

// planRefundEntries are the postings of a refund's share of a plan fee:
// the platform gives it back, to the consumer's fee due (and what the
// consumer had paid of it, to what it is owed) or to the merchant.
func planRefundEntries(r planRefund) []ledger.Entry {
	es := []ledger.Entry{ledger.Debit(InstallmentFeeAccount, r.Fee)}
	if r.FeePayer == MerchantPays {
		return append(es, ledger.Credit(ledger.AccountOf(ledger.MerchantPending, r.MchID), r.Fee))
	}
	if off := r.Fee - r.FeeOverpaid; off > 0 {
		es = append(es, ledger.Credit(FeeDueAccount(r.ConsumerID), off))
	}
	if r.FeeOverpaid > 0 {
		es = append(es, ledger.Credit(OverpaidAccount(r.ConsumerID), r.FeeOverpaid))
	}
	return es
}

// refundEntries are a refund's postings: ledger.RefundEntries, with the
// part the consumer had already repaid owed back to it instead of taken
// off its receivable.
func refundEntries(consumerID, mchid string, amount, overpaid, feeBack fenfu.Fen) []ledger.Entry {
	es := ledger.RefundEntries(Account(consumerID), mchid, amount, feeBack, FeeAccount)
	if overpaid == 0 {
		return es
	}
	es = es[1:]
	if off := amount - overpaid; off > 0 {
		es = append(es, ledger.Credit(Account(consumerID), off))
	}
	return append(es, ledger.Credit(OverpaidAccount(consumerID), overpaid))
}

// BackfillPlans gives every captured payment made before plans existed a
// pay-in-full plan for what is left of it, due on the due day of the
// statement after it, so every fen a line has used is on a plan. It
// returns how many plans it made; once it has run to the end, running it
// again reads one row and makes none.
func BackfillPlans(ctx context.Context, d *db.DB, cal Calendar) (int, error) {
	var done int
	if err := d.QueryRowContext(ctx, `SELECT COUNT(*) FROM credit_backfills WHERE name = 'plans'`).Scan(&done); err != nil || done > 0 {
		return 0, err
	}
	n := 0
	for {
		made := 0
		err := d.Update(ctx, func(tx *db.Tx) error {
			made = 0
			type old struct {
				p        Payment
				refunded fenfu.Fen
				at       int64
			}
			list, err := db.All(ctx, tx, func(r db.Scanner) (o old, err error) {
				err = r.Scan(&o.p.AttemptID, &o.p.OrderID, &o.p.MchID, &o.p.ConsumerID, &o.p.Amount, &o.refunded, &o.at)
				return o, err
			}, `SELECT attempt_id, order_id, mchid, consumer_id, amount, refunded, created_at
				FROM credit_payments p WHERE state = $1 AND NOT EXISTS (SELECT 1 FROM credit_plans c WHERE c.plan_id = p.attempt_id)
				ORDER BY attempt_id LIMIT 500`, string(Captured))
			if err != nil {
				return err
			}
			for _, o := range list {
				left := o.p.Amount - o.refunded
				state, istate := PlanOpen, InstallmentDue
				if left == 0 {
					state, istate = PlanPaid, InstallmentPaid
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO credit_plans (plan_id, order_id, consumer_id, mchid, state, installments,
					principal, fee, fee_payer, fee_rate, refunded, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, 0, '', 0, $7, $8, $9)`,
					o.p.AttemptID, o.p.OrderID, o.p.ConsumerID, o.p.MchID, string(state), o.p.Amount, o.refunded, o.at, db.Micros(tx.Now)); err != nil {
					return err
				}
				due := cal.DueOf(cal.StatementAfter(db.Time(o.at))).Format(DateLayout)
				if _, err := tx.ExecContext(ctx, `INSERT INTO credit_installments (plan_id, seq, consumer_id, due_on, state, original_principal,
					original_fee, principal, fee) VALUES ($1, 1, $2, $3, $4, $5, 0, $5, 0)`,
					o.p.AttemptID, o.p.ConsumerID, due, string(istate), left); err != nil {
					return err
				}
			}
			made = len(list)
			return nil
		})
		n += made
		if err != nil {
			return n, err
		}
		if made == 0 {
			_, err := d.Exec(ctx, `INSERT INTO credit_backfills (name, done_at) VALUES ('plans', $1) ON CONFLICT DO NOTHING`,
				db.Micros(d.Clock.Now()))
			return n, err
		}
	}
}
