package cashier

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/pay"
)

// The confirm page of a code payment (付款码支付): when a till's code
// payment is above the no-PIN limit, or a risk rule asks for it, the
// order waits for its consumer, whose payment-code page links here. The
// consumer, logged in, sees the merchant, the amount and the installments
// asked for, and confirms with their PIN, which pays the order; the till
// sees USERPAYING until then and SUCCESS after.

// confirmPage is what the confirm page shows.
type confirmPage struct {
	Next          string      `json:"-"`
	LoggedIn      bool        `json:"-"`
	TransactionID string      `json:"transaction_id,omitempty"`
	TradeState    string      `json:"trade_state,omitempty"`
	Waiting       bool        `json:"waiting"`
	Paying        bool        `json:"paying"` // a confirmation is paying it: wait, do not ask for a new code
	Merchant      string      `json:"merchant,omitempty"`
	Description   string      `json:"description,omitempty"`
	Total         fenfu.Fen   `json:"total,omitempty"`
	Channel       string      `json:"channel,omitempty"`
	ExpiresAt     string      `json:"expires_at,omitempty"`
	Installments  *pay.Choice `json:"installments,omitempty"` // the count the till sent, with what it costs
	PaidAt        string      `json:"paid_at,omitempty"`
	Problem       *problem    `json:"-"`
}

// confirmView reads the consumer's code payment for the page.
func (c *Cashier) confirmView(ctx context.Context, id, consumerID string) (confirmPage, error) {
	o, err := c.Orders.Waiting(ctx, id, consumerID)
	if err != nil {
		return confirmPage{}, err
	}
	p := confirmPage{Next: "/cashier/paycode/orders/" + o.ID, LoggedIn: true, TransactionID: o.ID, TradeState: string(o.TradeState()),
		Waiting: o.AwaitingConfirmation(), Paying: o.State == pay.Paying, Description: o.Description, Total: o.Total, Channel: o.Channel.Name(),
		ExpiresAt: o.ExpiresAt.In(fenfu.Shanghai).Format(time.RFC3339)}
	if m, err := c.Merchants.Get(ctx, o.MchID); err == nil {
		p.Merchant = m.Name
	}
	if !o.PaidAt.IsZero() {
		p.PaidAt = o.PaidAt.In(fenfu.Shanghai).Format(time.RFC3339)
	}
	if cs := c.Orders.Choices(o); len(cs) > 1 {
		p.Installments = &cs[1]
	}
	return p, nil
}

// handleConfirmShow answers GET /cashier/paycode/orders/{transaction_id}:
// the page for a browser, JSON for programs; only the order's own
// consumer sees it.
func (c *Cashier) handleConfirmShow(w http.ResponseWriter, r *http.Request) {
	id, err := c.session(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if id == "" {
		if wantsJSON(r) {
			c.fail(w, r, fenfu.Errorf(fenfu.Unauthenticated, "log in to confirm a payment"))
			return
		}
		c.render(w, r, http.StatusUnauthorized, "confirm.html", confirmPage{Next: r.URL.Path})
		return
	}
	c.showConfirm(w, r, r.PathValue("transaction_id"), id)
}

// showConfirm answers with the consumer's code payment: the page, or
// JSON.
func (c *Cashier) showConfirm(w http.ResponseWriter, r *http.Request, orderID, consumerID string) {
	p, err := c.confirmView(r.Context(), orderID, consumerID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.answer(w, r, "confirm.html", p)
}

// handleConfirm answers POST /cashier/paycode/orders/{transaction_id}/confirm:
// the logged-in consumer's PIN (form field pin, or JSON {pin}), checked
// as a login of the consumer's phone, so wrong PINs count toward its
// lockout (an unreadable body or a missing PIN does not); a right one
// pays the order. While another confirmation is paying it, USERPAYING:
// wait.
func (c *Cashier) handleConfirm(w http.ResponseWriter, r *http.Request) {
	if !c.sameOrigin(r) {
		c.fail(w, r, as(catalog.CrossSite, fenfu.Errorf(fenfu.NoAuth, "cross-site confirmations are refused")))
		return
	}
	var pin string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var f struct {
			PIN string `json:"pin"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&f); err != nil {
			c.fail(w, r, fenfu.Errorf(fenfu.ParamError, "the body must be a JSON object {pin}"))
			return
		}
		pin = f.PIN
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, fenfu.Errorf(fenfu.ParamError, "the body must be a form with the field pin"))
			return
		}
		pin = r.PostForm.Get("pin")
	}
	// A body that could not be read, or names no PIN, checks no PIN: it
	// does not count toward the phone's lockout as a wrong one.
	if pin == "" {
		c.fail(w, r, fenfu.FieldError("pin", "pin, the consumer's 6-digit PIN, is required"))
		return
	}
	consumerID, err := c.session(r)
	if err == nil && consumerID == "" {
		err = fenfu.Errorf(fenfu.Unauthenticated, "log in to confirm a payment")
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	orderID := r.PathValue("transaction_id")
	// Only the order's consumer gets as far as a PIN check.
	if _, err := c.Orders.Waiting(r.Context(), orderID, consumerID); err != nil {
		c.fail(w, r, err)
		return
	}
	err = c.checkPIN(r, consumerID, pin)
	if err == nil {
		_, err = c.Orders.Confirm(r.Context(), orderID, consumerID, client(r, payForm{}))
	}
	if err != nil {
		c.Log.Info("code payment confirmation failed", "consumer", consumerID, "code", fenfu.ErrorCode(err), "error", err.Error())
		if !wantsJSON(r) {
			if p, verr := c.confirmView(r.Context(), orderID, consumerID); verr == nil {
				e := fenfu.AsError(err)
				c.logFailure(r, e, err)
				p.Problem = c.problemOf(r, err, "", nil)
				c.render(w, r, e.Code.HTTPStatus(), "confirm.html", p)
				return
			}
		}
		c.fail(w, r, err)
		return
	}
	c.showConfirm(w, r, orderID, consumerID)
}
