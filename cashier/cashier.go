// Package cashier serves what a consumer sees after scanning a fenfu QR
// code: the cashier page with the merchant, amount and description and the
// credit and balance options, the phone-and-PIN login, the payment itself,
// the same as JSON for programs, and the code drawn in the credit-pay
// style with its per-minute mark, as PNG or SVG. Browsers and the
// `fenfu sandbox pay` command (a sandbox merchant's orders only) pay
// through the same Pay method.
// Logged in, a consumer also has pages of its own: the credit account and
// statements, its complaints, and the payment code (付款码) it shows a
// merchant's till.
package cashier

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/mask"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/web"
)

//go:embed templates/*.html
var templates embed.FS

// sessionForm is a login or logout form: the page to come back to, and
// its label.
type sessionForm struct{ Next, Label string }

// stamp is a time a page shows, to the minute, Asia/Shanghai: s is
// RFC 3339, or a Shanghai date and time.
func stamp(s string) string {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return minute(t)
	}
	if t, err := time.ParseInLocation(time.DateTime, s, fenfu.Shanghai); err == nil {
		return minute(t)
	}
	return s
}

// minute is a time as the pages print it: to the minute, in Shanghai.
func minute(t time.Time) string { return t.In(fenfu.Shanghai).Format("2006-01-02 15:04") }

// SessionTTL is how long a cashier login lasts.
const SessionTTL = 30 * time.Minute

// sessionCookie carries a consumer's session on every cashier page.
var sessionCookie = web.Session{Name: "fenfu_session", Path: "/"}

// Cashier serves the consumer pages.
type Cashier struct {
	Orders    *pay.Service
	Consumers *consumer.Service
	Merchants *merchant.Service
	Clock     fenfu.Clock
	Log       *slog.Logger
	// CodeURL returns the URL a QR code carries for a token.
	CodeURL func(token string) string
	// Complaints, if set, lets consumers file and follow complaints.
	Complaints *complaint.Service
	// Tickets, if set, lets consumers open and follow support tickets.
	Tickets *ticket.Service
	// Repay, if set, serves the consumer's credit account, repayments and
	// statements.
	Repay *repay.Service
	// Paycodes, if set, serves the consumer's payment code page.
	Paycodes *paycode.Service
	// Aggregate, if set, serves merchants' aggregate codes (聚合码):
	// the amount page, which makes an order and sends the consumer on to
	// it. AggregatePerMinute is how many orders a consumer may start so
	// in a minute, on each node (0: no limit).
	Aggregate          *aggregate.Service
	AggregatePerMinute int
	aggregateLimit     consumerLimit
	// Pictures draws orders' codes.
	Pictures Pictures
	// Display decides which channels the page shows; New makes one over
	// the order service's store, serve gives the node's shared one.
	Display *display.Service
	// PINFreeBelow is the amount below which a logged-in consumer pays
	// without entering the PIN; 0 asks for it on every payment.
	PINFreeBelow fenfu.Fen
	// PublicURL, if set, is the base URL consumers reach the cashier at
	// (behind a reverse proxy, another host than the one fenfu sees):
	// forms posted from its origin are the cashier's own.
	PublicURL func() string
}

// Pictures are how the cashier draws a code: the marks it prints, the
// style, and the sizes for a screen and for print.
type Pictures struct {
	Marks         *qr.Marker
	Style         qr.Style
	Screen, Print qr.Size
}

// New returns a Cashier whose session cookies are signed with a key
// derived from secret. A cookie names a session the consumer service keeps
// in the store; the signature only spares the store forged cookies.
func New(p *pay.Service, cs *consumer.Service, ms *merchant.Service, clock fenfu.Clock, log *slog.Logger, codeURL func(string) string) *Cashier {
	return &Cashier{Orders: p, Consumers: cs, Merchants: ms, Clock: clock, Log: log, CodeURL: codeURL, Display: display.New(p, nil, clock)}
}

// Register adds the cashier routes to mux.
func (c *Cashier) Register(mux route.Mux) {
	mux.HandleFunc("GET /q/{token}", c.handleShow)
	mux.HandleFunc("POST /q/{token}/pay", c.handlePay)
	mux.HandleFunc("POST /cashier/login", c.handleLogin)
	mux.HandleFunc("POST /cashier/logout", c.handleLogout)
	mux.HandleFunc("GET "+servicePath, c.handleServiceShow)
	mux.HandleFunc("POST "+servicePath+"/confirm", c.handleServiceConfirm)
	mux.HandleFunc("GET /cashier/paycode/orders/{transaction_id}", c.handleConfirmShow)
	mux.HandleFunc("POST /cashier/paycode/orders/{transaction_id}/confirm", c.handleConfirm)
	if c.Complaints != nil {
		c.registerComplaints(mux)
	}
	if c.Repay != nil {
		mux.HandleFunc("GET /cashier/credit", c.handleAccount)
		mux.HandleFunc("POST /cashier/credit/repay", c.handleRepay)
		mux.HandleFunc("GET /cashier/credit/statements/{month}", c.handleStatement)
	}
	if c.Paycodes != nil {
		c.registerPaycode(mux)
	}
	if c.Aggregate != nil {
		c.registerAggregate(mux)
	}
	if c.Tickets != nil {
		c.registerTickets(mux)
	}
	mux.HandleFunc("GET /favicon.ico", serveFavicon)
	// Any other cashier address is the cashier's 404 page.
	mux.HandleFunc("/q/", c.handleNotFound)
	mux.HandleFunc("/cashier/", c.handleNotFound)
}

// Pay pays the order behind token as the consumer, from the client. It is
// the one payment path of the cashier page, its JSON API and the sandbox
// CLI.
func (c *Cashier) Pay(ctx context.Context, token, consumerID string, channel pay.Channel, client pay.Client) (pay.Order, error) {
	return c.PayIn(ctx, token, consumerID, channel, client, 0)
}

// SandboxPay is Pay without the consumer's PIN, for `fenfu sandbox pay`:
// it pays only sandbox merchants' orders, and refuses a production
// merchant's with NO_AUTH, whose consumers pay on the cashier page with
// their PIN.
func (c *Cashier) SandboxPay(ctx context.Context, token, consumerID string, channel pay.Channel, client pay.Client) (pay.Order, error) {
	o, err := c.Orders.OrderForToken(ctx, token)
	if err != nil {
		return pay.Order{}, err
	}
	m, err := c.Merchants.Get(ctx, o.MchID)
	if err != nil {
		return pay.Order{}, err
	}
	if m.Env != "sandbox" {
		e := fenfu.Errorf(fenfu.NoAuth, "the order is production merchant %s's: a payment without the consumer's PIN is for sandbox merchants' orders only", o.MchID)
		e.Remedy = "Pay it on the cashier page (its code_url) with the consumer's phone and PIN, or test with an order of a sandbox merchant (fenfu sandbox merchant)."
		return pay.Order{}, e
	}
	return c.Pay(ctx, token, consumerID, channel, client)
}

// PayIn is Pay in installments: n of the counts the order offers, or in
// full for 0 or 1.
func (c *Cashier) PayIn(ctx context.Context, token, consumerID string, channel pay.Channel, client pay.Client, n int) (pay.Order, error) {
	o, err := c.Orders.PayIn(ctx, token, consumerID, channel, client, n)
	if err != nil {
		c.Log.Info("cashier payment failed", "consumer", consumerID, "channel", channel, "code", fenfu.ErrorCode(err), "error", err.Error())
	}
	return o, err
}

// View is what the cashier shows for an order.
type View struct {
	OrderState  string    `json:"trade_state"`
	Merchant    string    `json:"merchant"`
	MchID       string    `json:"mchid"`
	OutTradeNo  string    `json:"out_trade_no"`
	Description string    `json:"description"`
	Total       fenfu.Fen `json:"total"`
	Currency    string    `json:"currency"`
	ExpiresAt   string    `json:"expires_at"`
	Channels    []Channel `json:"channels"`
	// HiddenChannels are the channels the display rules hide, each with
	// why; apart from Channels, so a client listing Channels lists only
	// what can be chosen.
	HiddenChannels []HiddenChannel `json:"hidden_channels,omitempty"`
	// Installments are the ways to repay a credit payment: in full, and
	// each count the merchant offers, with the cost per period and total.
	Installments []pay.Choice `json:"installments,omitempty"`
	// CreditPreselected is the merchant's "pay with credit" box
	// (preselect_credit): the page opens on credit whenever it can.
	CreditPreselected bool `json:"credit_preselected,omitempty"`
	// Plan is, once the viewing consumer paid the order on credit, how it
	// repays it.
	Plan     *credit.Plan     `json:"plan,omitempty"`
	Consumer *consumerSummary `json:"consumer,omitempty"`
	PayURL   string           `json:"pay_url"`
	// PaidAt, PaidWith and Refunded are, once the order is paid, when
	// and on which channel (for its payer only), and how much of it was
	// refunded.
	PaidAt   string    `json:"paid_at,omitempty"`
	PaidWith string    `json:"paid_with,omitempty"`
	Refunded fenfu.Fen `json:"refunded,omitempty"`
	// Remaining is, for the consumer who paid the order, the credit or
	// balance (of the channel it paid on) left now.
	Remaining *fenfu.Fen `json:"-"`
	// PINFree is set when the order is below the amount a logged-in
	// consumer pays without entering the PIN.
	PINFree bool `json:"-"`
	// Expired is set for an order closed by its time running out.
	Expired bool     `json:"-"`
	Token   string   `json:"-"`
	Problem *problem `json:"-"`
	// Switch is the address of the language switch (see switchTo).
	Switch string `json:"-"`
	// Failed is the channel a payment just failed on, which the form does
	// not select again.
	Failed string `json:"-"`
	Paid   bool   `json:"-"`
	// CanComplain is set for the consumer who paid the order, who may
	// file a complaint about it.
	CanComplain bool `json:"can_complain,omitempty"`
	// Exposure is the id of this view's recorded exposure;
	// MarketExposure, the merchant's exposure whose market_exposure_token
	// opened the page.
	Exposure       string `json:"exposure_id,omitempty"`
	MarketExposure string `json:"market_exposure_id,omitempty"`
	orderID        string
}

// Channel is a payment option on the cashier.
type Channel struct {
	Name      string     `json:"name"` // credit or balance
	Label     string     `json:"label"`
	Available *fenfu.Fen `json:"available,omitempty"` // for a logged-in consumer
	Enough    *bool      `json:"enough,omitempty"`
	// Paused is, for the credit option of a logged-in consumer whose line
	// takes no credit payment now (frozen, or something overdue), why and
	// what to do: what the payment would answer.
	Paused *errorView `json:"paused,omitempty"`
	// Reason is why the display rules show the channel; Blocked, why it
	// is shown but cannot pay, with the next step; Rank, for credit, why
	// it is listed first or not (package display's codes).
	Reason  display.Reason  `json:"reason"`
	Blocked *display.Reason `json:"blocked,omitempty"`
	Rank    *display.Reason `json:"rank,omitempty"`
	First   bool            `json:"first,omitempty"`
	// Said is Paused, or Blocked, as the page says it, in its language.
	Said *catalog.Said `json:"-"`
}

// HiddenChannel is a channel the display rules hide, and why (package
// display's codes, as the exposure recorded for the view).
type HiddenChannel struct {
	Name   string         `json:"name"`
	Reason display.Reason `json:"reason"`
}

// labels are the channels' names on the page.
var labels = map[string]string{string(pay.ChannelCredit): "分付 · pay later on credit", string(pay.ChannelBalance): "零钱 · balance"}

// pausedError is what a credit payment of the consumer would answer while
// its line is paused: the refusal the display decision read (the overdue
// amounts are read once a view), else the line's state's.
func pausedError(ch display.Channel, cons *consumer.Consumer) error {
	if ch.Paused != nil {
		return ch.Paused
	}
	return credit.Paused(cons.Credit.State, credit.Overdue{})
}

type consumerSummary struct {
	ID    string `json:"id"`
	Phone string `json:"phone"`
}

func (c *Cashier) view(ctx context.Context, token, consumerID string) (View, error) {
	o, err := c.Orders.OrderForToken(ctx, token)
	if err != nil {
		return View{}, err
	}
	return c.viewOf(ctx, o, token, consumerID)
}

// expiredView is the view of the order behind a token that expired, which
// OrderForToken refuses: its merchant and amount stay on the page that
// says it expired. The token must still be genuine and name its order.
func (c *Cashier) expiredView(ctx context.Context, token, consumerID string) (View, error) {
	p, err := c.Orders.Tokens.Parse(token, c.Clock.Now())
	if fenfu.ErrorCode(err) != fenfu.OrderClosed || p.OrderID == "" {
		return View{}, fenfu.Errorf(fenfu.ParamError, "not an expired payment code")
	}
	o, err := c.Orders.Get(ctx, p.OrderID)
	if err != nil {
		return View{}, err
	}
	if o.MchID != p.MchID || o.Total != p.Total {
		return View{}, fenfu.Errorf(fenfu.ParamError, "the payment code does not match its order")
	}
	v, err := c.viewOf(ctx, o, token, consumerID)
	if !v.Paid {
		v.Expired, v.ExpiresAt = true, p.Expires.In(fenfu.Shanghai).Format(time.RFC3339)
	}
	return v, err
}

// viewOf is the view of order o, reached by token.
func (c *Cashier) viewOf(ctx context.Context, o pay.Order, token, consumerID string) (View, error) {
	m, err := c.Merchants.Get(ctx, o.MchID)
	if err != nil {
		return View{}, err
	}
	v := View{OrderState: string(o.TradeState()), Merchant: m.Name, MchID: o.MchID, OutTradeNo: o.OutTradeNo,
		Description: o.Description, Total: o.Total, Currency: o.Currency,
		ExpiresAt: o.ExpiresAt.In(fenfu.Shanghai).Format(time.RFC3339), PayURL: "/q/" + token + "/pay", Token: token,
		Paid: o.State == pay.Success || o.State == pay.Refund, CreditPreselected: o.PreselectCredit, orderID: o.ID,
		PINFree: o.Total < c.PINFreeBelow, Expired: (o.State == pay.NotPay || o.State == pay.Closed) && !o.ExpiresAt.After(c.Clock.Now())}
	if v.Paid {
		// Anyone with the code learns that it is paid (or refunded); only
		// its payer learns when, and whether it borrowed for it.
		v.Refunded = o.Refunded
		if consumerID != "" && consumerID == o.ConsumerID {
			v.PaidAt, v.PaidWith = o.PaidAt.In(fenfu.Shanghai).Format(time.RFC3339), string(o.Channel)
		}
	}
	if v.Paid && o.Channel == pay.ChannelCredit && consumerID != "" && consumerID == o.ConsumerID && c.Repay != nil {
		if p, ok, err := c.Repay.PlanOf(ctx, o.AttemptID); err != nil {
			return View{}, err
		} else if ok {
			v.Plan = &p
		}
	}
	var cons *consumer.Consumer
	if consumerID != "" {
		if x, err := c.Consumers.Get(ctx, consumerID); err == nil {
			cons = &x
			v.Consumer = &consumerSummary{ID: x.ID, Phone: mask.Phone(x.Phone)}
			v.CanComplain = v.Paid && o.ConsumerID == x.ID && c.Complaints != nil
			if v.Paid && o.ConsumerID == x.ID {
				left := x.Balance
				if o.Channel == pay.ChannelCredit {
					left = x.Credit.Available
				}
				v.Remaining = &left
			}
		}
	}
	// The display rules decide which channels are listed, in what order
	// and why; every view of an order still to pay is recorded as an
	// exposure, with the consumer's cohort for the gray release's A/B
	// report. A paid or closed order's page exposes nothing: what the
	// rules say after the payment (no longer the first of the day) is not
	// what converted.
	ask := display.Ask{Order: &o, Merchant: m, Consumer: cons, Surface: pay.SurfaceCashier}
	var d display.Decision
	if o.State == pay.NotPay && !v.Expired {
		x, err := c.Display.Expose(ctx, ask)
		if err != nil {
			return View{}, err
		}
		d, v.Exposure = x.Decision, x.Exposure.ID
	} else if d, _, err = c.Display.Decide(ctx, ask); err != nil {
		return View{}, err
	}
	for _, ch := range d.Channels {
		if !ch.Shown {
			v.HiddenChannels = append(v.HiddenChannels, HiddenChannel{Name: ch.Name, Reason: ch.Reason})
		}
	}
	for _, ch := range d.Shown() {
		opt := Channel{Name: ch.Name, Label: labels[ch.Name], Reason: ch.Reason, Blocked: ch.Blocked, Rank: ch.Rank, First: ch.First}
		if cons != nil {
			avail := cons.Balance
			if ch.Name == string(pay.ChannelCredit) {
				avail = cons.Credit.Available
			}
			enough := avail >= o.Total
			opt.Available, opt.Enough = &avail, &enough
			if ch.Blocked != nil && (ch.Blocked.Code == display.LineFrozen || ch.Blocked.Code == display.LineOverdue) {
				e := fenfu.AsError(pausedError(ch, cons))
				pv := viewOf(e)
				opt.Paused = &pv
			}
		}
		v.Channels = append(v.Channels, opt)
		if ch.Name == string(pay.ChannelCredit) && len(o.Offers) > 0 {
			v.Installments = c.Orders.Choices(o)
		}
	}
	return v, nil
}

// marketExposure applies a market_exposure_token the merchant's page got
// from POST /v3/pay/transactions/exposure for this order: the page opens
// on credit when it is usable, and the view names the exposure, so the
// payment counts as its conversion. A token of another order or consumer,
// altered or expired, is ignored with a log: the page is the same without
// it.
func (c *Cashier) marketExposure(v *View, token, consumerID, mt string) {
	ignore := func(why string) {
		c.Log.Info("market_exposure_token ignored", "order_token", token[:min(len(token), 12)], "why", why)
	}
	if c.Display == nil || c.Display.Tokens == nil {
		ignore("no token signer")
		return
	}
	t, ok := c.Display.Tokens.Open(mt, c.Clock.Now())
	switch {
	case !ok:
		ignore("altered, foreign or expired")
	case t.OrderID != v.orderID:
		ignore("issued for another order")
	case t.ConsumerID != "" && consumerID != "" && t.ConsumerID != consumerID:
		ignore("issued for another consumer")
	default:
		v.CreditPreselected = true
		v.MarketExposure = t.ExposureID
	}
}

// Preselected is the channel the page selects first: credit when the
// merchant preselected it (or a market_exposure_token did) and it is
// usable, else the first usable channel in the decided order, or the
// first not paused.
func (v View) Preselected() string {
	if v.CreditPreselected && v.Failed != string(pay.ChannelCredit) {
		for _, c := range v.Channels {
			if c.Name == string(pay.ChannelCredit) && c.usable() {
				return c.Name
			}
		}
	}
	for _, c := range v.Channels {
		if c.usable() && c.Name != v.Failed {
			return c.Name
		}
	}
	for _, c := range v.Channels {
		if c.Paused == nil && c.Name != v.Failed {
			return c.Name
		}
	}
	for _, c := range v.Channels {
		if c.Paused == nil {
			return c.Name
		}
	}
	return ""
}

// usable: the channel can pay the order, as far as the page knows.
func (c Channel) usable() bool {
	return c.Paused == nil && (c.Blocked == nil || c.Blocked.Code == display.BalanceShort) && (c.Enough == nil || *c.Enough)
}

// CreditPaused reports whether the credit option is offered but paused
// for the consumer.
func (v View) CreditPaused() bool {
	for _, c := range v.Channels {
		if c.Name == string(pay.ChannelCredit) {
			return c.Paused != nil
		}
	}
	return false
}

// ExpiresText is the expiry as the consumer reads it, in Shanghai time.
func (v View) ExpiresText() string {
	t, err := time.Parse(time.RFC3339, v.ExpiresAt)
	if err != nil {
		return v.ExpiresAt
	}
	return minute(t)
}

// answer writes v to a program as JSON, or to a browser as the page
// name, both 200.
func (c *Cashier) answer(w http.ResponseWriter, r *http.Request, name string, v any) {
	if wantsJSON(r) {
		web.WriteJSON(w, http.StatusOK, v)
		return
	}
	c.render(w, r, http.StatusOK, name, v)
}

func wantsJSON(r *http.Request) bool {
	return r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") ||
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

func (c *Cashier) handleShow(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	for _, f := range []string{"png", "svg"} {
		if t, ok := strings.CutSuffix(token, "."+f); ok {
			c.servePicture(w, r, t, f)
			return
		}
	}
	consumerID, err := c.session(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v, err := c.view(r.Context(), token, consumerID)
	if err != nil {
		c.failAs(w, r, consumerID, err)
		return
	}
	if mt := r.URL.Query().Get("market_exposure_token"); mt != "" {
		c.marketExposure(&v, token, consumerID, mt)
	}
	c.localize(r, &v)
	c.answer(w, r, "cashier.html", v)
}

// servePicture answers GET /q/{token}.png and .svg: the order's code in
// the credit-pay style with this minute's mark, ?size=screen (the
// default) or print, ?lang=en for the English label and note, and
// ?scale=N, kept from the plain PNG, for N pixels a module on screen. The
// picture changes every minute, so it is cached until the minute ends.
func (c *Cashier) servePicture(w http.ResponseWriter, r *http.Request, token, format string) {
	if _, err := c.Orders.OrderForToken(r.Context(), token); err != nil {
		c.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	size := c.Pictures.Screen
	switch q.Get("size") {
	case "", "screen":
	case "print":
		size = c.Pictures.Print
	default:
		e := fenfu.FieldError("size", "size must be screen or print, not %q", q.Get("size"))
		e.Remedy = "Ask for ?size=screen (the default) or ?size=print."
		c.fail(w, r, e)
		return
	}
	if s, err := strconv.Atoi(q.Get("scale")); err == nil && s >= 1 && s <= 20 && q.Get("size") == "" {
		size = qr.Size{Px: s * qr.Modules(c.CodeURL(token))}
	}
	now := c.Clock.Now()
	mark, minute := c.Pictures.Marks.Now(token, now)
	p := qr.Picture{Text: c.CodeURL(token), Mark: mark, Minute: minute, English: q.Get("lang") == "en"}
	draw, contentType := c.Pictures.Style.PNG, "image/png"
	if format == "svg" {
		draw, contentType = c.Pictures.Style.SVG, "image/svg+xml"
	}
	img, err := draw(p, size)
	if err != nil {
		c.fail(w, r, fenfu.Internal("cashier.servePicture", err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "private, max-age="+strconv.Itoa(qr.SecondsLeft(now)))
	_, _ = w.Write(img)
}

type payForm struct {
	Channel string `json:"channel"`
	Phone   string `json:"phone"`
	PIN     string `json:"pin"`
	// Device is the payer's device id, when the page or app supplies one;
	// risk rules read it.
	Device string `json:"device_id"`
	// Installments is the count chosen for a credit payment: 0 or 1 in
	// full, or one the order offers.
	Installments int `json:"installment_number"`
	// Package is, for a service order's confirmation, its package.
	Package string `json:"package"`
}

// readPayForm reads a payment's or confirmation's form, or its JSON
// object (shaped as what).
func readPayForm(w http.ResponseWriter, r *http.Request, what string) (payForm, error) {
	var f payForm
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&f); err != nil {
			return f, fenfu.Errorf(fenfu.ParamError, "the body must be a JSON object %s", what)
		}
		return f, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	f = payForm{Channel: r.PostFormValue("channel"), Phone: r.PostFormValue("phone"), PIN: r.PostFormValue("pin"),
		Device: r.PostFormValue("device_id"), Package: r.PostFormValue("package")}
	if v := r.PostFormValue("installment_number"); v != "" {
		// The count is the order's to accept (PayIn checks it against its
		// offers), as it is for the JSON form.
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, fenfu.FieldError("installment_number", "installment_number must be a whole number")
		}
		f.Installments = n
	}
	return f, nil
}

// client is what the request says about the payer's side: its address and
// the device id of the form.
func client(r *http.Request, f payForm) pay.Client {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if net.ParseIP(host) == nil {
		host = ""
	}
	return pay.Client{IP: host, Device: f.Device}
}

func (c *Cashier) handlePay(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site payment requests are refused")))
		return
	}
	token := r.PathValue("token")
	f, err := readPayForm(w, r, "{channel, phone, pin}")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if f.Phone == "" {
		// The order is read with the session, in its round trip.
		r = r.WithContext(c.Orders.OrderAhead(r.Context(), token))
	}
	consumerID, err := c.payer(w, r, f.Phone, f.PIN, "log in to pay")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if f.Phone == "" {
		// Logged in, the consumer still confirms the payment with the
		// PIN, unless it is below the amount that needs none.
		if err := c.confirmPIN(r, token, consumerID, f.PIN); err != nil {
			c.failPay(w, r, consumerID, f.Channel, err)
			return
		}
	}
	o, err := c.PayIn(r.Context(), token, consumerID, pay.Channel(f.Channel), client(r, f), f.Installments)
	if err != nil {
		c.failPay(w, r, consumerID, f.Channel, err)
		return
	}
	if wantsJSON(r) {
		out := map[string]any{"trade_state": o.TradeState(), "transaction_id": o.ID, "out_trade_no": o.OutTradeNo,
			"total": o.Total, "channel": o.Channel, "paid_at": o.PaidAt.In(fenfu.Shanghai).Format(time.RFC3339)}
		if o.Channel == pay.ChannelCredit {
			out["installment_number"] = max(o.Installments, 1)
		}
		web.WriteJSON(w, http.StatusOK, out)
		return
	}
	// The browser is sent to the order's page, which shows it paid: a
	// reload or a step back and forth reads the order and pays nothing.
	http.Redirect(w, r, "/q/"+token, http.StatusSeeOther)
}

// confirmPIN checks the PIN a logged-in consumer confirms the payment of
// the order behind token with, unless the order is below PINFreeBelow. A
// wrong PIN counts toward the phone's lockout, as a wrong login does. The
// amount is the one the token was signed for, which the payment then
// requires the order to have, so the order is read once, by the payment.
func (c *Cashier) confirmPIN(r *http.Request, token, consumerID, pin string) error {
	total, err := c.Orders.TotalForToken(token)
	if err != nil {
		return err
	}
	return c.confirmAmount(r, total, consumerID, pin)
}

// confirmAmount checks the PIN a logged-in consumer confirms a payment of
// amount with, unless it is below PINFreeBelow.
func (c *Cashier) confirmAmount(r *http.Request, amount fenfu.Fen, consumerID, pin string) error {
	if amount < c.PINFreeBelow {
		return nil
	}
	if pin == "" {
		return as(catalog.NoPINCheck, fenfu.FieldError("pin", "pin, the consumer's 6-digit PIN, confirms each payment"))
	}
	return c.checkPIN(r, consumerID, pin)
}

// checkPIN checks pin as the logged-in consumer's, as a login of its
// phone, so wrong PINs count toward the phone's lockout.
func (c *Cashier) checkPIN(r *http.Request, consumerID, pin string) error {
	cons, err := c.Consumers.Get(r.Context(), consumerID)
	if err != nil {
		return err
	}
	checked, err := c.Consumers.Login(r.Context(), cons.Phone, pin, r.RemoteAddr)
	if err == nil && checked != consumerID {
		err = fenfu.Errorf(fenfu.Unauthenticated, "the PIN is not right")
	}
	return pinErr(err)
}

// failPay answers a payment that failed on channel: the order's page
// again, with the reason, the form on another channel.
func (c *Cashier) failPay(w http.ResponseWriter, r *http.Request, consumerID, channel string, err error) {
	if fenfu.ErrorCode(err) == fenfu.NotEnough || fenfu.ErrorCode(err) == fenfu.RuleLimit || fenfu.ErrorCode(err) == fenfu.TradeError {
		err = &failedOn{error: err, channel: channel}
	}
	c.failAs(w, r, consumerID, err)
}

// failedOn is an error of a payment on a channel.
type failedOn struct {
	error
	channel string
}

func (f *failedOn) Unwrap() error { return f.error }

func (c *Cashier) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site login requests are refused")))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	id, err := c.Consumers.Login(r.Context(), r.PostFormValue("phone"), r.PostFormValue("pin"), r.RemoteAddr)
	if err == nil {
		err = c.startSession(w, r, id)
	}
	if err != nil {
		// The login form comes back on the page it was on (an order's
		// shows the order), with the reason.
		next := safeNext(r)
		if tok, ok := strings.CutPrefix(next, "/q/"); ok && !strings.Contains(tok, "/") {
			r.SetPathValue("token", tok)
		}
		c.failNext(w, r, "", pinErr(err), next)
		return
	}
	http.Redirect(w, r, safeNext(r), http.StatusSeeOther)
}

// startSession records a session for the consumer and sets its cookie.
func (c *Cashier) startSession(w http.ResponseWriter, r *http.Request, consumerID string) error {
	token, err := c.Consumers.StartSession(r.Context(), consumerID, SessionTTL)
	if err != nil {
		return err
	}
	sessionCookie.Start(w, r, token, SessionTTL)
	return nil
}

// servicePackage is what a service order's package may look like in a
// confirm page's address: a token's characters only.
var servicePackage = regexp.MustCompile(`^[0-9A-Za-z_.\-]{1,512}$`)

// statementPath is the path of a statement page.
var statementPath = regexp.MustCompile(`^/cashier/credit/statements/[0-9]{4}-[0-9]{2}$`)

// confirmPath is the path of the page where a consumer confirms a
// payment by code that waits for it.
var confirmPath = regexp.MustCompile(`^/cashier/paycode/orders/[0-9]{1,32}$`)

// safeNext is the form's next page if it is one of the cashier's own
// pages (an order's, an aggregate code's, the consumer's complaints, credit account,
// statements, payment code or a payment to confirm), else the home page: a
// login or logout never sends the browser elsewhere.
func safeNext(r *http.Request) string {
	next := r.PostFormValue("next")
	if next == "/cashier/complaints" || next == "/cashier/credit" || next == "/cashier/paycode" || next == "/cashier/tickets" ||
		statementPath.MatchString(next) || confirmPath.MatchString(next) || ticketPath.MatchString(next) {
		return next
	}
	if pkg, ok := strings.CutPrefix(next, servicePath+"?package="); ok && servicePackage.MatchString(pkg) {
		return next
	}
	if !web.Within(next, "/q/") && !web.Within(next, "/a/") {
		return "/"
	}
	return next
}

// handleLogout ends the session in the store, so its cookie is refused by
// every node from now on, and clears the cookie.
func (c *Cashier) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site logout requests are refused")))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	sessionCookie.End(w, r)
	if err := c.Consumers.EndSession(r.Context(), c.sessionToken(r)); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, safeNext(r), http.StatusSeeOther)
}

// sameOrigin refuses requests a browser sends from another site
// (web.SameOrigin), the public URL's origin being the cashier's too.
func (c *Cashier) sameOrigin(r *http.Request) bool {
	return web.SameOrigin(r, c.PublicURL)
}

// sessionToken returns the session token a request's cookie carries, or
// "" for none or one that cannot be a token. The store decides whether it
// is a live session: it holds the token's hash and the session's expiry.
func (c *Cashier) sessionToken(r *http.Request) string {
	return sessionCookie.Token(r)
}

// session returns the consumer of the request's session, or "" if it has
// none that the store still holds: a cookie outlives its logout nowhere.
func (c *Cashier) session(r *http.Request) (string, error) {
	return c.Consumers.Session(r.Context(), c.sessionToken(r))
}

type errorView struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Remedy  string `json:"remedy,omitempty"`
	// Help is the code's entry on the error catalogue's page.
	Help string `json:"help,omitempty"`
}

// viewOf is an error as the JSON and the page's detail give it.
func viewOf(e *fenfu.Error) errorView {
	return errorView{Code: string(e.Code), Message: e.Message, Remedy: e.Remedy, Help: catalog.Href(e.Code)}
}

// fail answers with err, showing the order again (for a page of one) as
// no consumer sees it.
func (c *Cashier) fail(w http.ResponseWriter, r *http.Request, err error) { c.failAs(w, r, "", err) }

// failAs answers with err; a failed page of an order shows the order again,
// with the reason, as consumerID (if known) sees it.
func (c *Cashier) failAs(w http.ResponseWriter, r *http.Request, consumerID string, err error) {
	c.failNext(w, r, consumerID, err, r.URL.Path)
}

// failNext is failAs, whose error page's next step (log in again) comes
// back to next.
func (c *Cashier) failNext(w http.ResponseWriter, r *http.Request, consumerID string, err error, next string) {
	e := fenfu.AsError(err)
	status := e.Code.HTTPStatus()
	c.logFailure(r, e, err)
	ev := viewOf(e)
	if wantsJSON(r) {
		web.WriteJSON(w, status, ev)
		return
	}
	// A payment that failed shows the order again with the reason.
	if tok := strings.TrimSuffix(strings.TrimSuffix(r.PathValue("token"), ".png"), ".svg"); tok != "" && !errors.Is(err, context.Canceled) {
		v, verr := c.view(r.Context(), tok, consumerID)
		if e.Code == fenfu.OrderClosed && verr != nil {
			v, verr = c.expiredView(r.Context(), tok, consumerID)
		}
		if verr == nil {
			var f *failedOn
			if errors.As(err, &f) {
				v.Failed = f.channel
			}
			kind, args := kindOf(err), map[string]string{"time": v.ExpiresText()}
			switch {
			case e.Code == fenfu.OrderClosed && v.Expired:
				kind = catalog.Expired
			case e.Code == fenfu.RuleLimit && v.CreditPaused():
				kind = catalog.Paused
			case e.Code == fenfu.NotEnough && v.Failed == string(pay.ChannelBalance):
				kind = catalog.OfBalance
			}
			v.Problem = c.problemOf(r, err, kind, args)
			if v.Problem.Action == catalog.View {
				v.Problem.Href, v.Problem.HrefLabel = "/q/"+tok, word(web.LangOf(r), "see-order")
			}
			c.localize(r, &v)
			c.render(w, r, status, "cashier.html", v)
			return
		}
	}
	p := c.problemOf(r, err, "", nil)
	if (p.Action == catalog.Login || p.Action == catalog.Retry) && next != r.URL.Path {
		// A form that failed (a login from the credit account's page)
		// offers its page again.
		p.Href, p.HrefLabel = next, word(web.LangOf(r), "try-again")
	} else if p.Action == catalog.Login {
		p.Href = next
	}
	c.render(w, r, status, "error.html", p)
}

// localize says what the view of an order shows in the page's language:
// why a channel is paused, or else why the display rules found it shown
// but not usable (a short line or balance), through the catalogue.
func (c *Cashier) localize(r *http.Request, v *View) {
	for i, ch := range v.Channels {
		code, kind := fenfu.Code(""), ""
		switch {
		case ch.Paused != nil:
			code, kind = fenfu.Code(ch.Paused.Code), catalog.Paused
		case ch.Blocked != nil && ch.Blocked.Code == display.LineShort:
			code = fenfu.NotEnough
		case ch.Blocked != nil && ch.Blocked.Code == display.BalanceShort:
			code, kind = fenfu.NotEnough, catalog.OfBalance
		default:
			continue
		}
		s := catalog.Say(web.LangOf(r), code, kind, nil)
		v.Channels[i].Said = &s
	}
}

// handleNotFound answers a cashier address that is no page: the 404
// page, or JSON for a program.
func (c *Cashier) handleNotFound(w http.ResponseWriter, r *http.Request) {
	c.fail(w, r, as(catalog.NotFound, fenfu.Errorf(fenfu.ResourceNotExists, "no cashier page at %s", r.URL.Path)))
}

//go:embed favicon.ico
var favicon []byte

// serveFavicon serves the pages' icon.
func serveFavicon(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(favicon)
}

// logFailure logs a failed request whose error is worth more than Info.
func (c *Cashier) logFailure(r *http.Request, e *fenfu.Error, err error) {
	if l := e.LogLevel(); l > slog.LevelInfo {
		c.Log.Log(r.Context(), l, "cashier request failed", "path", r.URL.Path, "code", e.Code, "error", err.Error())
	}
}

func (c *Cashier) render(w http.ResponseWriter, r *http.Request, status int, name string, v any) {
	web.PageHeaders(w) // the payment code page sets its own policy first
	web.RememberLang(w, r)
	switch x := v.(type) {
	case View:
		x.Switch = switchTo(r)
		v = x
	case *problem:
		if x != nil {
			p := *x
			p.Switch = switchTo(r)
			v = &p
		}
	}
	w.WriteHeader(status)
	if err := pagesIn[web.LangOf(r)].ExecuteTemplate(w, name, v); err != nil {
		c.Log.Error("render", "template", name, "error", err)
	}
}
