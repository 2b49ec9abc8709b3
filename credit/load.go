package credit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ledger"
)

// Load is a captured credit payment as Capture leaves it, with at most one
// refund as ApplyRefund leaves it, for loading many at once.
type Load struct {
	AttemptID, OrderID, MchID, ConsumerID string
	Amount                                fenfu.Fen
	Fee                                   fee.Quote
	At                                    time.Time
	// A refund of part of the payment, returning RefundFee of the fee;
	// none if Refund is 0.
	RefundID   string
	Refund     fenfu.Fen
	RefundFee  fenfu.Fen
	RefundedAt time.Time
}

// LoadCaptured writes captured payments (and their refunds) in the
// caller's credit transaction as Capture and ApplyRefund would have: the
// payment and refund rows, their pay-in-full plans, the lines' used amounts and the merchants'
// month-to-date volumes, each changed once by its sum, and the ledger's
// postings through ledger.PostMany. The consumers' lines must be open and
// long enough. It loads generated days for the benchmarks; keep a call to
// a few dozen payments.
func LoadCaptured(ctx context.Context, tx *db.Tx, ps []Load) error {
	if len(ps) == 0 {
		return nil
	}
	var q, rq strings.Builder
	args := make([]any, 0, len(ps)*10)
	var rargs []any
	q.WriteString(`INSERT INTO credit_payments (attempt_id, order_id, state, mchid, consumer_id, amount, refunded, created_at,
		fee, fee_rate, fee_tier) VALUES `)
	rq.WriteString(`INSERT INTO credit_refunds (refund_id, order_id, attempt_id, amount, created_at, fee) VALUES `)
	used := map[string]fenfu.Fen{}
	type vol struct {
		mchid, month string
		shard        int
	}
	volume := map[vol]fenfu.Fen{}
	txns := make([]ledger.Txn, 0, len(ps)+len(ps)/4)
	for i, p := range ps {
		if i > 0 {
			q.WriteByte(',')
		}
		k := len(args)
		fmt.Fprintf(&q, "($%d,$%d,'%s',$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", k+1, k+2, Captured, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10)
		args = append(args, p.AttemptID, p.OrderID, p.MchID, p.ConsumerID, p.Amount, p.Refund, db.Micros(p.At),
			p.Fee.Fee, int64(p.Fee.Rate), p.Fee.Tier)
		used[p.ConsumerID] += p.Amount - p.Refund
		volume[vol{p.MchID, Month(p.At), shardOf(p.AttemptID)}] += p.Amount
		txns = append(txns, ledger.Txn{Kind: "payment", Ref: p.OrderID,
			Entries: ledger.PaymentEntries(Account(p.ConsumerID), p.MchID, p.Amount, p.Fee.Fee, FeeAccount)})
		if p.Refund > 0 {
			if len(rargs) > 0 {
				rq.WriteByte(',')
			}
			k := len(rargs)
			fmt.Fprintf(&rq, "($%d,$%d,$%d,$%d,$%d,$%d)", k+1, k+2, k+3, k+4, k+5, k+6)
			rargs = append(rargs, p.RefundID, p.OrderID, p.AttemptID, p.Refund, db.Micros(p.RefundedAt), p.RefundFee)
			txns = append(txns, ledger.Txn{Kind: "refund", Ref: p.RefundID,
				Entries: ledger.RefundEntries(Account(p.ConsumerID), p.MchID, p.Refund, p.RefundFee, FeeAccount)})
		}
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("credit: load captured: %w", err)
	}
	if err := loadPlans(ctx, tx, ps); err != nil {
		return fmt.Errorf("credit: load plans: %w", err)
	}
	if len(rargs) > 0 {
		if _, err := tx.ExecContext(ctx, rq.String(), rargs...); err != nil {
			return fmt.Errorf("credit: load refunds: %w", err)
		}
	}
	consumers := make([]string, 0, len(used))
	for c := range used {
		consumers = append(consumers, c)
	}
	slices.Sort(consumers) // a fixed lock order
	for _, c := range consumers {
		drawn, err := draw(ctx, tx, c, used[c])
		if err != nil {
			return fmt.Errorf("credit: load captured: %w", err)
		}
		if !drawn {
			return fmt.Errorf("credit: load captured: consumer %s has no line or too short a one", c)
		}
	}
	vols := make([]vol, 0, len(volume))
	for v := range volume {
		vols = append(vols, v)
	}
	slices.SortFunc(vols, func(a, b vol) int { // a fixed lock order
		return cmp.Or(strings.Compare(a.mchid, b.mchid), strings.Compare(a.month, b.month), cmp.Compare(a.shard, b.shard))
	})
	for _, v := range vols {
		if err := addVolume(ctx, tx, v.mchid, v.month, v.shard, volume[v]); err != nil {
			return fmt.Errorf("credit: load captured: %w", err)
		}
	}
	return ledger.PostMany(ctx, tx, txns)
}

// loadPlans writes the pay-in-full plans of loaded payments, each with its
// one installment less its refund, as Capture and ApplyRefund would have.
func loadPlans(ctx context.Context, tx *db.Tx, ps []Load) error {
	var pq, iq, cq strings.Builder
	var pargs, iargs, cargs []any
	pq.WriteString(`INSERT INTO credit_plans (plan_id, order_id, consumer_id, mchid, state, installments, principal, fee, fee_payer,
		fee_rate, refunded, created_at, updated_at) VALUES `)
	iq.WriteString(`INSERT INTO credit_installments (plan_id, seq, consumer_id, due_on, state, original_principal, original_fee,
		principal, fee) VALUES `)
	cq.WriteString(`INSERT INTO credit_plan_changes (ref, plan_id, seq, principal, fee, created_at) VALUES `)
	for i, p := range ps {
		if i > 0 {
			pq.WriteByte(',')
			iq.WriteByte(',')
		}
		state, istate := PlanOpen, InstallmentDue
		if p.Refund == p.Amount {
			state, istate = PlanPaid, InstallmentPaid
		}
		k := len(pargs)
		fmt.Fprintf(&pq, "($%d,$%d,$%d,$%d,$%d,1,$%d,0,'',0,$%d,$%d,$%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9)
		updated := p.At
		if p.Refund > 0 {
			updated = p.RefundedAt
		}
		pargs = append(pargs, p.AttemptID, p.OrderID, p.ConsumerID, p.MchID, string(state), p.Amount, p.Refund, db.Micros(p.At), db.Micros(updated))
		k = len(iargs)
		fmt.Fprintf(&iq, "($%d,1,$%d,$%d,$%d,$%d,0,$%d,0)", k+1, k+2, k+3, k+4, k+5, k+6)
		due := DefaultCalendar.DueOf(DefaultCalendar.StatementAfter(p.At)).Format(DateLayout)
		iargs = append(iargs, p.AttemptID, p.ConsumerID, due, string(istate), p.Amount, p.Amount-p.Refund)
		if p.Refund > 0 {
			if len(cargs) > 0 {
				cq.WriteByte(',')
			}
			k = len(cargs)
			fmt.Fprintf(&cq, "($%d,$%d,1,$%d,0,$%d)", k+1, k+2, k+3, k+4)
			cargs = append(cargs, "refund:"+p.RefundID, p.AttemptID, -p.Refund, db.Micros(p.RefundedAt))
		}
	}
	if _, err := tx.ExecContext(ctx, pq.String(), pargs...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, iq.String(), iargs...); err != nil {
		return err
	}
	if len(cargs) > 0 {
		if _, err := tx.ExecContext(ctx, cq.String(), cargs...); err != nil {
			return err
		}
	}
	return nil
}
