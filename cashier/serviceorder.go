package cashier

// The confirm page of a service order (pre-authorization): the consumer
// opens the confirm_url the merchant shows it, sees the merchant, the
// service, the most it may cost and until when, logs in, chooses to repay
// in full or in installments, and confirms, which freezes that much of
// its credit line until the merchant completes or cancels the order.
// Browsers get the page; programs (Accept: application/json, or
// ?format=json) the same as JSON.

import (
	"net/http"
	"net/url"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/mask"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/web"
)

// ServiceView is what the confirm page shows of a service order.
type ServiceView struct {
	State        string       `json:"state"`
	Merchant     string       `json:"merchant"`
	MchID        string       `json:"mchid"`
	OutOrderNo   string       `json:"out_order_no"`
	Service      string       `json:"service_introduction"`
	RiskFundName string       `json:"risk_fund_name"`
	MaxAmount    fenfu.Fen    `json:"risk_fund_amount"`
	EndTime      string       `json:"end_time"`
	Installments []pay.Choice `json:"installments"`
	// Available is the logged-in consumer's available credit.
	Available  *fenfu.Fen       `json:"credit_available,omitempty"`
	Credit     fenfu.Fen        `json:"-"` // Available, for the page
	Consumer   *consumerSummary `json:"consumer,omitempty"`
	ConfirmURL string           `json:"confirm_url"`
	Package    string           `json:"-"`
	Problem    *problem         `json:"-"`
	Confirmed  bool             `json:"-"`
	// PINFree is set when the amount is below what a logged-in consumer
	// confirms without the PIN.
	PINFree bool `json:"-"`
}

// Next is the page's own address, to come back to after a login.
func (v ServiceView) Next() string { return servicePath + "?package=" + url.QueryEscape(v.Package) }

const servicePath = "/cashier/serviceorder"

func (c *Cashier) serviceView(r *http.Request, pkg, consumerID string) (ServiceView, error) {
	ctx := r.Context()
	so, err := c.Orders.ServiceOrderForPackage(ctx, pkg)
	if err != nil {
		return ServiceView{}, err
	}
	m, err := c.Merchants.Get(ctx, so.MchID)
	if err != nil {
		return ServiceView{}, err
	}
	v := ServiceView{State: string(so.State), Merchant: m.Name, MchID: so.MchID, OutOrderNo: so.OutOrderNo, Service: so.ServiceIntroduction,
		RiskFundName: so.RiskFund.Name, MaxAmount: so.RiskFund.Amount, EndTime: so.EndAt.In(fenfu.Shanghai).Format(time.RFC3339),
		Installments: c.Orders.ServiceChoices(so), ConfirmURL: servicePath + "/confirm", Package: pkg,
		Confirmed: so.State == pay.ServiceDoing && so.ConsumerID == consumerID && consumerID != "", PINFree: so.RiskFund.Amount < c.PINFreeBelow}
	if consumerID != "" {
		if x, err := c.Consumers.Get(ctx, consumerID); err == nil {
			v.Consumer = &consumerSummary{ID: x.ID, Phone: mask.Phone(x.Phone)}
			avail := x.Credit.Available
			v.Available, v.Credit = &avail, avail
		}
	}
	return v, nil
}

func (c *Cashier) handleServiceShow(w http.ResponseWriter, r *http.Request) {
	consumerID, err := c.session(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v, err := c.serviceView(r, r.URL.Query().Get("package"), consumerID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.answer(w, r, "serviceorder.html", v)
}

func (c *Cashier) handleServiceConfirm(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site confirmations are refused")))
		return
	}
	f, err := readPayForm(w, r, "{package, installment_number, phone, pin}")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	consumerID, err := c.payer(w, r, f.Phone, f.PIN, "log in to confirm")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var so pay.ServiceOrder
	if f.Phone == "" {
		// Logged in, the consumer still confirms with the PIN what it
		// lets the merchant charge, as it does a payment.
		so, err = c.Orders.ServiceOrderForPackage(r.Context(), f.Package)
		if err == nil {
			err = c.confirmAmount(r, so.RiskFund.Amount, consumerID, f.PIN)
		}
	}
	if err == nil {
		so, err = c.Orders.ConfirmServiceOrder(r.Context(), f.Package, consumerID, client(r, f), f.Installments)
	}
	if err != nil {
		c.Log.Info("service order confirmation failed", "consumer", consumerID, "code", fenfu.ErrorCode(err), "error", err.Error())
		if wantsJSON(r) {
			c.fail(w, r, err)
			return
		}
		v, verr := c.serviceView(r, f.Package, consumerID)
		if verr != nil {
			c.fail(w, r, err)
			return
		}
		v.Problem = c.problemOf(r, err, "", nil)
		c.render(w, r, fenfu.AsError(err).Code.HTTPStatus(), "serviceorder.html", v)
		return
	}
	if wantsJSON(r) {
		web.WriteJSON(w, http.StatusOK, map[string]any{"state": so.State, "state_description": so.StateDescription(), "out_order_no": so.OutOrderNo,
			"order_id": so.ID, "risk_fund_amount": so.RiskFund.Amount, "installment_number": max(so.Installments, 1)})
		return
	}
	v, err := c.serviceView(r, f.Package, consumerID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "serviceorder.html", v)
}

// payer is the consumer a payment or confirmation is made as: the one
// whose phone and PIN it carries, which starts a session as the login
// form does, so the consumer's next request costs a session read, not a
// PIN check; or else the session's. Without either it fails with
// UNAUTHENTICATED and the message.
func (c *Cashier) payer(w http.ResponseWriter, r *http.Request, phone, pin, message string) (string, error) {
	if phone != "" {
		id, err := c.Consumers.Login(r.Context(), phone, pin, r.RemoteAddr)
		if err != nil {
			return "", err
		}
		return id, c.startSession(w, r, id)
	}
	id, err := c.session(r)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fenfu.Errorf(fenfu.Unauthenticated, "%s", message)
	}
	return id, nil
}
