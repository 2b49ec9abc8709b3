package pay

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// OrderFilter selects a merchant's orders for a list, newest first; empty
// fields select all.
type OrderFilter struct {
	MchID                     string // required
	OutTradeNo, TransactionID string
	From, To                  time.Time // created in [From, To)
	// State is a trade state, as the protocol reads it (TradeState):
	// NOTPAY (with an order being paid), USERPAYING, SUCCESS, REFUND,
	// CLOSED, REVOKED or PAYERROR.
	State   State
	Channel Channel
}

// Page sizes of Orders.
const (
	DefaultOrderPage = 50
	MaxOrderPage     = 500
)

// TradeStates are the states an order list filters by.
var TradeStates = []State{NotPay, UserPaying, Success, Refund, Closed, Revoked, PayError}

// ParseTradeState checks a trade state a list is filtered by.
func ParseTradeState(s string) (State, error) {
	for _, st := range TradeStates {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fenfu.FieldError("state", "state must be one of NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED, REVOKED, PAYERROR")
}

// stateWhere is the condition of the orders whose trade state is st, as
// TradeState derives it from the stored state.
func stateWhere(st State) (string, []any) {
	n, p, ok, rf, rv := string(NotPay), string(Paying), string(Success), string(Refund), string(Revoked)
	switch st {
	case NotPay:
		return `((state = $? AND NOT (trade_type = $? AND consumer_id <> '')) OR (state = $? AND trade_type <> $?))`,
			[]any{n, Micropay, p, Micropay}
	case UserPaying:
		return `((state = $? AND trade_type = $? AND consumer_id <> '') OR (state = $? AND trade_type = $?))`,
			[]any{n, Micropay, p, Micropay}
	case Success, Refund:
		return `state = $? AND reversed_at = 0`, []any{string(st)}
	case Revoked:
		return `(state = $? OR (state IN ($?, $?) AND reversed_at > 0))`, []any{rv, ok, rf}
	}
	return `state = $?`, []any{string(st)}
}

// Orders returns the page p of a merchant's orders f selects, newest
// first (by when they were made), and the cursor of the next page (""
// after the last). The page is a range of the index of the merchant's
// orders (core 0050) or of all orders by time (core 0046), so a page deep
// in millions of orders costs what the first does.
func (s *Service) Orders(ctx context.Context, f OrderFilter, p fenfu.Keyset) ([]Order, string, error) {
	if f.MchID == "" {
		return nil, "", fenfu.Errorf(fenfu.ParamError, "an order list needs its merchant")
	}
	key, err := p.Key(2)
	if err != nil {
		return nil, "", err
	}
	where := []string{"mchid = $1"}
	args := []any{f.MchID}
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "$?", fmt.Sprintf("$%d", len(args)), 1)
		}
		where = append(where, cond)
	}
	if f.OutTradeNo != "" {
		add("out_trade_no = $?", f.OutTradeNo)
	}
	if f.TransactionID != "" {
		add("id = $?", f.TransactionID)
	}
	if !f.From.IsZero() {
		add("created_at >= $?", db.Micros(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < $?", db.Micros(f.To))
	}
	if f.State != "" {
		if _, err := ParseTradeState(string(f.State)); err != nil {
			return nil, "", err
		}
		cond, vals := stateWhere(f.State)
		add(cond, vals...)
	}
	if f.Channel != "" {
		add("channel = $?", string(f.Channel))
	}
	if key != nil {
		at, err := p.Int(key[0])
		if err != nil {
			return nil, "", err
		}
		// The bound on the index's time, then the order after the cursor's:
		// a range of the index however deep the page (see fenfu.Keyset).
		add("created_at <= $? AND (created_at, id) < ($?, $?)", at, at, key[1])
	}
	limit := p.Size(DefaultOrderPage, MaxOrderPage)
	out, err := db.All(ctx, s.Core, scanOrder, `SELECT `+orderCols+` FROM orders WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, limit+1), args...)
	if err != nil {
		return nil, "", fenfu.Internal("pay.Orders", err)
	}
	out, next := fenfu.NextPage(out, limit, func(o Order) []string { return []string{strconv.FormatInt(db.Micros(o.CreatedAt), 10), o.ID} })
	return out, next, nil
}
