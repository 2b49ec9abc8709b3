package wxpay

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
)

// UserIDTypes are the user_id_type values of the instal exposure API.
var UserIDTypes = []string{"UNKNOWN_USER_ID_TYPE", "OPENID", "PHONE_NO", "SP_OPENID", "SUB_OPENID"}

var (
	openidRE    = regexp.MustCompile(`^[0-9A-Za-z_\-]{1,128}$`)
	phoneHashRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	appidRE     = regexp.MustCompile(`^[0-9A-Za-z_]{1,32}$`)
)

// payerFields validates the consumer a merchant names: an openid, and
// phone_number_hash, the lowercase hex SHA-256 of the consumer's 11-digit
// phone number.
func payerFields(prefix, openid, phoneHash string) error {
	if openid != "" && !openidRE.MatchString(openid) {
		return fenfu.FieldError(prefix+"openid", "%sopenid must be 1 to 128 letters, digits, '_' or '-'", prefix)
	}
	if phoneHash != "" && !phoneHashRE.MatchString(phoneHash) {
		return fenfu.FieldError(prefix+"phone_number_hash",
			"%sphone_number_hash must be the lowercase hex SHA-256 of the 11-digit phone number (64 characters 0-9, a-f)", prefix)
	}
	return nil
}

// merchantApp checks that the request names its signer as mchid and an
// appid bound to it, and returns the merchant.
func (a *API) merchantApp(ctx context.Context, r *request, mchid, appid string) (merchant.Merchant, error) {
	if err := requireMchID(r.MchID, mchid, "mchid"); err != nil {
		return merchant.Merchant{}, err
	}
	if appid == "" {
		return merchant.Merchant{}, fenfu.FieldError("appid", "appid is required")
	}
	if !appidRE.MatchString(appid) {
		return merchant.Merchant{}, fenfu.FieldError("appid", "appid must be 1 to 32 letters, digits or '_'")
	}
	m, err := a.Merchants.Get(ctx, r.MchID)
	if err != nil {
		return m, err
	}
	if appid != m.AppID {
		return m, fenfu.FieldError("appid", "appid %s is not bound to merchant %s", appid, r.MchID)
	}
	return m, nil
}

// instalExposure answers POST /v3/pay/instal/exposure: whether the
// merchant's page should show 分付 to the consumer, decided on the
// merchant and the consumer (cohort, line, rating, risk) without an
// order.
func (a *API) instalExposure(ctx context.Context, r *request) (int, any, error) {
	var req struct {
		MchID      string `json:"mchid"`
		AppID      string `json:"appid"`
		UserIDType string `json:"user_id_type"`
		OpenID     string `json:"openid"`
		PhoneHash  string `json:"phone_number_hash"`
	}
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	m, err := a.merchantApp(ctx, r, req.MchID, req.AppID)
	if err != nil {
		return 0, nil, err
	}
	if req.UserIDType == "" {
		return 0, nil, fenfu.FieldError("user_id_type", "user_id_type is required")
	}
	if !slices.Contains(UserIDTypes, req.UserIDType) {
		return 0, nil, fenfu.FieldError("user_id_type", "user_id_type must be one of %s", strings.Join(UserIDTypes, ", "))
	}
	if err := payerFields("", req.OpenID, req.PhoneHash); err != nil {
		return 0, nil, err
	}
	switch {
	case req.UserIDType == "PHONE_NO" && req.PhoneHash == "":
		return 0, nil, fenfu.FieldError("phone_number_hash", "user_id_type PHONE_NO needs phone_number_hash")
	case slices.Contains([]string{"OPENID", "SP_OPENID", "SUB_OPENID"}, req.UserIDType) && req.OpenID == "":
		return 0, nil, fenfu.FieldError("openid", "user_id_type %s needs openid", req.UserIDType)
	}
	c, err := a.Display.Resolve(ctx, m.MchID, m.AppID, req.OpenID, req.PhoneHash)
	if err != nil {
		return 0, nil, err
	}
	x, err := a.Display.Expose(ctx, display.Ask{Merchant: m, Consumer: c, Surface: pay.SurfaceInstalAPI})
	if err != nil {
		return 0, nil, err
	}
	cr := x.Credit()
	r.note = string(cr.Reason.Code)
	return http.StatusOK, map[string]bool{"recommend_exposure": cr.Shown && cr.Usable}, nil
}

// transactionsExposure answers POST /v3/pay/transactions/exposure:
// whether to show 分付 for one of the merchant's unpaid orders and the
// consumer, and, when so, a market_exposure_token the cashier takes to
// open on 分付 and link the payment to this exposure.
func (a *API) transactionsExposure(ctx context.Context, r *request) (int, any, error) {
	var req struct {
		MchID      string `json:"mchid"`
		AppID      string `json:"appid"`
		OutTradeNo string `json:"out_trade_no"`
		Payer      struct {
			OpenID    string `json:"openid"`
			PhoneHash string `json:"phone_number_hash"`
		} `json:"payer"`
	}
	if err := decode(r.Body, &req); err != nil {
		return 0, nil, err
	}
	m, err := a.merchantApp(ctx, r, req.MchID, req.AppID)
	if err != nil {
		return 0, nil, err
	}
	if req.OutTradeNo == "" {
		return 0, nil, fenfu.FieldError("out_trade_no", "out_trade_no is required")
	}
	if err := payerFields("payer.", req.Payer.OpenID, req.Payer.PhoneHash); err != nil {
		return 0, nil, err
	}
	o, err := a.Pay.QueryByOutTradeNo(ctx, r.MchID, req.OutTradeNo)
	if err != nil {
		return 0, nil, err
	}
	switch o.TradeState() {
	case pay.NotPay:
	case pay.Success, pay.Refund:
		return 0, nil, fenfu.Errorf(fenfu.OrderPaid, "order %s is paid: there is nothing left to show", req.OutTradeNo)
	default:
		return 0, nil, fenfu.Errorf(fenfu.OrderClosed, "order %s is %s: only an unpaid order is shown", req.OutTradeNo, o.TradeState())
	}
	// The order's time is the services' (a sandbox clock's), not the
	// protocol's: the cashier decides the same way.
	if !a.Pay.Clock.Now().Before(o.ExpiresAt) {
		return 0, nil, fenfu.Errorf(fenfu.OrderClosed, "order %s has expired", req.OutTradeNo)
	}
	c, err := a.Display.Resolve(ctx, m.MchID, m.AppID, req.Payer.OpenID, req.Payer.PhoneHash)
	if err != nil {
		return 0, nil, err
	}
	x, err := a.Display.Expose(ctx, display.Ask{Order: &o, Merchant: m, Consumer: c, Surface: pay.SurfaceTransactions})
	if err != nil {
		return 0, nil, err
	}
	cr := x.Credit()
	r.note = string(cr.Reason.Code)
	out := map[string]any{"fqf_exposure": cr.Shown && cr.Usable}
	if cr.Shown && cr.Usable && a.Display.Tokens != nil {
		t := display.Token{OrderID: o.ID, ExposureID: x.Exposure.ID, Expires: o.ExpiresAt}
		if c != nil {
			t.ConsumerID = c.ID
		}
		out["market_exposure_token"] = a.Display.Tokens.Sign(t)
	}
	return http.StatusOK, out, nil
}

// exposureFunnel answers GET /v3/fenfu/exposures/funnel?begin_date=&
// end_date= (Asia/Shanghai dates, both included; default the last 7
// days): the merchant's exposures by the display reason that decided
// 分付, and how many of them were paid, and paid on 分付.
func (a *API) exposureFunnel(ctx context.Context, r *request) (int, any, error) {
	q := r.URL.Query()
	rep, err := a.Pay.FunnelDays(ctx, r.MchID, q.Get("begin_date"), q.Get("end_date"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rep, nil
}
