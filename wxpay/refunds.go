package wxpay

import (
	"context"
	"net/http"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
)

type refundReq struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	FundsAccount  string `json:"funds_account"`
	Amount        *struct {
		Refund   *fenfu.Fen `json:"refund"`
		Total    *fenfu.Fen `json:"total"`
		Currency string     `json:"currency"`
	} `json:"amount"`
}

type refundAmount struct {
	Total            fenfu.Fen `json:"total"`
	Refund           fenfu.Fen `json:"refund"`
	PayerTotal       fenfu.Fen `json:"payer_total"`
	PayerRefund      fenfu.Fen `json:"payer_refund"`
	SettlementRefund fenfu.Fen `json:"settlement_refund"`
	SettlementTotal  fenfu.Fen `json:"settlement_total"`
	DiscountRefund   fenfu.Fen `json:"discount_refund"`
	Currency         string    `json:"currency"`
}

// RefundObject is the v3 refund object.
type RefundObject struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time,omitempty"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              refundAmount `json:"amount"`
}

// RefundOf renders a refund as the protocol's refund object.
func RefundOf(r pay.RefundRecord) RefundObject {
	account := "支付用户零钱"
	if r.Order.Channel == pay.ChannelCredit {
		account = "分付额度"
	}
	return RefundObject{
		RefundID:            r.ID,
		OutRefundNo:         r.OutRefundNo,
		TransactionID:       r.OrderID,
		OutTradeNo:          r.Order.OutTradeNo,
		Channel:             "ORIGINAL",
		UserReceivedAccount: account,
		SuccessTime:         timeString(r.SuccessAt),
		CreateTime:          timeString(r.CreatedAt),
		Status:              string(r.Status),
		FundsAccount:        "UNSETTLED",
		Amount: refundAmount{Total: r.Order.Total, Refund: r.Amount, PayerTotal: r.Order.Total, PayerRefund: r.Amount,
			SettlementRefund: r.Amount, SettlementTotal: r.Order.Total, Currency: r.Order.Currency},
	}
}

func (a *API) createRefund(ctx context.Context, r *request) (int, any, error) {
	var req refundReq
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	if req.Amount == nil || req.Amount.Refund == nil || req.Amount.Total == nil {
		return 0, nil, fenfu.FieldError("amount", "amount.refund and amount.total are required")
	}
	rec, err := a.Pay.Refund(ctx, pay.RefundRequest{MchID: r.MchID, TransactionID: req.TransactionID, OutTradeNo: req.OutTradeNo,
		OutRefundNo: req.OutRefundNo, Reason: req.Reason, NotifyURL: req.NotifyURL, Refund: *req.Amount.Refund,
		Total: *req.Amount.Total, Currency: req.Amount.Currency})
	if err != nil {
		return 0, nil, err
	}
	r.note = "full"
	if rec.Amount < rec.Order.Total {
		r.note = "partial"
	}
	return http.StatusOK, RefundOf(rec), nil
}

func (a *API) queryRefund(ctx context.Context, r *request) (int, any, error) {
	rec, err := a.Pay.QueryRefund(ctx, r.MchID, r.PathValue("out_refund_no"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, RefundOf(rec), nil
}
