package portal

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/web"
)

// ordersView is the order list: the filter as the form shows it, a page
// of orders, and the links to the next page and to the CSV.
type ordersView struct {
	Q      url.Values
	States []pay.State
	Orders []pay.Order
	Next   string
	CSV    string
}

// text reads a search field: trimmed, one line of text, at most 64
// characters (the protocol's longest order number).
func text(q url.Values, field string) (string, error) {
	v := strings.TrimSpace(q.Get(field))
	if err := fenfu.Text(field, v); err != nil {
		return "", err
	}
	if len(v) > 64 {
		return "", fenfu.FieldError(field, "%s is at most 64 characters", field)
	}
	return v, nil
}

// orderFilter reads the order list's filter from the query: the user's
// merchant's orders only, whatever the query says.
func (c *call) orderFilter(q url.Values) (pay.OrderFilter, error) {
	f := pay.OrderFilter{MchID: c.user.MchID}
	var err error
	if f.OutTradeNo, err = text(q, "out_trade_no"); err != nil {
		return f, err
	}
	if f.TransactionID, err = text(q, "transaction_id"); err != nil {
		return f, err
	}
	if f.From, f.To, err = web.Dates(q); err != nil {
		return f, err
	}
	if s := q.Get("state"); s != "" {
		if f.State, err = pay.ParseTradeState(s); err != nil {
			return f, err
		}
	}
	if s := q.Get("channel"); s != "" {
		if f.Channel, err = pay.ParseChannel(s); err != nil {
			return f, err
		}
	}
	return f, nil
}

// nextPage is the address of the page after one that ended at cursor:
// the list's query with after set.
func nextPage(path string, q url.Values, cursor string) string {
	n := url.Values{}
	for k, v := range q {
		n[k] = v
	}
	n.Set("after", cursor)
	n.Del("lang")
	return path + "?" + n.Encode()
}

// without is the query without after and lang: the list from its first
// page, or its CSV.
func without(q url.Values) string {
	n := url.Values{}
	for k, v := range q {
		if k != "after" && k != "lang" {
			n[k] = v
		}
	}
	return n.Encode()
}

func (p *Portal) orders(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	v := ordersView{Q: q, States: pay.TradeStates, CSV: "/portal/orders.csv?" + without(q)}
	f, err := c.orderFilter(q)
	if err != nil {
		return c.again(ctx, err, c.only("orders", "orders", v))
	}
	list, next, err := p.Pay.Orders(ctx, f, fenfu.Keyset{After: q.Get("after"), Limit: pay.DefaultOrderPage})
	if err != nil {
		return c.again(ctx, err, c.only("orders", "orders", v))
	}
	v.Orders = list
	if next != "" {
		v.Next = nextPage("/portal/orders", q, next)
	}
	return c.page("orders", "orders", v, "")
}

// ordersCSV answers every order the filter selects as CSV, read a page at
// a time by keyset, so an export of millions of orders holds one page in
// memory.
func (p *Portal) ordersCSV(ctx context.Context, c *call) error {
	q := c.r.URL.Query()
	f, err := c.orderFilter(q)
	if err != nil {
		return c.again(ctx, err, p.orders)
	}
	page := fenfu.Keyset{After: q.Get("after"), Limit: pay.MaxOrderPage}
	list, next, err := p.Pay.Orders(ctx, f, page) // an error is answered as a page before the download starts
	if err != nil {
		return c.again(ctx, err, p.orders)
	}
	out, err := web.StartCSV(c.w, "orders-"+c.user.MchID+"-"+p.Clock.Now().In(fenfu.Shanghai).Format("20060102-150405")+".csv",
		[]string{"transaction_id", "out_trade_no", "created_at", "trade_state", "channel", "total", "refunded", "fee", "paid_at", "description"})
	if err != nil {
		return nil
	}
	for {
		for _, o := range list {
			paid := ""
			if !o.PaidAt.IsZero() {
				paid = stamp(o.PaidAt)
			}
			if err := out.Row(o.ID, o.OutTradeNo, stamp(o.CreatedAt), string(o.TradeState()), channelName(o.Channel), fenfu.Yuan(o.Total),
				fenfu.Yuan(o.Refunded), fenfu.Yuan(o.Fee.Fee), paid, o.Description); err != nil {
				return nil // the browser has gone
			}
		}
		if next == "" {
			break
		}
		page.After = next
		if list, next, err = p.Pay.Orders(ctx, f, page); err != nil {
			p.Log.Error("portal orders CSV cut short", "merchant", c.user.MchID, "error", err)
			break
		}
	}
	_ = out.Flush()
	return nil
}

// channelName is a channel as lists and CSV name it: credit or ordinary,
// empty for an order not paid.
func channelName(ch pay.Channel) string {
	if ch == "" {
		return ""
	}
	return ch.Name()
}

// orderView is an order with its refunds, and the refund form.
type orderView struct {
	Order      pay.Order
	State      pay.State
	Channel    string
	Refunds    []pay.RefundRecord
	CanRefund  bool
	Refundable fenfu.Fen
	// RefundNo is the out_refund_no the form suggests: the same for the
	// same order and refund count, so the form sent twice refunds once.
	RefundNo string
}

func (p *Portal) order(ctx context.Context, c *call) error {
	o, err := p.Pay.QueryByID(ctx, c.user.MchID, c.r.PathValue("transaction_id"))
	if err != nil {
		return err
	}
	refunds, err := p.Pay.RefundsOf(ctx, o.ID)
	if err != nil {
		return err
	}
	v := orderView{Order: o, State: o.TradeState(), Channel: channelName(o.Channel), Refunds: refunds, Refundable: o.Total - o.Refunded,
		RefundNo: suggestRefundNo(o)}
	v.CanRefund = c.user.Can(merchantuser.Refund) && (o.State == pay.Success || o.State == pay.Refund) && o.ReversedAt.IsZero() && v.Refundable > 0 &&
		o.RefundCount < pay.MaxRefunds
	notice := ""
	if no := c.r.URL.Query().Get("refund"); no != "" {
		for _, r := range refunds {
			if r.OutRefundNo == no {
				notice = word(c.lang, "refund-issued") + r.OutRefundNo + " · ¥" + web.Money(r.Amount) + " · " + string(r.Status)
			}
		}
	}
	return c.page("order", "orders", v, notice)
}

// suggestRefundNo is the out_refund_no the refund form offers: the
// order's out_trade_no and the refund's number, within the protocol's 64
// characters.
func suggestRefundNo(o pay.Order) string {
	suffix := fmt.Sprintf("-R%d", o.RefundCount+1)
	no := o.OutTradeNo
	if len(no)+len(suffix) > 64 {
		no = no[:64-len(suffix)]
	}
	return no + suffix
}

// refund issues a refund from the order page's form through pay.Refund,
// the function the v3 refund route calls: the same checks, the same
// notification, and the same idempotency by out_refund_no. Its
// notification goes to the merchant's own notify_url, else to the
// order's, as the API's refund without one would be configured.
func (p *Portal) refund(ctx context.Context, c *call) error {
	o, err := p.Pay.QueryByID(ctx, c.user.MchID, c.r.PathValue("transaction_id"))
	if err != nil {
		return err
	}
	form := c.r.PostForm
	amount, err := fenfu.ParseYuan(strings.TrimSpace(form.Get("amount")))
	if err != nil {
		return c.again(ctx, fenfu.FieldError("amount", "the amount to refund is yuan, like 12.30"), p.order)
	}
	m, err := p.Merchants.Fresh(ctx, c.user.MchID)
	if err != nil {
		return err
	}
	notifyURL := m.NotifyURL
	if notifyURL == "" {
		notifyURL = o.NotifyURL
	}
	rec, err := p.Pay.Refund(ctx, pay.RefundRequest{MchID: c.user.MchID, TransactionID: o.ID, OutRefundNo: strings.TrimSpace(form.Get("out_refund_no")),
		Reason: strings.TrimSpace(form.Get("reason")), NotifyURL: notifyURL, Refund: amount, Total: o.Total})
	if err != nil {
		return c.again(ctx, err, p.order)
	}
	c.done = map[string]any{"refund_id": rec.ID, "out_refund_no": rec.OutRefundNo, "amount": rec.Amount}
	return c.redirect("/portal/orders/" + url.PathEscape(o.ID) + "?refund=" + url.QueryEscape(rec.OutRefundNo))
}
