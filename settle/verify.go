package settle

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/pay"
)

// Verify proves the settlements: each records exactly the orders and
// refunds that carry its id, with the net they imply; each settled one
// with a net has its transaction in its channel's books, moving that net
// from the merchant's pending settlement to its settlement account; every
// settlement transaction in the books has its record; and no order or
// refund names a settlement that does not exist. It streams, so its memory
// does not grow with the settlements. It returns how many there are, and
// the first problem as a *ledger.Problem.
func (s *Service) Verify(ctx context.Context) (int, error) {
	bad := func(store, what, detail string) error {
		return &ledger.Problem{Store: store, What: what, Detail: detail}
	}
	for _, c := range []struct{ what, q string }{
		{"settlement differs from the orders and refunds it took", `SELECT s.id FROM settlements s
			LEFT JOIN (SELECT settlement_id, COUNT(*) AS n, SUM(total) AS amount, SUM(fee) AS fee FROM orders
			  WHERE settlement_id <> '' GROUP BY settlement_id) o ON o.settlement_id = s.id
			LEFT JOIN (SELECT settlement_id, COUNT(*) AS n, SUM(amount) AS amount, SUM(fee) AS fee FROM refunds
			  WHERE settlement_id <> '' GROUP BY settlement_id) r ON r.settlement_id = s.id
			WHERE s.payments <> COALESCE(o.n, 0) OR s.payment_amount <> COALESCE(o.amount, 0) OR s.payment_fees <> COALESCE(o.fee, 0)
			   OR s.refunds <> COALESCE(r.n, 0) OR s.refund_amount <> COALESCE(r.amount, 0) OR s.refund_fees <> COALESCE(r.fee, 0)
			   OR s.net <> (s.payment_amount - s.payment_fees) - (s.refund_amount - s.refund_fees)
			ORDER BY s.id LIMIT 1`},
		{"order names a missing settlement", `SELECT o.settlement_id FROM orders o WHERE o.settlement_id <> ''
			AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.id = o.settlement_id) LIMIT 1`},
		{"refund names a missing settlement", `SELECT r.settlement_id FROM refunds r WHERE r.settlement_id <> ''
			AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.id = r.settlement_id) LIMIT 1`},
		{"settlement took an order or refund of another channel or merchant", `SELECT s.id FROM settlements s
			WHERE EXISTS (SELECT 1 FROM orders o WHERE o.settlement_id = s.id AND o.settlement_id <> ''
			  AND (o.channel <> s.channel OR o.mchid <> s.mchid))
			OR EXISTS (SELECT 1 FROM refunds r WHERE r.settlement_id = s.id AND r.settlement_id <> ''
			  AND (r.channel <> s.channel OR r.mchid <> s.mchid)) ORDER BY s.id LIMIT 1`},
	} {
		ids, err := s.Core.Strings(ctx, c.q)
		if err != nil {
			return 0, fmt.Errorf("settle: verify: %w", err)
		}
		if len(ids) > 0 {
			return 0, bad(s.Core.Name, c.what, ids[0])
		}
	}
	total := 0
	for _, ch := range pay.Channels {
		n, err := s.verifyPostings(ctx, ch)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// verifyPostings merges a channel's settlements, in id order, with the
// settlement transactions of its books, in ref order.
func (s *Service) verifyPostings(ctx context.Context, channel pay.Channel) (int, error) {
	books := s.money(channel)
	bad := func(what, detail string) error { return &ledger.Problem{Store: books.Name, What: what, Detail: detail} }
	// Both sides in byte order, which Go's string comparison agrees with.
	recs, err := s.Core.QueryContext(ctx, `SELECT id, mchid, net, state FROM settlements WHERE channel = $1 ORDER BY `+
		s.Core.ByteOrder("id"), string(channel))
	if err != nil {
		return 0, err
	}
	defer recs.Close()
	// The books hold settlements of this channel only, except when both
	// channels share a store; then the other channel's are skipped.
	posts, err := books.QueryContext(ctx, `SELECT t.ref, e.account, e.amount FROM ledger_txns t
		JOIN ledger_entries e ON e.txn_id = t.id
		WHERE t.kind = 'settlement' AND e.account LIKE 'merchant_pending:%' AND t.ref LIKE $1 ORDER BY `+books.ByteOrder("t.ref"),
		"%-"+string(channel)+"-%")
	if err != nil {
		return 0, err
	}
	defer posts.Close()
	type post struct {
		ref, account string
		amount       fenfu.Fen
	}
	var p *post
	next := func() error {
		p = nil
		if posts.Next() {
			var x post
			if err := posts.Scan(&x.ref, &x.account, &x.amount); err != nil {
				return err
			}
			p = &x
		}
		return posts.Err()
	}
	if err := next(); err != nil {
		return 0, err
	}
	n := 0
	for recs.Next() {
		var id, mchid, state string
		var net fenfu.Fen
		if err := recs.Scan(&id, &mchid, &net, &state); err != nil {
			return 0, err
		}
		n++
		if p != nil && p.ref < id {
			return 0, bad("settlement posting without its settlement", p.ref)
		}
		var posted fenfu.Fen
		if p != nil && p.ref == id {
			if p.account != string(ledger.AccountOf(ledger.MerchantPending, mchid)) {
				return 0, bad("settlement posted to another merchant", id)
			}
			// Pending settlement is credit-normal: moving the net out of it
			// debits it.
			posted = p.amount
			if err := next(); err != nil {
				return 0, err
			}
		}
		switch {
		case state == Settled && posted != net:
			return 0, bad("settled settlement without its posting", fmt.Sprintf("%s: net %d, posted %d", id, net, posted))
		case state == Pending && posted != 0 && posted != net:
			return 0, bad("pending settlement posted with another amount", id)
		}
	}
	if err := recs.Err(); err != nil {
		return 0, err
	}
	if p != nil {
		return 0, bad("settlement posting without its settlement", p.ref)
	}
	return n, nil
}
