package credit

import (
	"context"
	"fmt"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Statement is a consumer's monthly statement: what happened on its line
// in the statement period, and what is due on the statement's due day.
// It is built only from what was recorded before the statement date, all
// of it never changed afterwards, so the statement of a past month is the
// same whenever it is asked for.
type Statement struct {
	ConsumerID    string          `json:"consumer_id"`
	Month         string          `json:"month"`          // YYYY-MM of the statement date
	PeriodStart   string          `json:"period_start"`   // inclusive, Asia/Shanghai
	StatementDate string          `json:"statement_date"` // the period's end, exclusive
	DueDate       string          `json:"due_date"`
	Purchases     []StatementLine `json:"purchases"`
	Refunds       []StatementLine `json:"refunds"`
	Repayments    []StatementLine `json:"repayments"`
	Due           []Installment   `json:"installments_due"`
	TotalDue      fenfu.Fen       `json:"total_due"`
}

// StatementLine is one purchase, refund or repayment of a statement.
type StatementLine struct {
	ID           string    `json:"id"`
	OrderID      string    `json:"order_id,omitempty"`
	MchID        string    `json:"mchid,omitempty"`
	At           string    `json:"at"`
	Amount       fenfu.Fen `json:"amount"`
	Installments int       `json:"installments,omitempty"`
	Fee          fenfu.Fen `json:"fee,omitempty"` // a purchase's fee the consumer owes; a repayment's fee paid
	Principal    fenfu.Fen `json:"principal,omitempty"`
	Waived       fenfu.Fen `json:"waived,omitempty"`
	Source       string    `json:"source,omitempty"`
	// ToBalance is, on a refund, what it gave back to the consumer's
	// balance: the part of the purchase (and of its fee) already repaid.
	ToBalance fenfu.Fen `json:"to_balance,omitempty"`
}

// StatementOf returns a consumer's statement of month (YYYY-MM), whose
// statement date must have come.
func StatementOf(ctx context.Context, d *db.DB, consumerID, month string, cal Calendar) (Statement, error) {
	cal = cal.orDefault()
	m, err := time.ParseInLocation("2006-01", month, fenfu.Shanghai)
	if err != nil {
		return Statement{}, fenfu.FieldError("month", "month must be YYYY-MM, not %q", month)
	}
	end := time.Date(m.Year(), m.Month(), cal.StatementDay, 0, 0, 0, 0, fenfu.Shanghai)
	if end.After(d.Clock.Now()) {
		e := fenfu.Errorf(fenfu.ResourceNotExists, "the statement of %s is made on %s", month, end.Format(DateLayout))
		e.Remedy = "Ask for a month whose statement date has passed."
		return Statement{}, e
	}
	start := end.AddDate(0, -1, 0)
	s := Statement{ConsumerID: consumerID, Month: month, PeriodStart: start.Format(DateLayout), StatementDate: end.Format(DateLayout),
		DueDate: cal.DueOf(end).Format(DateLayout), Purchases: []StatementLine{}, Refunds: []StatementLine{},
		Repayments: []StatementLine{}, Due: []Installment{}}
	from, to := db.Micros(start), db.Micros(end)
	at := func(us int64) string { return db.Time(us).In(fenfu.Shanghai).Format(time.DateTime) }
	s.Purchases, err = db.All(ctx, d, func(r db.Scanner) (StatementLine, error) {
		var l StatementLine
		var us int64
		err := r.Scan(&l.ID, &l.OrderID, &l.MchID, &us, &l.Amount, &l.Installments, &l.Fee)
		l.At = at(us)
		return l, err
	}, `SELECT p.attempt_id, p.order_id, p.mchid, p.created_at, p.amount, COALESCE(c.installments, 1),
		CASE WHEN c.fee_payer = 'consumer' THEN c.fee ELSE 0 END
		FROM credit_payments p LEFT JOIN credit_plans c ON c.plan_id = p.attempt_id
		WHERE p.consumer_id = $1 AND p.state = '`+string(Captured)+`' AND p.created_at >= $2 AND p.created_at < $3 ORDER BY p.created_at, p.attempt_id`,
		consumerID, from, to)
	if err != nil {
		return s, fmt.Errorf("credit: statement: %w", err)
	}
	s.Refunds, err = db.All(ctx, d, func(r db.Scanner) (StatementLine, error) {
		var l StatementLine
		var us int64
		err := r.Scan(&l.ID, &l.OrderID, &l.MchID, &us, &l.Amount, &l.ToBalance)
		l.At = at(us)
		return l, err
	}, `SELECT r.refund_id, r.order_id, p.mchid, r.created_at, r.amount, r.overpaid + r.plan_fee_overpaid FROM credit_refunds r
		JOIN credit_payments p ON p.attempt_id = r.attempt_id
		WHERE p.consumer_id = $1 AND r.created_at >= $2 AND r.created_at < $3 ORDER BY r.created_at, r.refund_id`,
		consumerID, from, to)
	if err != nil {
		return s, fmt.Errorf("credit: statement: %w", err)
	}
	s.Repayments, err = db.All(ctx, d, func(r db.Scanner) (StatementLine, error) {
		var l StatementLine
		var us int64
		err := r.Scan(&l.ID, &us, &l.Amount, &l.Principal, &l.Fee, &l.Waived, &l.Source)
		l.At = at(us)
		return l, err
	}, `SELECT repayment_id, created_at, amount, principal, fee, waived, source FROM credit_repayments
		WHERE consumer_id = $1 AND state = $2 AND created_at >= $3 AND created_at < $4 ORDER BY created_at, repayment_id`,
		consumerID, string(RepaymentApplied), from, to)
	if err != nil {
		return s, fmt.Errorf("credit: statement: %w", err)
	}
	// Every installment due by the due date as it stood at the statement
	// date: its original amounts changed by what was recorded before,
	// less what was paid before.
	rows, err := d.QueryContext(ctx, `SELECT i.plan_id, i.seq, i.due_on,
		i.original_principal + COALESCE((SELECT SUM(c.principal) FROM credit_plan_changes c
			WHERE c.plan_id = i.plan_id AND c.seq = i.seq AND c.created_at < $3), 0),
		i.original_fee + COALESCE((SELECT SUM(c.fee) FROM credit_plan_changes c
			WHERE c.plan_id = i.plan_id AND c.seq = i.seq AND c.created_at < $3), 0),
		COALESCE((SELECT SUM(r.principal) FROM credit_repayment_parts r WHERE r.plan_id = i.plan_id AND r.seq = i.seq AND r.created_at < $3), 0),
		COALESCE((SELECT SUM(r.fee) FROM credit_repayment_parts r WHERE r.plan_id = i.plan_id AND r.seq = i.seq AND r.created_at < $3), 0)
		FROM credit_installments i JOIN credit_plans p ON p.plan_id = i.plan_id
		WHERE i.consumer_id = $1 AND i.due_on <= $2 AND p.created_at < $3 ORDER BY i.due_on, i.plan_id, i.seq`,
		consumerID, s.DueDate, to)
	if err != nil {
		return s, fmt.Errorf("credit: statement: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var in Installment
		if err := rows.Scan(&in.PlanID, &in.Seq, &in.DueOn, &in.Principal, &in.Fee, &in.PaidPrincipal, &in.PaidFee); err != nil {
			return s, fmt.Errorf("credit: statement: %w", err)
		}
		if in.Outstanding() == 0 {
			continue
		}
		in.State = string(InstallmentDue)
		s.Due = append(s.Due, in)
		s.TotalDue += in.Outstanding()
	}
	return s, rows.Err()
}
