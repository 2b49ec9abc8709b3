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
// refunded amount is the sum of its refunds. The proofs stream, in
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
	_, err = ledger.Prove(ctx, d, ledger.Proof{Kind: "refund", Missing: "credit refund without its postings",
		Extra: "refund posting without a credit refund"}, func(yield func(ledger.Want) error) error {
		rows, err := d.QueryContext(ctx, `SELECT r.refund_id, r.amount, r.fee, p.consumer_id, p.mchid
			FROM credit_refunds r JOIN credit_payments p ON p.attempt_id = r.attempt_id ORDER BY `+d.ByteOrder("r.refund_id"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, consumerID, mchid string
			var amount, feeBack fenfu.Fen
			if err := rows.Scan(&id, &amount, &feeBack, &consumerID, &mchid); err != nil {
				return err
			}
			if err := yield(ledger.Want{Ref: id,
				Entries: ledger.RefundEntries(Account(consumerID), mchid, amount, feeBack, FeeAccount)}); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
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
