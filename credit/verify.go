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
// used amount equals its receivable account, every captured payment and
// every refund has exactly its postings, a voided attempt has none, and a
// payment's refunded amount is the sum of its refunds.
func Verify(ctx context.Context, d *db.DB) error {
	if err := ledger.Verify(ctx, d); err != nil {
		return err
	}
	bad := func(what, detail string) error { return &ledger.Problem{Store: d.Name, What: what, Detail: detail} }
	var id string
	var a, b fenfu.Fen
	err := d.R.QueryRowContext(ctx, `SELECT l.consumer_id, l.used, COALESCE(a.balance, -1) FROM credit_lines l
		LEFT JOIN ledger_accounts a ON a.id = 'consumer_credit:' || l.consumer_id
		WHERE a.balance IS NULL OR a.balance <> l.used ORDER BY l.consumer_id LIMIT 1`).Scan(&id, &a, &b)
	if err == nil {
		return bad("credit line differs from ledger", fmt.Sprintf("consumer %s has used %d but receivable %d", id, a, b))
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// Captured payments: the receivable debited the amount, the merchant
	// credited the amount less the fee, the platform the fee (if any), and
	// nothing else.
	err = d.R.QueryRowContext(ctx, `SELECT p.attempt_id FROM credit_payments p
		WHERE p.state = 'CAPTURED' AND NOT (
		  (SELECT COUNT(*) FROM ledger_entries e WHERE e.txn_id = 'payment:' || p.order_id) = CASE WHEN p.fee > 0 THEN 3 ELSE 2 END
		  AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = 'payment:' || p.order_id
		      AND e.account = 'consumer_credit:' || p.consumer_id AND e.amount = p.amount)
		  AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = 'payment:' || p.order_id
		      AND e.account = 'merchant_pending:' || p.mchid AND e.amount = p.fee - p.amount)
		  AND (p.fee = 0 OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = 'payment:' || p.order_id
		      AND e.account = 'platform_fee:credit' AND e.amount = -p.fee)))
		ORDER BY p.attempt_id LIMIT 1`).Scan(&id)
	if err == nil {
		return bad("credit payment without its postings", id)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = d.R.QueryRowContext(ctx, `SELECT t.id FROM ledger_txns t WHERE t.kind = 'payment'
		AND NOT EXISTS (SELECT 1 FROM credit_payments p WHERE p.order_id = t.ref AND p.state = 'CAPTURED')
		ORDER BY t.id LIMIT 1`).Scan(&id)
	if err == nil {
		return bad("payment posting without a captured payment", id)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = d.R.QueryRowContext(ctx, `SELECT r.refund_id FROM credit_refunds r JOIN credit_payments p ON p.attempt_id = r.attempt_id
		WHERE NOT (
		  (SELECT COUNT(*) FROM ledger_entries e WHERE e.txn_id = 'refund:' || r.refund_id) =
		      1 + CASE WHEN r.amount > r.fee THEN 1 ELSE 0 END + CASE WHEN r.fee > 0 THEN 1 ELSE 0 END
		  AND EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = 'refund:' || r.refund_id
		      AND e.account = 'consumer_credit:' || p.consumer_id AND e.amount = -r.amount)
		  AND (r.amount = r.fee OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = 'refund:' || r.refund_id
		      AND e.account = 'merchant_pending:' || p.mchid AND e.amount = r.amount - r.fee))
		  AND (r.fee = 0 OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.txn_id = 'refund:' || r.refund_id
		      AND e.account = 'platform_fee:credit' AND e.amount = r.fee)))
		ORDER BY r.refund_id LIMIT 1`).Scan(&id)
	if err == nil {
		return bad("credit refund without its postings", id)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	err = d.R.QueryRowContext(ctx, `SELECT p.attempt_id, p.refunded, COALESCE(s.total, 0) FROM credit_payments p
		LEFT JOIN (SELECT attempt_id, SUM(amount) AS total FROM credit_refunds GROUP BY attempt_id) s ON s.attempt_id = p.attempt_id
		WHERE p.refunded <> COALESCE(s.total, 0) ORDER BY p.attempt_id LIMIT 1`).Scan(&id, &a, &b)
	if err == nil {
		return bad("refunded amount differs from refunds", fmt.Sprintf("attempt %s records %d refunded, refunds sum to %d", id, a, b))
	} else if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}
