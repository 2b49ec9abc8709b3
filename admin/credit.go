package admin

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/repay"
)

// repayment records a funding partner's transfer that repays a consumer's
// plans: {partner, amount (fen), idempotency_key}. The same key again
// answers the first repayment.
func (a *API) repayment(ctx context.Context, c *call) (any, error) {
	var req struct {
		Partner string    `json:"partner"`
		Amount  fenfu.Fen `json:"amount"`
		Key     string    `json:"idempotency_key"`
	}
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	if req.Key == "" {
		req.Key = c.Header.Get("Idempotency-Key")
	}
	return a.Repay.FromPartner(ctx, c.PathValue("id"), req.Partner, req.Key, req.Amount)
}

// creditAccount answers a consumer's credit account: line, what is owed,
// plans and recent repayments.
func (a *API) creditAccount(ctx context.Context, c *call) (any, error) {
	return a.Repay.AccountOf(ctx, c.PathValue("id"))
}

// statement answers a consumer's statement of a month, YYYY-MM.
func (a *API) statement(ctx context.Context, c *call) (any, error) {
	return a.Repay.Statement(ctx, c.PathValue("id"), c.PathValue("month"))
}

// changeLine changes a consumer's credit line: {credit_limit (fen),
// rating, frozen, reason}; fields left out stay as they are. The change is
// recorded under the staff member with its reason.
func (a *API) changeLine(ctx context.Context, c *call) (any, error) {
	var req repay.LineRequest
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	return a.Repay.ChangeLine(ctx, c.PathValue("id"), c.Staff, req)
}

// lineChanges answers the recorded changes of a consumer's line, newest
// first.
func (a *API) lineChanges(ctx context.Context, c *call) (any, error) {
	ch, err := a.Repay.LineChanges(ctx, c.PathValue("id"))
	return map[string]any{"changes": ch}, err
}

// runOverdue runs the overdue job now for {date} (YYYY-MM-DD, default
// today), as serve does on its own.
func (a *API) runOverdue(ctx context.Context, c *call) (any, error) {
	var req struct {
		Date string `json:"date"`
	}
	if err := decode(c, &req); err != nil {
		return nil, err
	}
	return a.Repay.Overdue(ctx, req.Date)
}

// consumerLookup finds a consumer by ?phone= (an 11-digit mobile number)
// or ?id=, with their balance and credit line; the phone is masked
// unless the policy shows the member personal data.
func (a *API) consumerLookup(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	var (
		found consumer.Consumer
		err   error
	)
	switch {
	case q.Get("phone") != "":
		found, err = a.Consumers.ByPhone(ctx, q.Get("phone"))
	case q.Get("id") != "":
		found, err = a.Consumers.Get(ctx, q.Get("id"))
	default:
		return nil, fenfu.FieldError("phone", "look a consumer up by ?phone= or ?id=")
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"consumer": found}, nil
}
