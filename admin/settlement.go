package admin

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/settle"
)

// discount sets a merchant's credit-pay discount: {"discount_ppm": 1000,
// "until": RFC 3339 or absent}.
func (a *API) discount(ctx context.Context, c *call) (any, error) {
	var in struct {
		Discount *int64 `json:"discount_ppm"`
		Until    string `json:"until"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	if in.Discount == nil {
		return nil, fenfu.FieldError("discount_ppm", "discount_ppm is required: parts per million off the combined rate (1000 = 0.10%%)")
	}
	var until time.Time
	if in.Until != "" {
		t, err := time.Parse(time.RFC3339, in.Until)
		if err != nil {
			return nil, fenfu.FieldError("until", "until must be RFC 3339")
		}
		until = t
	}
	if err := a.Merchants.SetDiscount(ctx, c.PathValue("mchid"), fee.PPM(*in.Discount), until); err != nil {
		return nil, err
	}
	a.Log.Info("fee discount set", "mchid", c.PathValue("mchid"), "discount_ppm", *in.Discount, "until", in.Until, "staff", c.Staff)
	return map[string]any{"mchid": c.PathValue("mchid"), "discount_ppm": *in.Discount, "until": in.Until}, nil
}

// settlements lists settlements: ?mchid=&from=&to=&state=.
func (a *API) settlements(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	for _, name := range []string{"from", "to"} {
		if v := q.Get(name); v != "" {
			if _, err := settle.Day(v); err != nil {
				return nil, fenfu.FieldError(name, "%s must be a date, YYYY-MM-DD", name)
			}
		}
	}
	state := q.Get("state")
	if state != "" && state != settle.Pending && state != settle.Settled {
		return nil, fenfu.FieldError("state", "state must be PENDING or SETTLED")
	}
	list, err := a.Settle.List(ctx, settle.Filter{MchID: q.Get("mchid"), From: q.Get("from"), To: q.Get("to"), State: state})
	if err != nil {
		return nil, err
	}
	return map[string]any{"data": list, "total_count": len(list)}, nil
}

// runSettlement runs (or resumes) a day's batches now: {"date": "YYYY-MM-DD"}.
func (a *API) runSettlement(ctx context.Context, c *call) (any, error) {
	var in struct {
		Date string `json:"date"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	a.Log.Info("settlement run by staff", "date", in.Date, "staff", c.Staff)
	return a.Settle.Run(ctx, in.Date)
}

// hold holds a paid order out of settlement: {"hours": 48, "reason": "…"}.
func (a *API) hold(ctx context.Context, c *call) (any, error) {
	var in struct {
		Hours  int    `json:"hours"`
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	d := settle.DefaultHold
	if in.Hours > 0 {
		d = time.Duration(in.Hours) * time.Hour
	}
	until := time.Now().Add(d)
	if err := a.Settle.Hold(ctx, c.PathValue("id"), until, in.Reason+" ("+c.Staff+")"); err != nil {
		return nil, err
	}
	return map[string]any{"transaction_id": c.PathValue("id"), "hold_until": until.Format(time.RFC3339)}, nil
}

func (a *API) release(ctx context.Context, c *call) (any, error) {
	if err := a.Settle.Release(ctx, c.PathValue("id")); err != nil {
		return nil, err
	}
	a.Log.Info("hold released", "transaction_id", c.PathValue("id"), "staff", c.Staff)
	return map[string]any{"transaction_id": c.PathValue("id"), "released": true}, nil
}

// exceptions lists open settlement exception requests, the most urgent
// first, each with whether it is past its 24-hour SLA.
func (a *API) exceptions(ctx context.Context, c *call) (any, error) {
	list, err := a.Settle.Exceptions(ctx, "")
	if err != nil {
		return nil, err
	}
	overdue := 0
	for _, x := range list {
		if x.Overdue {
			overdue++
		}
	}
	return map[string]any{"data": list, "open": len(list), "overdue": overdue}, nil
}

func (a *API) exception(ctx context.Context, c *call) (any, error) {
	return a.Settle.Exception(ctx, "", c.PathValue("id"))
}

// resolveException answers a request: {"status": "RESOLVED"|"REJECTED",
// "resolution": "…"}.
func (a *API) resolveException(ctx context.Context, c *call) (any, error) {
	var in struct {
		Status     string `json:"status"`
		Resolution string `json:"resolution"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	return a.Settle.ResolveException(ctx, c.PathValue("id"), in.Status, in.Resolution+" — "+c.Staff)
}
