package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
)

// Verify proves the credit store: its books (ledger.Verify), every line's
// used amount equals its receivable account and every receivable has its
// line, every captured payment and every refund has exactly its postings
// and every payment or refund posting its record, and a payment's
// refunded amount is the sum of its refunds; and the repayment plans
// (verifyPlans), and the holds of service orders (verifyHolds). The proofs stream, in
// consumer, order or refund id order, so memory does not grow with the
// store.
func Verify(ctx context.Context, d *db.DB) error {
	if err := ledger.Verify(ctx, d); err != nil {
		return err
	}
	if err := verifyLines(ctx, d); err != nil {
		return err
	}
	// Captured payments: the receivable debited the amount, the merchant
	// credited the amount less the fee, the platform the fee (if any), and
	// nothing else. A voided attempt posts nothing.
	_, err := ledger.Prove(ctx, d, ledger.Proof{Kind: "payment", Missing: "credit payment without its postings",
		Extra: "payment posting without a captured payment"}, func(yield func(ledger.Want) error) error {
		return ScanCaptured(ctx, d, func(p CapturedPayment) error {
			return yield(ledger.Want{Ref: p.OrderID,
				Entries: ledger.PaymentEntries(Account(p.ConsumerID), p.MchID, p.Amount, p.Fee, FeeAccount)})
		})
	})
	if err != nil {
		return err
	}
	err = proveRows(ctx, d, ledger.Proof{Kind: "refund", Missing: "credit refund without its postings",
		Extra: "refund posting without a credit refund"}, `SELECT r.refund_id, r.amount, r.fee, r.overpaid, p.consumer_id, p.mchid
		FROM credit_refunds r JOIN credit_payments p ON p.attempt_id = r.attempt_id ORDER BY `+d.ByteOrder("r.refund_id"),
		func(rows db.Scanner) (ledger.Want, error) {
			var id, consumerID, mchid string
			var amount, feeBack, overpaid fenfu.Fen
			err := rows.Scan(&id, &amount, &feeBack, &overpaid, &consumerID, &mchid)
			return ledger.Want{Ref: id, Entries: refundEntries(consumerID, mchid, amount, overpaid, feeBack)}, err
		})
	if err != nil {
		return err
	}
	if err := verifyPlans(ctx, d); err != nil {
		return err
	}
	if err := verifyHolds(ctx, d); err != nil {
		return err
	}
	// Materialized, so PostgreSQL does not rescan the aggregate for
	// every payment to find the first difference (see pay.Verify).
	var id string
	var a, b fenfu.Fen
	err = d.R.QueryRowContext(ctx, `WITH bad AS MATERIALIZED (SELECT p.attempt_id, p.refunded, COALESCE(s.total, 0) AS total FROM credit_payments p
		LEFT JOIN (SELECT attempt_id, SUM(amount) AS total FROM credit_refunds GROUP BY attempt_id) s ON s.attempt_id = p.attempt_id
		WHERE p.refunded <> COALESCE(s.total, 0)) SELECT attempt_id, refunded, total FROM bad ORDER BY attempt_id LIMIT 1`).Scan(&id, &a, &b)
	if err == nil {
		return &ledger.Problem{Store: d.Name, What: "refunded amount differs from refunds",
			Detail: fmt.Sprintf("attempt %s records %d refunded, refunds sum to %d", id, a, b)}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// verifyLines merges the credit lines, in consumer byte order, with the
// receivable accounts of the books.
func verifyLines(ctx context.Context, d *db.DB) error {
	bad := func(what, detail string) error { return &ledger.Problem{Store: d.Name, What: what, Detail: detail} }
	lines, err := d.QueryContext(ctx, `SELECT consumer_id, used FROM credit_lines ORDER BY `+d.ByteOrder("consumer_id"))
	if err != nil {
		return err
	}
	defer lines.Close()
	var id string
	var used fenfu.Fen
	more := false
	next := func() error {
		if more = lines.Next(); more {
			return lines.Scan(&id, &used)
		}
		return lines.Err()
	}
	if err := next(); err != nil {
		return err
	}
	lineWithout := func() error {
		return bad("credit line differs from ledger", fmt.Sprintf("consumer %s has used %d but no receivable account", id, used))
	}
	err = ledger.Balances(ctx, d, ledger.ConsumerCredit, func(owner string, receivable fenfu.Fen) error {
		if more && id < owner {
			return lineWithout()
		}
		if !more || id != owner {
			return bad("receivable without a credit line", fmt.Sprintf("consumer %s owes %d", owner, receivable))
		}
		if used != receivable {
			return bad("credit line differs from ledger", fmt.Sprintf("consumer %s has used %d but receivable %d", id, used, receivable))
		}
		return next()
	})
	if err != nil {
		return err
	}
	if more {
		return lineWithout()
	}
	return nil
}

// proveRows proves a kind of transaction against the rows of a query in
// ref byte order, each made a ledger.Want by want.
func proveRows(ctx context.Context, d *db.DB, p ledger.Proof, query string, want func(db.Scanner) (ledger.Want, error)) error {
	_, err := ledger.Prove(ctx, d, p, func(yield func(ledger.Want) error) error {
		rows, err := d.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		return db.Each(rows, want, yield)
	})
	return err
}

// verifyPlans proves the repayment plans: every consumer's outstanding
// principal over its plans equals its receivable, its unpaid plan fee its
// fee due, and what refunds owe it back its overpaid account; every
// installment's amounts are its original ones changed by what is recorded,
// and what is paid of it is what the repayments paid; every plan fee,
// refund of one, repayment, waiver and late fee has exactly its postings.
func verifyPlans(ctx context.Context, d *db.DB) error {
	for _, m := range []struct {
		kind  ledger.Kind
		what  string
		query string
	}{
		{ledger.ConsumerCredit, "outstanding principal differs from receivable",
			`SELECT consumer_id, SUM(principal - paid_principal) FROM credit_installments GROUP BY consumer_id`},
		{ledger.ConsumerFeeDue, "unpaid plan fee differs from fee due",
			`SELECT consumer_id, SUM(fee - paid_fee) FROM credit_installments GROUP BY consumer_id`},
		{ledger.ConsumerOverpaid, "refunds owed back differ from overpaid account",
			`SELECT p.consumer_id, SUM(r.overpaid + r.plan_fee_overpaid) FROM credit_refunds r
			JOIN credit_payments p ON p.attempt_id = r.attempt_id GROUP BY p.consumer_id`},
	} {
		if err := matchBalances(ctx, d, m.kind, m.what, m.query); err != nil {
			return err
		}
	}
	bad := func(what, detail string) error { return &ledger.Problem{Store: d.Name, What: what, Detail: detail} }
	var plan string
	var seq int
	err := d.R.QueryRowContext(ctx, `WITH c AS MATERIALIZED (SELECT plan_id, seq, SUM(principal) AS p, SUM(fee) AS f
		FROM credit_plan_changes GROUP BY plan_id, seq), r AS MATERIALIZED (SELECT plan_id, seq, SUM(principal) AS p, SUM(fee) AS f
		FROM credit_repayment_parts GROUP BY plan_id, seq)
		SELECT i.plan_id, i.seq FROM credit_installments i
		LEFT JOIN c ON c.plan_id = i.plan_id AND c.seq = i.seq LEFT JOIN r ON r.plan_id = i.plan_id AND r.seq = i.seq
		WHERE i.principal <> i.original_principal + COALESCE(c.p, 0) OR i.fee <> i.original_fee + COALESCE(c.f, 0)
		OR i.paid_principal <> COALESCE(r.p, 0) OR i.paid_fee <> COALESCE(r.f, 0)
		OR (i.state = 'PAID') <> (i.principal = i.paid_principal AND i.fee = i.paid_fee)
		ORDER BY i.plan_id, i.seq LIMIT 1`).Scan(&plan, &seq)
	if err == nil {
		return bad("installment differs from its changes and repayments", fmt.Sprintf("plan %s installment %d", plan, seq))
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = proveRows(ctx, d, ledger.Proof{Kind: "installment_fee", Missing: "plan fee without its postings",
		Extra: "plan fee posting without a plan"}, `SELECT order_id, consumer_id, mchid, fee_payer, fee FROM credit_plans
		ORDER BY `+d.ByteOrder("order_id"), func(rows db.Scanner) (ledger.Want, error) {
		var w ledger.Want
		var consumerID, mchid string
		var payer FeePayer
		var f fenfu.Fen
		err := rows.Scan(&w.Ref, &consumerID, &mchid, &payer, &f)
		if f > 0 {
			w.Entries = installmentFeeEntries(payer, consumerID, mchid, f)
		}
		return w, err
	})
	if err != nil {
		return err
	}
	err = proveRows(ctx, d, ledger.Proof{Kind: "installment_fee_refund", Missing: "refund of a plan fee without its postings",
		Extra: "plan fee refund posting without a refund"}, `SELECT r.refund_id, r.plan_fee, r.plan_fee_overpaid, p.fee_payer,
		p.consumer_id, p.mchid FROM credit_refunds r JOIN credit_plans p ON p.plan_id = r.attempt_id ORDER BY `+d.ByteOrder("r.refund_id"),
		func(rows db.Scanner) (ledger.Want, error) {
			var w ledger.Want
			var r planRefund
			err := rows.Scan(&w.Ref, &r.Fee, &r.FeeOverpaid, &r.FeePayer, &r.ConsumerID, &r.MchID)
			if r.Fee > 0 {
				w.Entries = planRefundEntries(r)
			}
			return w, err
		})
	if err != nil {
		return err
	}
	err = proveRows(ctx, d, ledger.Proof{Kind: "late_fee", Missing: "late fee without its postings",
		Extra: "late fee posting without a late fee"}, `SELECT plan_id, seq, day, consumer_id, fee FROM credit_late_fees
		ORDER BY `+d.ByteOrder("(plan_id || ':' || CAST(seq AS TEXT) || ':' || day)"), func(rows db.Scanner) (ledger.Want, error) {
		var w ledger.Want
		var plan, day, consumerID string
		var seq int
		var f fenfu.Fen
		err := rows.Scan(&plan, &seq, &day, &consumerID, &f)
		w.Ref = lateFeeRef(plan, seq, day)
		if f > 0 {
			w.Entries = lateFeeEntries(consumerID, f)
		}
		return w, err
	})
	if err != nil {
		return err
	}
	repayments := `SELECT repayment_id, consumer_id, source, principal, fee, waived FROM credit_repayments WHERE state = 'APPLIED'
		ORDER BY ` + d.ByteOrder("repayment_id")
	for _, kind := range []string{"repayment", "fee_waiver"} {
		err = proveRows(ctx, d, ledger.Proof{Kind: kind, Missing: kind + " without its postings",
			Extra: kind + " posting without an applied repayment"}, repayments, func(rows db.Scanner) (ledger.Want, error) {
			var w ledger.Want
			var consumerID, source string
			var principal, f, waived fenfu.Fen
			err := rows.Scan(&w.Ref, &consumerID, &source, &principal, &f, &waived)
			switch {
			case kind == "repayment":
				w.Entries = repaymentEntries(consumerID, source, principal, f)
			case waived > 0:
				w.Entries = waiverEntries(consumerID, waived)
			}
			return w, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// matchBalances merges the tracked accounts of kind, in owner byte order,
// with the per-consumer sums of query (consumer_id, amount), which must
// agree; a consumer missing on either side counts as zero.
func matchBalances(ctx context.Context, d *db.DB, kind ledger.Kind, what, query string) error {
	rows, err := d.QueryContext(ctx, `SELECT * FROM (`+query+`) s ORDER BY `+d.ByteOrder("s.consumer_id"))
	if err != nil {
		return err
	}
	defer rows.Close()
	var id string
	var sum fenfu.Fen
	more := false
	next := func() error {
		if more = rows.Next(); more {
			return rows.Scan(&id, &sum)
		}
		return rows.Err()
	}
	if err := next(); err != nil {
		return err
	}
	bad := func(owner string, want, got fenfu.Fen) error {
		return &ledger.Problem{Store: d.Name, What: what, Detail: fmt.Sprintf("consumer %s: plans and refunds say %d, the %s account %d",
			owner, want, kind, got)}
	}
	// skip passes the query's consumers before owner, which must sum to 0.
	skip := func(owner string, all bool) error {
		for more && (all || id < owner) {
			if sum != 0 {
				return bad(id, sum, 0)
			}
			if err := next(); err != nil {
				return err
			}
		}
		return nil
	}
	err = ledger.Balances(ctx, d, kind, func(owner string, balance fenfu.Fen) error {
		if err := skip(owner, false); err != nil {
			return err
		}
		want := fenfu.Fen(0)
		if more && id == owner {
			want = sum
			if err := next(); err != nil {
				return err
			}
		}
		if want != balance {
			return bad(owner, want, balance)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return skip("", true)
}
