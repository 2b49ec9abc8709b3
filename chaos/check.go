package chaos

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/pay"
)

// Store reads orders and refunds as the stores hold them; *pay.Service is
// one.
type Store interface {
	QueryByOutTradeNo(ctx context.Context, mchid, outTradeNo string) (pay.Order, error)
	QueryRefund(ctx context.Context, mchid, outRefundNo string) (pay.RefundRecord, error)
}

// Wallets reads a consumer's balance and credit line; *consumer.Service
// is one.
type Wallets interface {
	Get(ctx context.Context, id string) (consumer.Consumer, error)
}

// Kinds of finding.
const (
	Lost    = "lost"    // acknowledged, and not in the store
	Doubled = "doubled" // in the store more often, or for more, than the client asked
	Wrong   = "wrong"   // in the store with another amount, channel or payer than acknowledged
	Stuck   = "stuck"   // PAYING or PROCESSING after the recovery window
	// Found by the run rather than the check:
	Diverged     = "diverged"    // a retry of an unknown call did not converge
	VerifyFailed = "verify"      // the books did not prove
	Unnotified   = "unnotified"  // acknowledged, and never notified to the merchant
	Misnotified  = "misnotified" // notified with another state, amount or id than acknowledged
	Unrecovered  = "unrecovered" // a node still failed its health check after the fault was undone
	Unsettled    = "unsettled"   // a paid order a finished settlement batch should have taken, it did not
)

// Finding is one way the stores disagree with what the client was told.
type Finding struct {
	Kind string `json:"kind"`
	What string `json:"what"`
}

func (f Finding) String() string { return f.Kind + ": " + f.What }

// Findings are the result of a check.
type Findings []Finding

// Count is how many findings are of kind.
func (fs Findings) Count(kind string) int {
	n := 0
	for _, f := range fs {
		if f.Kind == kind {
			n++
		}
	}
	return n
}

// Start is a consumer's balance when the run began (its credit line was
// unused).
type Start struct {
	ID      string
	Balance fenfu.Fen
}

// Check holds the stores to the payments the client made. With wallets
// (and every payment of the run in ps), it also checks that each
// consumer's balance and credit line moved by exactly what the store's
// orders say they paid, so that money taken twice for one order shows
// even if the order looks right. An error is a failure to read the
// stores, not a finding.
func Check(ctx context.Context, st Store, ps []*Payment, wallets Wallets, starts []Start) (Findings, error) {
	var out Findings
	add := func(kind, format string, args ...any) {
		out = append(out, Finding{kind, fmt.Sprintf(format, args...)})
	}
	type spent struct{ balance, credit fenfu.Fen }
	spend := map[string]*spent{}
	for _, s := range starts {
		spend[s.ID] = &spent{}
	}
	for _, p := range ps {
		o, err := st.QueryByOutTradeNo(ctx, p.MchID, p.OutTradeNo)
		if fenfu.ErrorCode(err) == fenfu.OrderNotExist {
			switch {
			case p.Paid == Acked:
				add(Lost, "order %s was acknowledged paid (%d fen) and is not in the store", p.OutTradeNo, p.Total)
			case p.Created == Acked:
				add(Lost, "order %s was acknowledged created and is not in the store", p.OutTradeNo)
			}
			for _, r := range p.Refunds {
				if r.Outcome == Acked {
					add(Lost, "refund %s was acknowledged (%d fen) and its order %s is not in the store", r.OutRefundNo, r.Amount, p.OutTradeNo)
				}
			}
			continue
		}
		if err != nil {
			return out, fmt.Errorf("chaos: read order %s: %w", p.OutTradeNo, err)
		}
		paid := o.State == pay.Success || o.State == pay.Refund
		switch {
		case o.State == pay.Paying:
			add(Stuck, "order %s is still PAYING", p.OutTradeNo)
		case p.Paid == Acked && !paid:
			add(Lost, "order %s was acknowledged paid (%d fen) and the store has it %s", p.OutTradeNo, p.Total, o.State)
		case p.Paid != Acked && p.Paid != Unknown && paid:
			add(Doubled, "order %s is paid though its payment was %s", p.OutTradeNo, p.Paid)
		}
		if p.Paid == Acked && paid {
			if o.Total != p.Total || (p.AckTotal != 0 && p.AckTotal != p.Total) {
				add(Wrong, "order %s: asked %d fen, acknowledged %d, stored %d", p.OutTradeNo, p.Total, p.AckTotal, o.Total)
			}
			if o.Channel != p.Channel || o.ConsumerID != p.ConsumerID {
				add(Wrong, "order %s: paid by %s on %s, stored as %s on %s", p.OutTradeNo, p.ConsumerID, p.Channel, o.ConsumerID, o.Channel)
			}
		}
		var sum fenfu.Fen
		n := 0
		for _, r := range p.Refunds {
			rec, err := st.QueryRefund(ctx, p.MchID, r.OutRefundNo)
			if fenfu.ErrorCode(err) == fenfu.ResourceNotExists {
				if r.Outcome == Acked {
					add(Lost, "refund %s was acknowledged (%d fen) and is not in the store", r.OutRefundNo, r.Amount)
				}
				continue
			}
			if err != nil {
				return out, fmt.Errorf("chaos: read refund %s: %w", r.OutRefundNo, err)
			}
			sum += rec.Amount
			n++
			switch {
			case r.Outcome == Refused || r.Outcome == NotSent:
				add(Doubled, "refund %s is in the store though it was %s", r.OutRefundNo, r.Outcome)
			case r.Outcome == Acked && rec.ID != r.RefundID:
				add(Doubled, "refund %s was acknowledged as %s and the store has %s", r.OutRefundNo, r.RefundID, rec.ID)
			case r.Outcome == Acked && rec.Amount != r.Amount:
				add(Wrong, "refund %s: acknowledged %d fen, stored %d", r.OutRefundNo, r.Amount, rec.Amount)
			case r.Outcome == Acked && r.Status == pay.RefundSuccess && rec.Status != pay.RefundSuccess:
				add(Wrong, "refund %s was acknowledged %s and the store has it %s", r.OutRefundNo, r.Status, rec.Status)
			case rec.OrderID != o.ID:
				add(Wrong, "refund %s refunds order %s, not %s", r.OutRefundNo, rec.OrderID, o.ID)
			}
			if rec.Status == pay.RefundProcessing {
				add(Stuck, "refund %s is still PROCESSING", r.OutRefundNo)
			}
		}
		switch {
		case o.Refunded > sum || o.RefundCount > n:
			add(Doubled, "order %s has refunded %d fen in %d refunds; the client's refunds in the store come to %d fen in %d",
				p.OutTradeNo, o.Refunded, o.RefundCount, sum, n)
		case o.Refunded < sum || o.RefundCount < n:
			add(Wrong, "order %s has refunded %d fen in %d refunds; its refunds in the store come to %d fen in %d",
				p.OutTradeNo, o.Refunded, o.RefundCount, sum, n)
		}
		if s := spend[o.ConsumerID]; s != nil && paid {
			if o.Channel == pay.ChannelBalance {
				s.balance += o.Total - o.Refunded
			} else {
				s.credit += o.Total - o.Refunded
			}
		}
	}
	if wallets == nil {
		return out, nil
	}
	for _, st := range starts {
		c, err := wallets.Get(ctx, st.ID)
		if err != nil {
			return out, fmt.Errorf("chaos: read consumer %s: %w", st.ID, err)
		}
		s := spend[st.ID]
		if got, want := st.Balance-c.Balance, s.balance; got != want {
			kind := Doubled
			if got < want {
				kind = Wrong
			}
			add(kind, "consumer %s: balance down %d fen, its paid balance orders come to %d", st.ID, got, want)
		}
		if got, want := c.Credit.Used, s.credit; got != want {
			kind := Doubled
			if got < want {
				kind = Wrong
			}
			add(kind, "consumer %s: credit used %d fen, its paid credit orders come to %d", st.ID, got, want)
		}
	}
	return out, nil
}
