package wxpay

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
)

// codepayReq is the v3 code payment request (付款码支付,
// POST /v3/pay/transactions/codepay).
type codepayReq struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	Attach      string `json:"attach"`
	GoodsTag    string `json:"goods_tag"`
	Payer       *struct {
		AuthCode string `json:"auth_code"`
	} `json:"payer"`
	Amount    *amountReq `json:"amount"`
	SceneInfo *struct {
		DeviceID  string `json:"device_id"`
		DeviceIP  string `json:"device_ip"`
		StoreInfo *struct {
			OutID string `json:"out_id"`
		} `json:"store_info"`
	} `json:"scene_info"`
	// InstallmentInfo is fenfu's extension, named as the transaction's
	// installment_info WeChat Pay answers: the installment count the
	// consumer chose at the counter.
	InstallmentInfo *struct {
		SelectedInstallmentNumber *int `json:"selected_installment_number"`
	} `json:"installment_info"`
}

// order reads a v3 code payment request of merchant mchid.
func (req codepayReq) order(mchid string) (pay.CodeOrder, error) {
	if err := requireMchID(mchid, req.MchID, "mchid"); err != nil {
		return pay.CodeOrder{}, err
	}
	if req.Payer == nil || req.Payer.AuthCode == "" {
		return pay.CodeOrder{}, fenfu.FieldError("payer.auth_code", "payer.auth_code, the payment code the till scanned, is required")
	}
	if req.Amount == nil || req.Amount.Total == nil {
		return pay.CodeOrder{}, fenfu.FieldError("amount.total", "amount.total is required")
	}
	if req.SceneInfo == nil {
		return pay.CodeOrder{}, fenfu.FieldError("scene_info", "scene_info is required")
	}
	if err := tillIP("scene_info.device_ip", req.SceneInfo.DeviceIP); err != nil {
		return pay.CodeOrder{}, err
	}
	o := pay.CodeOrder{MchID: mchid, AppID: req.AppID, Description: req.Description, OutTradeNo: req.OutTradeNo, Attach: req.Attach,
		GoodsTag: req.GoodsTag, Total: *req.Amount.Total, Currency: req.Amount.Currency, API: "v3", AuthCode: req.Payer.AuthCode,
		Scene: pay.Scene{DeviceID: req.SceneInfo.DeviceID, PayerClientIP: req.SceneInfo.DeviceIP}}
	if i := req.InstallmentInfo; i != nil && i.SelectedInstallmentNumber != nil {
		o.Installments = *i.SelectedInstallmentNumber
		if o.Installments < 1 {
			return pay.CodeOrder{}, fenfu.FieldError(pay.InstallmentField, "the installment count must be 3, 6 or 12 (or 1, in full), not %d", o.Installments)
		}
	}
	return o, nil
}

// tillIP checks the till's address a code payment carries (v3
// scene_info.device_ip, v2 spbill_create_ip). It becomes the order's
// scene address, which the risk engine sees as the payment's client
// address, as a Native order's scene_info.payer_client_ip.
func tillIP(field, ip string) error {
	if ip == "" {
		return nil
	}
	if err := (pay.Client{IP: ip}).Check(); err != nil {
		return fenfu.FieldError(field, "%s must be an IP address", field)
	}
	return nil
}

// codepay answers a v3 code payment: 200 with the paid transaction; 202
// Accepted with trade_state USERPAYING while the consumer confirms (the
// till then queries the order every 5 seconds); otherwise the error.
func (a *API) codepay(ctx context.Context, r *request) (int, any, error) {
	var req codepayReq
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	c, err := req.order(r.MchID)
	if err != nil {
		return 0, nil, err
	}
	o, err := a.Pay.Micropay(ctx, c)
	if fenfu.ErrorCode(err) == fenfu.UserPaying && o.ID != "" {
		t := a.TransactionOf(o)
		r.note = t.TradeState
		return http.StatusAccepted, t, nil
	}
	if err != nil {
		return 0, nil, err
	}
	t := a.TransactionOf(o)
	r.note = t.TradeState + " " + t.BankType
	return http.StatusOK, t, nil
}

// reverse answers a v3 reverse (撤销): 200 with the order's ids.
func (a *API) reverse(ctx context.Context, r *request) (int, any, error) {
	var req struct {
		AppID string `json:"appid"`
		MchID string `json:"mchid"`
	}
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	// WeChat Pay requires appid; it is checked before anything is reversed.
	if _, err := a.merchantApp(ctx, r, req.MchID, req.AppID); err != nil {
		return 0, nil, err
	}
	rv, err := a.Pay.Reverse(ctx, r.MchID, "", r.PathValue("out_trade_no"))
	if err != nil {
		return 0, nil, err
	}
	r.note = string(rv.Order.TradeState())
	return http.StatusOK, map[string]string{"appid": rv.Order.AppID, "mchid": rv.Order.MchID, "out_trade_no": rv.Order.OutTradeNo}, nil
}

// v2CodeOrder reads a v2 micropay request of merchant mchid.
func v2CodeOrder(mchid string, p map[string]string) (pay.CodeOrder, error) {
	if p["spbill_create_ip"] == "" {
		return pay.CodeOrder{}, fenfu.FieldError("spbill_create_ip", "spbill_create_ip is required")
	}
	if err := tillIP("spbill_create_ip", p["spbill_create_ip"]); err != nil {
		return pay.CodeOrder{}, err
	}
	if p["auth_code"] == "" {
		return pay.CodeOrder{}, fenfu.FieldError("auth_code", "auth_code, the payment code the till scanned, is required")
	}
	total, err := fen(p, "total_fee")
	if err != nil {
		return pay.CodeOrder{}, err
	}
	o := pay.CodeOrder{MchID: mchid, AppID: p["appid"], Description: p["body"], OutTradeNo: p["out_trade_no"], Attach: p["attach"],
		GoodsTag: p["goods_tag"], Total: total, Currency: p["fee_type"], API: "v2", AuthCode: p["auth_code"],
		Scene: pay.Scene{DeviceID: p["device_info"], PayerClientIP: p["spbill_create_ip"]}}
	switch p["limit_pay"] {
	case "":
	case "no_credit":
		o.LimitPay = []string{"no_credit"}
	default:
		return pay.CodeOrder{}, fenfu.FieldError("limit_pay", "limit_pay must be no_credit or absent")
	}
	if te := p["time_expire"]; te != "" {
		t, err := time.ParseInLocation(v2TimeLayout, te, fenfu.Shanghai)
		if err != nil {
			return pay.CodeOrder{}, fenfu.FieldError("time_expire", "time_expire must be yyyyMMddHHmmss")
		}
		o.TimeExpire = t
	}
	if n := p["selected_installment_number"]; n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 {
			return pay.CodeOrder{}, fenfu.FieldError("selected_installment_number",
				"selected_installment_number must be 3, 6 or 12 (or 1, in full)")
		}
		o.Installments = v
	}
	return o, nil
}

// v2Micropay answers /pay/micropay as WeChat Pay does: the paid order's
// fields, or result_code FAIL with err_code USERPAYING while the consumer
// confirms, or the payment's err_code.
func (a *API) v2Micropay(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
	c, err := v2CodeOrder(mchid, p)
	if err != nil {
		return nil, err
	}
	o, err := a.Pay.Micropay(ctx, c)
	if err != nil {
		if o.TradeState() == pay.Revoked {
			// WeChat Pay's micropay answers an order resent after it was
			// reversed with ORDERREVERSED.
			return map[string]string{"err_code": string(fenfu.V2OrderReversed)}, err
		}
		return nil, err
	}
	out := a.V2Transaction(o)
	delete(out, "trade_state")
	delete(out, "trade_state_desc")
	out["device_info"] = p["device_info"]
	return out, nil
}

// v2Reverse answers /secapi/pay/reverse: recall Y when the till must call
// it again, N otherwise, in a success and a failure alike.
func (a *API) v2Reverse(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
	if p["transaction_id"] == "" && p["out_trade_no"] == "" {
		return map[string]string{"recall": "N"}, fenfu.FieldError("out_trade_no", "one of transaction_id and out_trade_no is required")
	}
	rv, err := a.Pay.Reverse(ctx, mchid, p["transaction_id"], p["out_trade_no"])
	recall := "N"
	if rv.Recall {
		recall = "Y"
	}
	return map[string]string{"recall": recall}, err
}
