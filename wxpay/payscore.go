package wxpay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/route"
)

// Service orders (pre-authorization), as WeChat Pay Score's
// /v3/payscore/serviceorder: create, query, cancel, modify and complete.
// fenfu captures a completion at once on the consumer's credit, so a
// completed order is DONE/USER_PAID.

func (a *API) registerPayScore(mux route.Mux) {
	mux.Handle("POST /v3/payscore/serviceorder", a.v3(a.createServiceOrder))
	mux.Handle("GET /v3/payscore/serviceorder", a.v3(a.queryServiceOrder))
	mux.Handle("POST /v3/payscore/serviceorder/{out_order_no}/cancel", a.v3(a.cancelServiceOrder))
	mux.Handle("POST /v3/payscore/serviceorder/{out_order_no}/modify", a.v3(a.modifyServiceOrder))
	mux.Handle("POST /v3/payscore/serviceorder/{out_order_no}/complete", a.v3(a.completeServiceOrder))
}

// PostPayment is a post_payments item: what the service charged for.
type PostPayment struct {
	Name        string     `json:"name,omitempty"`
	Amount      *fenfu.Fen `json:"amount,omitempty"`
	Description string     `json:"description,omitempty"`
	Count       int        `json:"count,omitempty"`
}

// PostDiscount is a post_discounts item: what the merchant took off.
type PostDiscount struct {
	Name        string    `json:"name,omitempty"`
	Description string    `json:"description,omitempty"`
	Amount      fenfu.Fen `json:"amount"`
	Count       int       `json:"count,omitempty"`
}

// RiskFund is the risk_fund object.
type RiskFund struct {
	Name        string     `json:"name"`
	Amount      *fenfu.Fen `json:"amount"`
	Description string     `json:"description,omitempty"`
}

// TimeRange is the time_range object.
type TimeRange struct {
	StartTime       string `json:"start_time"`
	StartTimeRemark string `json:"start_time_remark,omitempty"`
	EndTime         string `json:"end_time,omitempty"`
	EndTimeRemark   string `json:"end_time_remark,omitempty"`
}

type serviceOrderReq struct {
	AppID               string         `json:"appid"`
	ServiceID           string         `json:"service_id"`
	OutOrderNo          string         `json:"out_order_no"`
	ServiceIntroduction string         `json:"service_introduction"`
	PostPayments        []PostPayment  `json:"post_payments"`
	PostDiscounts       []PostDiscount `json:"post_discounts"`
	RiskFund            *RiskFund      `json:"risk_fund"`
	TimeRange           *TimeRange     `json:"time_range"`
	Attach              string         `json:"attach"`
	NotifyURL           string         `json:"notify_url"`
	NeedUserConfirm     *bool          `json:"need_user_confirm"`
}

// Collection is what was collected of a completed service order.
type Collection struct {
	State        string              `json:"state"`
	TotalAmount  fenfu.Fen           `json:"total_amount"`
	PayingAmount fenfu.Fen           `json:"paying_amount"`
	PaidAmount   fenfu.Fen           `json:"paid_amount"`
	Details      []CollectionDetails `json:"details,omitempty"`
}

// CollectionDetails is one collection: fenfu's is the PAYSCORE payment.
type CollectionDetails struct {
	Seq           int       `json:"seq"`
	Amount        fenfu.Fen `json:"amount"`
	PaidType      string    `json:"paid_type"`
	PaidTime      string    `json:"paid_time"`
	TransactionID string    `json:"transaction_id"`
}

// ServiceOrder is the service order object the payscore routes and
// notifications answer with.
type ServiceOrder struct {
	AppID               string         `json:"appid"`
	MchID               string         `json:"mchid"`
	OutOrderNo          string         `json:"out_order_no"`
	ServiceID           string         `json:"service_id"`
	ServiceIntroduction string         `json:"service_introduction"`
	State               string         `json:"state"`
	StateDescription    string         `json:"state_description,omitempty"`
	TotalAmount         *fenfu.Fen     `json:"total_amount,omitempty"`
	PostPayments        []PostPayment  `json:"post_payments,omitempty"`
	PostDiscounts       []PostDiscount `json:"post_discounts,omitempty"`
	RiskFund            RiskFund       `json:"risk_fund"`
	TimeRange           TimeRange      `json:"time_range"`
	Attach              string         `json:"attach,omitempty"`
	NotifyURL           string         `json:"notify_url"`
	OrderID             string         `json:"order_id"`
	Package             string         `json:"package,omitempty"`
	NeedCollection      *bool          `json:"need_collection,omitempty"`
	Collection          *Collection    `json:"collection,omitempty"`
	OpenID              string         `json:"openid,omitempty"`
	// ConfirmURL is fenfu's own field: the cashier page where the consumer
	// confirms the order with its package.
	ConfirmURL string `json:"confirm_url,omitempty"`
}

// completion is what a completion's post_payments and post_discounts
// were, as stored.
type completion struct {
	PostPayments  []PostPayment  `json:"post_payments,omitempty"`
	PostDiscounts []PostDiscount `json:"post_discounts,omitempty"`
}

// ServiceOrderOf renders a service order as the protocol does.
func (a *API) ServiceOrderOf(ctx context.Context, so pay.ServiceOrder) (ServiceOrder, error) {
	amount := so.RiskFund.Amount
	out := ServiceOrder{AppID: so.AppID, MchID: so.MchID, OutOrderNo: so.OutOrderNo, ServiceID: so.ServiceID,
		ServiceIntroduction: so.ServiceIntroduction, State: string(so.State), StateDescription: so.StateDescription(),
		RiskFund:  RiskFund{Name: so.RiskFund.Name, Amount: &amount, Description: so.RiskFund.Description},
		TimeRange: TimeRange{StartTime: so.StartTime, EndTime: so.EndTime}, Attach: so.Attach, NotifyURL: so.NotifyURL, OrderID: so.ID}
	if so.ConsumerID != "" {
		out.OpenID = OpenID(a.Keys.Secret, so.AppID, so.ConsumerID)
	}
	if so.State == pay.ServiceDone {
		total := so.TotalAmount
		out.TotalAmount = &total
		var c completion
		if so.PostPayments != "" {
			_ = json.Unmarshal([]byte(so.PostPayments), &c)
		}
		out.PostPayments, out.PostDiscounts = c.PostPayments, c.PostDiscounts
		need := total > 0
		out.NeedCollection = &need
		if need {
			o, err := a.Pay.Get(ctx, so.PaymentID)
			if err != nil {
				return out, err
			}
			out.Collection = &Collection{State: "USER_PAID", TotalAmount: total, PaidAmount: total,
				Details: []CollectionDetails{{Seq: 1, Amount: o.Total, PaidType: "NEWTON",
					PaidTime: o.PaidAt.In(fenfu.Shanghai).Format(pay.ServiceTimeLayout), TransactionID: o.ID}}}
		}
	}
	return out, nil
}

// ConfirmURL returns the cashier page where a consumer confirms a
// service order's package.
func (a *API) ConfirmURL(pkg string) string {
	return a.PublicURL() + "/cashier/serviceorder?package=" + pkg
}

func (a *API) createServiceOrder(ctx context.Context, r *request) (int, any, error) {
	var req serviceOrderReq
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	if req.NeedUserConfirm != nil && !*req.NeedUserConfirm {
		e := fenfu.FieldError("need_user_confirm", "fenfu service orders need the consumer's confirmation, which freezes its credit")
		e.Remedy = "Leave need_user_confirm out, or send true, and show the consumer the confirm_url."
		return 0, nil, e
	}
	if req.RiskFund == nil || req.RiskFund.Amount == nil {
		return 0, nil, fenfu.FieldError("risk_fund.amount", "risk_fund with name and amount is required")
	}
	if req.TimeRange == nil {
		return 0, nil, fenfu.FieldError("time_range", "time_range with start_time and end_time is required")
	}
	so, err := a.Pay.CreateServiceOrder(ctx, pay.NewServiceOrder{MchID: r.MchID, AppID: req.AppID, OutOrderNo: req.OutOrderNo,
		ServiceID: req.ServiceID, ServiceIntroduction: req.ServiceIntroduction,
		RiskFund:  pay.RiskFund{Name: req.RiskFund.Name, Description: req.RiskFund.Description, Amount: *req.RiskFund.Amount},
		StartTime: req.TimeRange.StartTime, EndTime: req.TimeRange.EndTime, Attach: req.Attach, NotifyURL: req.NotifyURL})
	if err != nil {
		return 0, nil, err
	}
	out, err := a.ServiceOrderOf(ctx, so)
	if err != nil {
		return 0, nil, err
	}
	if so.Package != "" {
		out.Package, out.ConfirmURL = so.Package, a.ConfirmURL(so.Package)
	}
	return http.StatusOK, out, nil
}

// checkService checks that a request names the service order's appid and
// service_id, as WeChat requires.
func checkService(so pay.ServiceOrder, appid, serviceID string) error {
	if appid != so.AppID {
		return fenfu.FieldError("appid", "appid must be the one the service order was created with")
	}
	if serviceID != so.ServiceID {
		return fenfu.FieldError("service_id", "service_id must be the one the service order was created with")
	}
	return nil
}

func (a *API) queryServiceOrder(ctx context.Context, r *request) (int, any, error) {
	q := r.URL.Query()
	no := q.Get("out_order_no")
	if no == "" {
		return 0, nil, fenfu.FieldError("out_order_no", "out_order_no is required")
	}
	if err := fenfu.Text("out_order_no", no); err != nil {
		return 0, nil, err
	}
	so, err := a.Pay.ServiceOrderOf(ctx, r.MchID, no)
	if err != nil {
		return 0, nil, err
	}
	if err := checkService(so, q.Get("appid"), q.Get("service_id")); err != nil {
		return 0, nil, err
	}
	out, err := a.ServiceOrderOf(ctx, so)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// serviceRequest reads a cancel, modify or complete body and its service
// order.
func (a *API) serviceRequest(ctx context.Context, r *request, v any, appid, serviceID *string) (pay.ServiceOrder, error) {
	if err := decode(r.Body, v); err != nil {
		return pay.ServiceOrder{}, err
	}
	no := r.PathValue("out_order_no")
	if err := fenfu.Text("out_order_no", no); err != nil {
		return pay.ServiceOrder{}, err
	}
	so, err := a.Pay.ServiceOrderOf(ctx, r.MchID, no)
	if err != nil {
		return so, err
	}
	return so, checkService(so, *appid, *serviceID)
}

func (a *API) cancelServiceOrder(ctx context.Context, r *request) (int, any, error) {
	var req struct {
		AppID     string `json:"appid"`
		ServiceID string `json:"service_id"`
		Reason    string `json:"reason"`
	}
	so, err := a.serviceRequest(ctx, r, &req, &req.AppID, &req.ServiceID)
	if err != nil {
		return 0, nil, err
	}
	if so, err = a.Pay.CancelServiceOrder(ctx, r.MchID, so.OutOrderNo, req.Reason); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"appid": so.AppID, "mchid": so.MchID, "out_order_no": so.OutOrderNo,
		"service_id": so.ServiceID, "order_id": so.ID}, nil
}

type completeReq struct {
	AppID         string         `json:"appid"`
	ServiceID     string         `json:"service_id"`
	PostPayments  []PostPayment  `json:"post_payments"`
	PostDiscounts []PostDiscount `json:"post_discounts"`
	TotalAmount   *fenfu.Fen     `json:"total_amount"`
	Reason        string         `json:"reason"`
}

// check validates a completion's items: at most 100 payments and 30
// discounts, named within 20 characters, described within 30, and
// total_amount their payments less their discounts, as WeChat requires.
func (c completeReq) check() (string, error) {
	if c.TotalAmount == nil {
		return "", fenfu.FieldError("total_amount", "total_amount is required")
	}
	if len(c.PostPayments) == 0 || len(c.PostPayments) > 100 {
		return "", fenfu.FieldError("post_payments", "post_payments must list 1 to 100 items")
	}
	if len(c.PostDiscounts) > 30 {
		return "", fenfu.FieldError("post_discounts", "post_discounts must list at most 30 items")
	}
	var sum fenfu.Fen
	for _, p := range c.PostPayments {
		if p.Name == "" || utf8.RuneCountInString(p.Name) > 20 || utf8.RuneCountInString(p.Description) > 30 {
			return "", fenfu.FieldError("post_payments.name", "each post_payments item needs a name of at most 20 characters and a description of at most 30")
		}
		if p.Amount != nil {
			if *p.Amount < 0 || *p.Amount > pay.MaxTotal {
				return "", fenfu.FieldError("post_payments.amount", "post_payments.amount must be 0 or more fen")
			}
			sum += *p.Amount
		}
	}
	for _, d := range c.PostDiscounts {
		if utf8.RuneCountInString(d.Name) > 20 || utf8.RuneCountInString(d.Description) > 30 || d.Amount < 0 || d.Amount > pay.MaxTotal {
			return "", fenfu.FieldError("post_discounts", "each post_discounts item needs a name of at most 20 characters, a description of at most 30 and an amount of 0 or more fen")
		}
		sum -= d.Amount
	}
	if sum != *c.TotalAmount {
		return "", fenfu.FieldError("total_amount", "total_amount %d must be the post_payments amounts less the post_discounts amounts, %d", int64(*c.TotalAmount), int64(sum))
	}
	b, err := json.Marshal(completion{PostPayments: c.PostPayments, PostDiscounts: c.PostDiscounts})
	return string(b), err
}

func (a *API) completeServiceOrder(ctx context.Context, r *request) (int, any, error) {
	var req completeReq
	so, err := a.serviceRequest(ctx, r, &req, &req.AppID, &req.ServiceID)
	if err != nil {
		return 0, nil, err
	}
	items, err := req.check()
	if err != nil {
		return 0, nil, err
	}
	if so, err = a.Pay.CompleteServiceOrder(ctx, r.MchID, so.OutOrderNo, *req.TotalAmount, items); err != nil {
		return 0, nil, err
	}
	out, err := a.ServiceOrderOf(ctx, so)
	if err != nil {
		return 0, nil, err
	}
	out.Collection, out.OpenID = nil, "" // the complete answer carries neither
	return http.StatusOK, out, nil
}

func (a *API) modifyServiceOrder(ctx context.Context, r *request) (int, any, error) {
	var req completeReq
	so, err := a.serviceRequest(ctx, r, &req, &req.AppID, &req.ServiceID)
	if err != nil {
		return 0, nil, err
	}
	if _, err := req.check(); err != nil {
		return 0, nil, err
	}
	if req.Reason == "" || utf8.RuneCountInString(req.Reason) > 50 {
		return 0, nil, fenfu.FieldError("reason", "reason must be 1 to 50 characters")
	}
	_, err = a.Pay.ModifyServiceOrder(ctx, r.MchID, so.OutOrderNo)
	return 0, nil, err
}

// renderPayScore renders a PAYSCORE.USER_CONFIRM or PAYSCORE.USER_PAID
// notification: the service order as the query answers it.
func (a *API) renderPayScore(ctx context.Context, d notify.Due) (notify.Event, error) {
	id, event := pay.ServiceEventOf(d.ID)
	so, err := a.Pay.ServiceOrder(ctx, id)
	if err != nil {
		return notify.Event{}, err
	}
	obj, err := a.ServiceOrderOf(ctx, so)
	if err != nil {
		return notify.Event{}, err
	}
	ev := notify.Event{EventType: "PAYSCORE." + event, OriginalType: "payscore"}
	switch event {
	case pay.EventUserConfirm:
		// As at confirmation, whatever came since.
		obj.State, obj.StateDescription, obj.TotalAmount, obj.NeedCollection, obj.Collection = string(pay.ServiceDoing), "USER_CONFIRM", nil, nil, nil
		ev.Summary, ev.CreateTime = "用户确认成功", so.ConfirmedAt
	case pay.EventUserPaid:
		ev.Summary, ev.CreateTime = "用户支付成功", so.UpdatedAt
	default:
		return notify.Event{}, fmt.Errorf("wxpay: unknown service order event %q", event)
	}
	ev.Plaintext, err = json.Marshal(obj)
	return ev, err
}
