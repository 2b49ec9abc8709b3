package admin

import (
	"context"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/retention"
)

// Legal holds: staff place a hold on a merchant, a consumer or an order,
// which keeps it and everything under it from the retention job until
// they release it; both acts are recorded under the staff member. The
// routes are in Routes.

func (a *API) placeHold(ctx context.Context, c *call) (any, error) {
	var in retention.NewHold
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	return a.Retention.Place(ctx, in, c.Staff)
}

// legalHolds lists the holds in force; ?all=true lists released ones too.
func (a *API) legalHolds(ctx context.Context, c *call) (any, error) {
	all := c.URL.Query().Get("all")
	if all != "" && all != "true" && all != "false" {
		return nil, fenfu.FieldError("all", "all must be true or false")
	}
	list, err := a.Retention.Holds(ctx, all == "true")
	if err != nil {
		return nil, err
	}
	return map[string]any{"holds": list}, nil
}

func (a *API) releaseHold(ctx context.Context, c *call) (any, error) {
	return a.Retention.Release(ctx, c.PathValue("id"), c.Staff)
}
