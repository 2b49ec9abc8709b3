package admin

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
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

// settlements lists settlements, the newest business day first:
// ?mchid= &from= &to= (YYYY-MM-DD, inclusive) &state=PENDING|SETTLED
// &negative=true (those below zero) &after= (the next cursor of the page
// before) &limit= (1 to 500, default 50).
func (a *API) settlements(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	state := q.Get("state")
	if state != "" && state != settle.Pending && state != settle.Settled {
		return nil, fenfu.FieldError("state", "state must be PENDING or SETTLED")
	}
	neg := q.Get("negative")
	if neg != "" && neg != "true" && neg != "false" {
		return nil, fenfu.FieldError("negative", "negative must be true or false")
	}
	p, err := page(q)
	if err != nil {
		return nil, err
	}
	list, next, err := a.Settle.ListPage(ctx, settle.Filter{MchID: q.Get("mchid"), From: q.Get("from"), To: q.Get("to"), State: state,
		Negative: neg == "true"}, p)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []settle.Settlement{}
	}
	return map[string]any{"data": list, "total_count": len(list), "next": next}, nil
}

// checkSettlement reconciles a settlement with the BASIC fund-flow bills
// of the days its payments and refunds were billed on: the gap is zero
// when they agree to the fen.
func (a *API) checkSettlement(ctx context.Context, c *call) (any, error) {
	if a.Bills == nil {
		return nil, fenfu.Errorf(fenfu.ResourceNotExists, "this server keeps no bills")
	}
	list, err := a.Settle.List(ctx, settle.Filter{ID: c.PathValue("id")})
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fenfu.Errorf(fenfu.ResourceNotExists, "settlement %s does not exist", c.PathValue("id"))
	}
	return a.Bills.CheckSettlement(ctx, list[0])
}

// runSettlement starts (or resumes) a day's batches now, {"date":
// "YYYY-MM-DD"}, and answers at once with the batches' status; a large day
// outlasts an HTTP request, so it runs on in the background and
// GET /admin/settlements/batches?date= follows it.
func (a *API) runSettlement(ctx context.Context, c *call) (any, error) {
	var in struct {
		Date string `json:"date"`
	}
	if err := decode(c, &in); err != nil {
		return nil, err
	}
	cutoff, err := settle.Day(in.Date)
	if err != nil {
		return nil, err
	}
	if a.Clock.Now().Before(cutoff) {
		return nil, fenfu.Errorf(fenfu.InvalidRequest, "business day %s has not ended yet (Asia/Shanghai)", in.Date)
	}
	a.Log.Info("settlement run by staff", "date", in.Date, "staff", c.Staff)
	done := make(chan error, 1)
	a.Background(func(ctx context.Context) {
		_, err := a.Settle.Run(ctx, in.Date)
		if err != nil && fenfu.ErrorCode(err) != fenfu.BatchRunning && ctx.Err() == nil {
			a.Log.Error("settlement run by staff failed; run it again to resume", "date", in.Date, "error", err)
		}
		done <- err
	})
	// A small day is done before the answer; a large one is followed.
	select {
	case err := <-done:
		if err != nil {
			return nil, err
		}
	case <-time.After(2 * time.Second):
	}
	return a.batches(ctx, in.Date)
}

func (a *API) batches(ctx context.Context, date string) (any, error) {
	list, err := a.Settle.Batches(ctx, date)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []settle.BatchStatus{}
	}
	return map[string]any{"date": date, "batches": list}, nil
}

// batchStatus answers GET /admin/settlements/batches?date=: each channel's
// batch of the day, its state and how many merchants it has done.
func (a *API) batchStatus(ctx context.Context, c *call) (any, error) {
	date := c.URL.Query().Get("date")
	if _, err := settle.Day(date); err != nil {
		return nil, err
	}
	return a.batches(ctx, date)
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
	d := a.Settle.HoldLength()
	if in.Hours > 0 {
		d = time.Duration(in.Hours) * time.Hour
	}
	until := a.Clock.Now().Add(d)
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
// first, each with whether it is past its 24-hour SLA; with ?mchid=, a
// page of the merchant's requests of every status, newest first
// (?after= &limit=, up to settle.MaxExceptionPage), and the next page's
// cursor.
func (a *API) exceptions(ctx context.Context, c *call) (any, error) {
	q := c.URL.Query()
	if mchid := q.Get("mchid"); mchid != "" {
		p, err := page(q)
		if err != nil {
			return nil, err
		}
		list, next, err := a.Settle.ExceptionsPage(ctx, mchid, p)
		if err != nil {
			return nil, err
		}
		return map[string]any{"data": list, "next": next}, nil
	}
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
	return a.Settle.ResolveExceptionAs(ctx, ticket.Staff(c.Who.Name), c.PathValue("id"), in.Status, in.Resolution+" — "+c.Staff)
}
