// Package chaos is fenfu's crash test: it drives payments and partial
// refunds against `fenfu serve` nodes, kills one with SIGKILL at a random
// moment, restarts it, and then holds the stores to what the client was
// told: every acknowledged payment and refund is there with its amount,
// nothing happened twice, nothing is left PAYING or PROCESSING once
// recovery has had its window, and the books prove. Calls whose outcome
// the client never learnt are resolved by retrying them with the same
// out_trade_no or out_refund_no, which must converge.
package chaos

import (
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
)

// Outcome is what the client learnt of one call.
type Outcome int

// Outcomes of a call.
const (
	NotSent Outcome = iota // not made, or the connection was refused: it did nothing
	Acked                  // the server answered 2xx: it happened
	Refused                // the server answered with a definite error: it did nothing
	Unknown                // the connection died or the server failed: it may have happened
)

func (o Outcome) String() string {
	return [...]string{"not sent", "acknowledged", "refused", "unknown"}[o]
}

// Payment is what the client did to one order: created it, paid it, and
// refunded parts of it, with what it was told of each.
type Payment struct {
	MchID      string
	OutTradeNo string
	ConsumerID string
	Channel    pay.Channel
	Total      fenfu.Fen
	Created    Outcome
	Paid       Outcome
	// AckTotal is the total the payment's acknowledgement named.
	AckTotal fenfu.Fen
	// AckedAt is when the client learnt the payment was made.
	AckedAt time.Time
	Refunds []*Refund

	merchant int    // index into the run's merchants
	consumer int    // index into the run's consumers
	token    string // the /q/<token> path of its code_url
	cycle    int    // the last cycle that touched it
	pooled   bool   // free in the pool for a worker to refund
}

// refunded is the amount of its acknowledged refunds.
func (p *Payment) refunded() fenfu.Fen {
	var n fenfu.Fen
	for _, r := range p.Refunds {
		if r.Outcome == Acked {
			n += r.Amount
		}
	}
	return n
}

// Refund is one partial refund the client asked for.
type Refund struct {
	OutRefundNo string
	Amount      fenfu.Fen
	Outcome     Outcome
	RefundID    string           // as acknowledged
	Status      pay.RefundStatus // as acknowledged: SUCCESS or PROCESSING
}
