package settle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fenfu/fenfu/ledger"
)

// Verify proves the settlements: each records exactly the orders and
// refunds that carry its id, with the net they imply; each settled one
// with a net has its transaction in its channel's books, moving that net
// from the merchant's pending settlement to its settlement account; and no
// order or refund names a settlement that does not exist. It returns the
// number of settlements and the first problem as a *ledger.Problem.
func (s *Service) Verify(ctx context.Context) (int, error) {
	bad := func(store, what, detail string) error {
		return &ledger.Problem{Store: store, What: what, Detail: detail}
	}
	list, err := s.List(ctx, Filter{})
	if err != nil {
		return 0, err
	}
	for _, x := range list {
		var n, r int
		var amount, fees, ramount, rfees int64
		if err := s.Core.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(total), 0), COALESCE(SUM(fee), 0) FROM orders
			WHERE settlement_id = $1 AND settlement_id <> ''`, x.ID).Scan(&n, &amount, &fees); err != nil {
			return 0, err
		}
		if err := s.Core.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(fee), 0) FROM refunds
			WHERE settlement_id = $1 AND settlement_id <> ''`, x.ID).Scan(&r, &ramount, &rfees); err != nil {
			return 0, err
		}
		if n != x.Payments || amount != x.PaymentAmount || fees != x.PaymentFees || r != x.Refunds ||
			ramount != x.RefundAmount || rfees != x.RefundFees || x.Net != (amount-fees)-(ramount-rfees) {
			return 0, bad(s.Core.Name, "settlement differs from the orders and refunds it took", x.ID)
		}
		channel, _ := ParseChannel(x.Channel)
		books := s.money(channel)
		var posted int64
		err := books.QueryRowContext(ctx, `SELECT amount FROM ledger_entries WHERE txn_id = $1 AND account = $2`,
			ledger.TxnID("settlement", x.ID), string(ledger.AccountOf(ledger.MerchantPending, x.MchID))).Scan(&posted)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			posted = 0
		case err != nil:
			return 0, err
		}
		switch {
		case x.State == Settled && posted != x.Net:
			return 0, bad(books.Name, "settled settlement without its posting", fmt.Sprintf("%s: net %d, posted %d", x.ID, x.Net, posted))
		case x.State == Pending && posted != 0 && posted != x.Net:
			return 0, bad(books.Name, "pending settlement posted with another amount", x.ID)
		}
	}
	for _, q := range []string{
		`SELECT o.settlement_id FROM orders o WHERE o.settlement_id <> ''
			AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.id = o.settlement_id) LIMIT 1`,
		`SELECT r.settlement_id FROM refunds r WHERE r.settlement_id <> ''
			AND NOT EXISTS (SELECT 1 FROM settlements s WHERE s.id = r.settlement_id) LIMIT 1`,
	} {
		var id string
		err := s.Core.QueryRowContext(ctx, q).Scan(&id)
		if err == nil {
			return 0, bad(s.Core.Name, "order or refund names a missing settlement", id)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
	}
	// Every settlement transaction in either store's books has its record,
	// of that store's channel.
	known := make(map[string]string, len(list))
	for _, x := range list {
		known[x.ID], _ = ParseChannel(x.Channel)
	}
	for _, ch := range Channels {
		d := s.money(ch)
		refs, err := d.Strings(ctx, `SELECT ref FROM ledger_txns WHERE kind = 'settlement' ORDER BY ref`)
		if err != nil {
			return 0, err
		}
		for _, ref := range refs {
			if known[ref] != ch {
				return 0, bad(d.Name, "settlement posting without its settlement", ref)
			}
		}
	}
	return len(list), nil
}
