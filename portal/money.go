package portal

import (
	"context"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/web"
)

// billsView is the bills page: the day its forms offer first.
type billsView struct {
	Yesterday string
}

// bills is the bills page; a download refused for what it asked shows it
// again (again).
func (p *Portal) bills(ctx context.Context, c *call) error {
	y := p.Clock.Now().In(fenfu.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
	return c.page("bills", "bills", billsView{Yesterday: y}, "")
}

// downloadBill answers a day's bill as a download: bill.Service.Get, the
// bytes the v3 bill download serves for the same request. ?kind=trade
// (bill_type ALL, SUCCESS or REFUND) or fundflow (account_type BASIC,
// OPERATION or FEES), &date=, &channel=CREDIT|ORDINARY|ALL, &gzip=1.
func (p *Portal) downloadBill(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	req := bill.Request{MchID: c.user.MchID, Date: q.Get("date"), Type: q.Get("type")}
	switch q.Get("kind") {
	case "trade":
		req.Kind = bill.Trade
		if req.Type == "" {
			req.Type = bill.All
		}
	case "fundflow":
		req.Kind = bill.FundFlow
		if req.Type == "" {
			req.Type = bill.Basic
		}
	default:
		return c.again(ctx, fenfu.FieldError("kind", "kind must be trade or fundflow"), p.bills)
	}
	var err error
	if req.Channel, err = bill.ParseChannel(q.Get("channel")); err != nil {
		return c.again(ctx, err, p.bills)
	}
	gz := q.Get("gzip") == "1"
	f, err := p.Bills.Get(ctx, req, gz)
	if err != nil {
		return c.again(ctx, err, p.bills)
	}
	c.done = map[string]any{"sha1": f.SHA1}
	name := req.Kind + "bill_" + c.user.MchID + "_" + req.Date + "_" + req.Type
	if req.Channel != "" {
		name += "_" + pay.Channel(req.Channel).Name()
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	name += ".csv"
	if gz {
		h.Set("Content-Type", "application/gzip")
		name += ".gz"
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(f.Data)
	return nil
}

// settlementsView is the settlement list.
type settlementsView struct {
	Q           url.Values
	Settlements []settle.Settlement
	Next, CSV   string
}

// settleFilter reads the settlement list's filter: the user's merchant's
// settlements only.
func (c *call) settleFilter(q url.Values) (settle.Filter, error) {
	f := settle.Filter{MchID: c.user.MchID}
	from, to, err := web.Dates(q)
	if err != nil {
		return f, err
	}
	if !from.IsZero() {
		f.From = from.Format(time.DateOnly)
	}
	if !to.IsZero() {
		f.To = to.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	if s := q.Get("channel"); s != "" {
		ch, err := pay.ParseChannel(s)
		if err != nil {
			return f, err
		}
		f.Channel = string(ch)
	}
	switch s := q.Get("state"); s {
	case "", settle.Pending, settle.Settled:
		f.State = s
	default:
		return f, fenfu.FieldError("state", "state must be PENDING or SETTLED")
	}
	return f, nil
}

func (p *Portal) settlements(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	v := settlementsView{Q: q, CSV: "/portal/settlements.csv?" + without(q)}
	f, err := c.settleFilter(q)
	if err != nil {
		return c.again(ctx, err, c.only("settlements", "settlements", v))
	}
	list, next, err := p.Settle.ListPage(ctx, f, fenfu.Keyset{After: q.Get("after"), Limit: settle.DefaultPage})
	if err != nil {
		return c.again(ctx, err, c.only("settlements", "settlements", v))
	}
	v.Settlements = list
	if next != "" {
		v.Next = nextPage("/portal/settlements", q, next)
	}
	return c.page("settlements", "settlements", v, "")
}

// settlementsCSV answers every settlement the filter selects as CSV, a
// page at a time.
func (p *Portal) settlementsCSV(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	f, err := c.settleFilter(q)
	if err != nil {
		return c.again(ctx, err, p.settlements)
	}
	page := fenfu.Keyset{After: q.Get("after"), Limit: settle.MaxPage}
	list, next, err := p.Settle.ListPage(ctx, f, page)
	if err != nil {
		return c.again(ctx, err, p.settlements)
	}
	out, err := web.StartCSV(c.w, "settlements-"+c.user.MchID+"-"+p.Clock.Now().In(fenfu.Shanghai).Format("20060102-150405")+".csv",
		[]string{"settlement_id", "settle_date", "channel", "payments", "payment_amount", "payment_fees", "installment_fees",
			"refunds", "refund_amount", "refund_fees", "refund_installment_fees", "net", "state", "settled_at"})
	if err != nil {
		return nil
	}
	for {
		for _, x := range list {
			settled := ""
			if !x.SettledAt.IsZero() {
				settled = stamp(x.SettledAt)
			}
			if err := out.Row(x.ID, x.Date, x.Channel, strconv.Itoa(x.Payments), fenfu.Yuan(x.PaymentAmount), fenfu.Yuan(x.PaymentFees),
				fenfu.Yuan(x.PlanFees), strconv.Itoa(x.Refunds), fenfu.Yuan(x.RefundAmount), fenfu.Yuan(x.RefundFees),
				fenfu.Yuan(x.RefundPlanFees), fenfu.Yuan(x.Net), x.State, settled); err != nil {
				return nil
			}
		}
		if next == "" {
			break
		}
		page.After = next
		if list, next, err = p.Settle.ListPage(ctx, f, page); err != nil {
			p.Log.Error("portal settlements CSV cut short", "merchant", c.user.MchID, "error", err)
			break
		}
	}
	_ = out.Flush()
	return nil
}

// feesView is a month's fee statement and the months around it.
type feesView struct {
	Statement   settle.FeeStatement
	Prev, Next  string
	ThisMonth   string
	IsThisMonth bool
}

func (p *Portal) fees(ctx context.Context, c *call) error {
	now := p.Clock.Now().In(fenfu.Shanghai)
	month := strings.TrimSpace(c.r.URL.Query().Get("month"))
	if month == "" {
		month = now.Format("2006-01")
	}
	st, err := p.Settle.FeeStatement(ctx, c.user.MchID, month)
	if err != nil {
		return c.again(ctx, err, c.only("fees", "fees", feesView{Statement: settle.FeeStatement{Month: month},
			Prev: now.AddDate(0, -1, 0).Format("2006-01"), ThisMonth: now.Format("2006-01"), IsThisMonth: true}))
	}
	first, _ := time.ParseInLocation("2006-01", month, fenfu.Shanghai)
	v := feesView{Statement: st, Prev: first.AddDate(0, -1, 0).Format("2006-01"), Next: first.AddDate(0, 1, 0).Format("2006-01"),
		ThisMonth: now.Format("2006-01")}
	v.IsThisMonth = month >= v.ThisMonth
	return c.page("fees", "fees", v, "")
}
