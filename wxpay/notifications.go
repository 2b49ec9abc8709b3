package wxpay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
)

// refundNotice is the plaintext of a REFUND.* notification.
type refundNotice struct {
	MchID               string `json:"mchid"`
	TransactionID       string `json:"transaction_id"`
	OutTradeNo          string `json:"out_trade_no"`
	RefundID            string `json:"refund_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       fenfu.Fen `json:"total"`
		Refund      fenfu.Fen `json:"refund"`
		PayerTotal  fenfu.Fen `json:"payer_total"`
		PayerRefund fenfu.Fen `json:"payer_refund"`
	} `json:"amount"`
}

// RenderNotification renders a due notification as WeChat Pay does: for a
// payment, the transaction object as the query API returns it at the
// moment of payment (trade_state SUCCESS, even if refunds came since); for
// a refund, the refund notification object; for a complaint, the
// complaint and what happened to it.
func (a *API) RenderNotification(ctx context.Context, d notify.Due) (notify.Event, error) {
	switch d.Kind {
	case notify.Transaction:
		o, err := a.Pay.Get(ctx, d.ID)
		if err != nil {
			return notify.Event{}, err
		}
		return a.transactionEvent(o)
	case notify.Refund:
		r, err := a.Pay.RefundByID(ctx, d.ID)
		if err != nil {
			return notify.Event{}, err
		}
		obj := RefundOf(r)
		n := refundNotice{MchID: r.MchID, TransactionID: r.OrderID, OutTradeNo: r.Order.OutTradeNo, RefundID: r.ID,
			OutRefundNo: r.OutRefundNo, RefundStatus: string(r.Status), SuccessTime: obj.SuccessTime,
			UserReceivedAccount: obj.UserReceivedAccount}
		n.Amount.Total, n.Amount.Refund, n.Amount.PayerTotal, n.Amount.PayerRefund = r.Order.Total, r.Amount, r.Order.Total, r.Amount
		b, err := json.Marshal(n)
		if err != nil {
			return notify.Event{}, err
		}
		return notify.Event{EventType: "REFUND." + string(r.Status), Summary: "退款成功", OriginalType: "refund",
			CreateTime: r.SuccessAt, Plaintext: b}, nil
	case notify.PayScore:
		return a.renderPayScore(ctx, d)
	case notify.Complaint:
		if a.Complaints == nil {
			return notify.Event{}, fmt.Errorf("wxpay: a complaint notification, and no complaint service")
		}
		return a.renderComplaint(ctx, d)
	}
	return notify.Event{}, fmt.Errorf("wxpay: unknown notification kind %q", d.Kind)
}

// transactionEvent is a payment's notification: the transaction object
// as the query API returned it at the moment of payment (trade_state
// SUCCESS, even if refunds came since).
func (a *API) transactionEvent(o pay.Order) (notify.Event, error) {
	snap := o
	snap.State, snap.Refunded = pay.Success, 0
	ev := notify.Event{EventType: "TRANSACTION.SUCCESS", Summary: "支付成功", OriginalType: "transaction", CreateTime: o.PaidAt}
	if o.API == "v2" {
		// v2's payment notification: the order query's fields, with
		// return_code and result_code SUCCESS.
		ev.V2 = a.V2Transaction(snap)
		delete(ev.V2, "trade_state")
		delete(ev.V2, "trade_state_desc")
		ev.V2["return_code"], ev.V2["result_code"] = "SUCCESS", "SUCCESS"
		ev.V2["appid"], ev.V2["mch_id"] = o.AppID, o.MchID
		return ev, nil
	}
	b, err := json.Marshal(a.TransactionOf(snap))
	if err != nil {
		return notify.Event{}, err
	}
	ev.Plaintext = b
	return ev, nil
}

// RenderRound renders a round of due notifications as RenderNotification
// does, the payments' orders read together in one query; the other kinds
// are rendered one by one.
func (a *API) RenderRound(ctx context.Context, ds []notify.Due) ([]notify.Event, []error) {
	evs, errs := make([]notify.Event, len(ds)), make([]error, len(ds))
	var ids []string
	for _, d := range ds {
		if d.Kind == notify.Transaction {
			ids = append(ids, d.ID)
		}
	}
	orders, err := a.Pay.GetMany(ctx, ids)
	for i, d := range ds {
		switch {
		case d.Kind != notify.Transaction:
			evs[i], errs[i] = a.RenderNotification(ctx, d)
		case err != nil:
			errs[i] = err
		default:
			o, ok := orders[d.ID]
			if !ok {
				errs[i] = fenfu.Errorf(fenfu.OrderNotExist, "order does not exist")
				continue
			}
			evs[i], errs[i] = a.transactionEvent(o)
		}
	}
	return evs, errs
}

// notificationStatus answers GET /v3/fenfu/notifications/{event_id}: the
// event's delivery state and every attempt (a fenfu extension).
func (a *API) notificationStatus(ctx context.Context, r *request) (int, any, error) {
	s, err := a.Notifications.Lookup(ctx, r.MchID, r.PathValue("event_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s, nil
}

// resendNotification answers POST /v3/fenfu/notifications/{event_id}/resend.
func (a *API) resendNotification(ctx context.Context, r *request) (int, any, error) {
	if err := a.Notifications.Resend(ctx, r.MchID, r.PathValue("event_id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
