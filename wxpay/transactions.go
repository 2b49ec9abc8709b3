package wxpay

import (
	"context"
	"net/http"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/pay"
)

type amountReq struct {
	Total    *fenfu.Fen `json:"total"`
	Currency string     `json:"currency"`
}

type nativeReq struct {
	AppID       string     `json:"appid"`
	MchID       string     `json:"mchid"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	TimeExpire  *time.Time `json:"time_expire"`
	Attach      string     `json:"attach"`
	NotifyURL   string     `json:"notify_url"`
	GoodsTag    string     `json:"goods_tag"`
	LimitPay    []string   `json:"limit_pay"`
	Amount      *amountReq `json:"amount"`
	SceneInfo   *struct {
		PayerClientIP string `json:"payer_client_ip"`
		DeviceID      string `json:"device_id"`
	} `json:"scene_info"`
	SubsidyInfo *struct {
		SubsidyDetail []subsidyDetail `json:"subsidy_detail"`
	} `json:"subsidy_info"`
	// PreselectCredit is fenfu's own field, not WeChat Pay's: the
	// merchant's "pay with credit" box, which opens the cashier on 分付
	// with the installment choices.
	PreselectCredit bool `json:"preselect_credit"`
}

// subsidyDetail is WeChat Pay's 分付 merchant-subsidy detail: the
// installment counts offered, each with who bears its fee (100: the
// merchant, 0: the consumer). fenfu accepts it on Native orders.
type subsidyDetail struct {
	SubsidyPeriodType string `json:"subsidy_period_type"`
	SubsidyPlan       []struct {
		SubsidyInstallmentNum *int `json:"subsidy_installment_num"`
		SubsidyPercent        *int `json:"subsidy_percent"`
	} `json:"subsidy_plan"`
}

// offers reads the installment offers of a create request.
func (r nativeReq) offers() ([]pay.Offer, error) {
	if r.SubsidyInfo == nil {
		return nil, nil
	}
	var out []pay.Offer
	for _, d := range r.SubsidyInfo.SubsidyDetail {
		if d.SubsidyPeriodType != "" && d.SubsidyPeriodType != "PERIOD" {
			return nil, fenfu.FieldError("subsidy_info.subsidy_detail.subsidy_period_type",
				"subsidy_period_type must be PERIOD: fenfu subsidises whole installments, not days")
		}
		for _, p := range d.SubsidyPlan {
			if p.SubsidyInstallmentNum == nil || p.SubsidyPercent == nil {
				return nil, fenfu.FieldError("subsidy_info.subsidy_detail.subsidy_plan",
					"each subsidy_plan needs subsidy_installment_num and subsidy_percent")
			}
			payer, ok := credit.FeePayerOf(*p.SubsidyPercent)
			if !ok {
				return nil, fenfu.FieldError("subsidy_info.subsidy_detail.subsidy_plan.subsidy_percent",
					"subsidy_percent must be 0 (the payer bears the fee) or 100 (the merchant does), not %d", *p.SubsidyPercent)
			}
			out = append(out, pay.Offer{Count: *p.SubsidyInstallmentNum, MerchantPays: payer == credit.MerchantPays})
		}
	}
	return out, nil
}

func (a *API) createNative(ctx context.Context, r *request) (int, any, error) {
	var req nativeReq
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	if err := requireMchID(r.MchID, req.MchID, "mchid"); err != nil {
		return 0, nil, err
	}
	if req.Amount == nil || req.Amount.Total == nil {
		return 0, nil, fenfu.FieldError("amount.total", "amount.total is required")
	}
	offers, err := req.offers()
	if err != nil {
		return 0, nil, err
	}
	n := pay.NativeOrder{Offers: offers, PreselectCredit: req.PreselectCredit, MchID: r.MchID, AppID: req.AppID, Description: req.Description, OutTradeNo: req.OutTradeNo,
		Attach: req.Attach, NotifyURL: req.NotifyURL, GoodsTag: req.GoodsTag, LimitPay: req.LimitPay,
		Total: *req.Amount.Total, Currency: req.Amount.Currency}
	if req.TimeExpire != nil {
		n.TimeExpire = *req.TimeExpire
	}
	if s := req.SceneInfo; s != nil {
		n.Scene = pay.Scene{DeviceID: s.DeviceID, PayerClientIP: s.PayerClientIP}
	}
	o, err := a.Pay.CreateNative(ctx, n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"code_url": a.CodeURL(o.Token)}, nil
}

// CodeURL returns the URL a QR code carries for a token.
func (a *API) CodeURL(token string) string { return a.PublicURL() + "/q/" + token }

type txAmount struct {
	Currency      string     `json:"currency"`
	PayerCurrency string     `json:"payer_currency"`
	PayerTotal    *fenfu.Fen `json:"payer_total,omitempty"`
	Total         fenfu.Fen  `json:"total"`
}

type txPayer struct {
	OpenID string `json:"openid"`
}

// Transaction is the v3 transaction object, as the query API returns it.
type Transaction struct {
	Amount         txAmount `json:"amount"`
	AppID          string   `json:"appid"`
	Attach         string   `json:"attach"`
	BankType       string   `json:"bank_type,omitempty"`
	MchID          string   `json:"mchid"`
	OutTradeNo     string   `json:"out_trade_no"`
	Payer          *txPayer `json:"payer,omitempty"`
	SuccessTime    string   `json:"success_time,omitempty"`
	TradeState     string   `json:"trade_state"`
	TradeStateDesc string   `json:"trade_state_desc"`
	TradeType      string   `json:"trade_type,omitempty"`
	TransactionID  string   `json:"transaction_id,omitempty"`
	// InstallmentInfo is set for a payment the payer chose to repay in
	// installments.
	InstallmentInfo *InstallmentInfo `json:"installment_info,omitempty"`
	// SceneInfo is a code payment's terminal, as the till sent it.
	SceneInfo *TxScene `json:"scene_info,omitempty"`
}

// TxScene is a code payment transaction's scene_info.
type TxScene struct {
	DeviceID string `json:"device_id"`
}

// InstallmentInfo is WeChat Pay's 分付 installment_info: whether the
// merchant bears the installment fee, and the count the payer chose.
type InstallmentInfo struct {
	UseSubsidy                bool `json:"use_subsidy"`
	SelectedInstallmentNumber int  `json:"selected_installment_number"`
}

// Bank types that tell the channel of a paid order.
const (
	BankTypeCredit  = "FENFU_CREDIT" // paid on the consumer's credit line
	BankTypeBalance = "OTHERS"       // paid from balance, as WeChat's 零钱
)

// TransactionOf renders an order as the protocol's transaction object.
func (a *API) TransactionOf(o pay.Order) Transaction {
	t := Transaction{
		Amount:         txAmount{Currency: o.Currency, PayerCurrency: o.Currency, Total: o.Total},
		AppID:          o.AppID,
		Attach:         o.Attach,
		MchID:          o.MchID,
		OutTradeNo:     o.OutTradeNo,
		TradeState:     string(o.TradeState()),
		TradeStateDesc: o.TradeStateDesc(),
	}
	if o.TradeType == pay.Micropay && o.Scene.DeviceID != "" {
		t.SceneInfo = &TxScene{DeviceID: o.Scene.DeviceID}
	}
	if o.State == pay.Success || o.State == pay.Refund {
		total := o.Total
		t.Amount.PayerTotal = &total
		t.Payer = &txPayer{OpenID: OpenID(a.Keys.Secret, o.AppID, o.ConsumerID)}
		t.SuccessTime = timeString(o.PaidAt)
		t.TradeType = o.TradeType
		t.TransactionID = o.ID
		t.BankType = BankType(string(o.Channel))
		if o.Channel == pay.ChannelCredit && o.Installments > 1 {
			x, _ := o.OfferOf(o.Installments)
			t.InstallmentInfo = &InstallmentInfo{UseSubsidy: x.MerchantPays, SelectedInstallmentNumber: o.Installments}
		}
	}
	return t
}

func (a *API) queryByOutTradeNo(ctx context.Context, r *request) (int, any, error) {
	if err := requireMchID(r.MchID, r.URL.Query().Get("mchid"), "mchid"); err != nil {
		return 0, nil, err
	}
	o, err := a.Pay.QueryByOutTradeNo(ctx, r.MchID, r.PathValue("out_trade_no"))
	if err != nil {
		return 0, nil, err
	}
	t := a.TransactionOf(o)
	r.note = t.TradeState + " " + t.BankType
	return http.StatusOK, t, nil
}

func (a *API) queryByID(ctx context.Context, r *request) (int, any, error) {
	if err := requireMchID(r.MchID, r.URL.Query().Get("mchid"), "mchid"); err != nil {
		return 0, nil, err
	}
	o, err := a.Pay.QueryByID(ctx, r.MchID, r.PathValue("transaction_id"))
	if err != nil {
		return 0, nil, err
	}
	if o.State != pay.Success && o.State != pay.Refund {
		// transaction_id is only issued to the merchant once paid.
		return 0, nil, fenfu.Errorf(fenfu.OrderNotExist, "order does not exist")
	}
	t := a.TransactionOf(o)
	r.note = t.TradeState + " " + t.BankType
	return http.StatusOK, t, nil
}

func (a *API) closeOrder(ctx context.Context, r *request) (int, any, error) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	if err := requireMchID(r.MchID, req.MchID, "mchid"); err != nil {
		return 0, nil, err
	}
	if err := a.Pay.Close(ctx, r.MchID, r.PathValue("out_trade_no")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
