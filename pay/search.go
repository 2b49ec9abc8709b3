package pay

import (
	"context"
	"fmt"
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
	// AfterAt and AfterID are where the previous page ended: its last
	// order's CreatedAt and ID. Zero for the first page.
	AfterAt time.Time
	AfterID string
	Limit   int // at most MaxOrderPage; 0 is DefaultOrderPage
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

// Orders returns a page of a merchant's orders, newest first (by when
// they were made), read by keyset from the index of the merchant's
// orders (core 0050), so a page deep in millions of orders costs what the
// first does.
func (s *Service) Orders(ctx context.Context, f OrderFilter) ([]Order, error) {
	if f.MchID == "" {
		return nil, fenfu.Errorf(fenfu.ParamError, "an order list needs its merchant")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultOrderPage
	}
	limit = min(limit, MaxOrderPage)
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
			return nil, err
		}
		cond, vals := stateWhere(f.State)
		add(cond, vals...)
	}
	if f.Channel != "" {
		add("channel = $?", string(f.Channel))
	}
	if f.AfterID != "" {
		cond, vals := db.After([]string{"created_at", "id"}, []any{db.Micros(f.AfterAt), f.AfterID}, len(args))
		where, args = append(where, cond), append(args, vals...)
	}
	rows, err := s.Core.QueryContext(ctx, `SELECT `+orderCols+` FROM orders WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fenfu.Internal("pay.Orders", err)
	}
	defer rows.Close()
	out := []Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fenfu.Internal("pay.Orders", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fenfu.Internal("pay.Orders", err)
	}
	return out, nil
}
