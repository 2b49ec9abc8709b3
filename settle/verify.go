package settle

import (
	"context"
	"fmt"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/pay"
)

// Verify proves the settlements: each records exactly the orders and
// refunds that name it, all of its channel and merchant, with the net
// they imply, and no order or refund names a settlement that does not
// exist; each settled one with a net has its transaction in its channel's
// books, moving that net from the merchant's pending settlement to its
// settlement account, a pending one that or nothing; and every settlement
// transaction in the books has its record. Both proofs merge streams in
// settlement-id order, so its memory does not grow with the settlements.
// It returns how many there are, and the first problem as a
// *ledger.Problem.
func (s *Service) Verify(ctx context.Context) (int, error) {
	n, err := s.verifyTotals(ctx)
	if err != nil {
		return 0, err
	}
	// Each store's books hold the settlements of the channels whose
	// money it keeps.
	var stores []*db.DB
	channels := map[*db.DB][]any{}
	for _, ch := range pay.Channels {
		books := s.money(ch)
		if channels[books] == nil {
			stores = append(stores, books)
		}
		channels[books] = append(channels[books], string(ch))
	}
	for _, books := range stores {
		if err := s.verifyPostings(ctx, books, channels[books]); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// verifyTotals merges the settlements, in id order, with the totals of the
// orders and refunds that name them.
func (s *Service) verifyTotals(ctx context.Context) (int, error) {
	bad := func(what, detail string) error {
		return &ledger.Problem{Store: s.Core.Name, What: what, Detail: detail}
	}
	rows, err := s.Core.QueryContext(ctx, `SELECT id, channel, mchid, payments, payment_amount, payment_fees,
		refunds, refund_amount, refund_fees, net, plan_fees, refund_plan_fees FROM settlements ORDER BY `+s.Core.ByteOrder("id"))
	if err != nil {
		return 0, fmt.Errorf("settle: verify: %w", err)
	}
	defer rows.Close()
	var x Settlement
	more, n := false, 0
	next := func() error {
		if more = rows.Next(); more {
			n++
			return rows.Scan(&x.ID, &x.Channel, &x.MchID, &x.Payments, &x.PaymentAmount, &x.PaymentFees,
				&x.Refunds, &x.RefundAmount, &x.RefundFees, &x.Net, &x.PlanFees, &x.RefundPlanFees)
		}
		return rows.Err()
	}
	// check compares the settlement read with the totals of what named it.
	check := func(t pay.SettledTotal) error {
		switch {
		case x.Payments != t.Payments || x.PaymentAmount != t.PaymentAmount || x.PaymentFees != t.PaymentFees ||
			x.Refunds != t.Refunds || x.RefundAmount != t.RefundAmount || x.RefundFees != t.RefundFees ||
			x.PlanFees != t.PlanFees || x.RefundPlanFees != t.RefundPlanFees ||
			x.Net != t.Net():
			return bad("settlement differs from the orders and refunds it took", x.ID)
		case t.Payments+t.Refunds > 0 && (t.Channel != pay.Channel(x.Channel) || t.MchID != x.MchID):
			return bad("settlement took an order or refund of another channel or merchant", x.ID)
		}
		return next()
	}
	if err := next(); err != nil {
		return 0, err
	}
	err = pay.SettledTotals(ctx, s.Core, func(t pay.SettledTotal) error {
		for more && x.ID < t.SettlementID {
			if err := check(pay.SettledTotal{}); err != nil {
				return err
			}
		}
		switch {
		case more && x.ID == t.SettlementID:
			return check(t)
		case t.Payments > 0:
			return bad("order names a missing settlement", t.SettlementID)
		default:
			return bad("refund names a missing settlement", t.SettlementID)
		}
	})
	for err == nil && more {
		err = check(pay.SettledTotal{})
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// verifyPostings proves the settlement transactions of one store's books
// against the settlements of the channels whose money it keeps.
func (s *Service) verifyPostings(ctx context.Context, books *db.DB, channels []any) error {
	in := make([]string, len(channels))
	for i := range channels {
		in[i] = fmt.Sprintf("$%d", i+1)
	}
	_, err := ledger.Prove(ctx, books, ledger.Proof{Kind: "settlement", Missing: "settlement without its posting",
		Extra: "settlement posting without its settlement"}, func(yield func(ledger.Want) error) error {
		rows, err := s.Core.QueryContext(ctx, `SELECT id, mchid, net, state FROM settlements WHERE channel IN (`+strings.Join(in, ", ")+`)
			ORDER BY `+s.Core.ByteOrder("id"), channels...)
		if err != nil {
			return err
		}
		return db.Each(rows, func(r db.Scanner) (ledger.Want, error) {
			var id, mchid, state string
			var net fenfu.Fen
			err := r.Scan(&id, &mchid, &net, &state)
			// A pending settlement is recorded and may be posted too,
			// until it is marked settled.
			return ledger.Want{Ref: id, Entries: ledger.SettlementEntries(mchid, net), Maybe: state == Pending}, err
		}, yield)
	})
	return err
}
