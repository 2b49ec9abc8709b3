package admin

import (
	"context"

	"github.com/fenfu/fenfu"
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
