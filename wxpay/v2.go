package wxpay

import (
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/route"
)

// unknownV2Key stands in for the API v2 key of a merchant that has none,
// or does not exist, so that its sign is computed like any other; no sign
// is accepted with it.
const unknownV2Key = "fenfu-no-api-v2-key-is-set-here!"

// v2TimeLayout is v2's time format, in Asia/Shanghai.
const v2TimeLayout = "20060102150405"

// RegisterV2 adds the API v2 (XML) routes to mux.
func (a *API) RegisterV2(mux route.Mux) {
	mux.Handle("POST /pay/unifiedorder", a.v2(a.v2UnifiedOrder))
	mux.Handle("POST /pay/orderquery", a.v2(a.v2OrderQuery))
	mux.Handle("POST /pay/closeorder", a.v2(a.v2CloseOrder))
	mux.Handle("POST /pay/micropay", a.v2(a.v2Micropay))
	mux.Handle("POST /secapi/pay/reverse", a.v2(a.v2Reverse))
	mux.Handle("POST /secapi/pay/refund", a.v2(a.v2Refund))
	mux.Handle("POST /pay/refundquery", a.v2(a.v2RefundQuery))
	mux.Handle("POST /pay/downloadbill", http.HandlerFunc(a.v2DownloadBill))
}

// v2handler answers a verified v2 request with business fields.
type v2handler func(ctx context.Context, mchid string, p map[string]string) (map[string]string, error)

func (a *API) v2(h v2handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := a.serveV2(r, h)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(EncodeV2(out))
	})
}

// serveV2 reads, authenticates and answers one v2 request. Communication
// failures (unreadable XML, bad signature) answer return_code FAIL;
// business failures answer return_code SUCCESS, result_code FAIL, with
// err_code and err_code_des and any fields the handler returned with its
// error, signed like a success.
//
// An unknown mch_id, a merchant without an API v2 key and a wrong sign
// get one answer, WeChat's 签名错误, so that unsigned requests cannot
// tell which merchants exist. Only a request whose sign verifies spends
// the merchant's rate; the others spend their source address's.
func (a *API) serveV2(r *http.Request, h v2handler) map[string]string {
	src, now := fenfu.Source(r.RemoteAddr), a.Clock.Now()
	if a.Failures.Exhausted(src, now) {
		return map[string]string{"return_code": "FAIL", "return_msg": string(fenfu.FrequencyLimited) + ": " + fenfu.AsError(failedTooOften()).Message}
	}
	fail := func(msg string) map[string]string {
		a.Failures.Allow(src, now)
		return map[string]string{"return_code": "FAIL", "return_msg": msg}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		return fail(string(fenfu.V2XMLFormatError) + ": request body too large or unreadable")
	}
	p, err := ParseV2(body)
	if err != nil {
		return fail(string(fenfu.V2XMLFormatError) + ": " + err.Error())
	}
	mchid := p["mch_id"]
	signType := p["sign_type"]
	if signType == "" {
		signType = SignMD5
	}
	if signType != SignMD5 && signType != SignHMACSHA256 {
		return fail(string(fenfu.ParamError) + ": sign_type must be MD5 or HMAC-SHA256")
	}
	if mchid == "" || p["nonce_str"] == "" || p["sign"] == "" || p["appid"] == "" {
		return fail(string(fenfu.V2LackParams) + ": appid, mch_id, nonce_str and sign are required")
	}
	if len(p["nonce_str"]) > 32 {
		return fail(string(fenfu.ParamError) + ": nonce_str must be at most 32 characters")
	}
	m, err := a.Merchants.Fresh(r.Context(), mchid) // its v2 key as of now
	if err != nil && fenfu.ErrorCode(err) != fenfu.MchNotExists {
		a.Log.Log(r.Context(), slog.LevelError, "v2 request failed", "path", r.URL.Path, "mchid", mchid, "error", err.Error())
		return map[string]string{"return_code": "FAIL", "return_msg": fenfu.SystemError.V2() + ": " + fenfu.SystemError.Message()}
	}
	// The sign is computed whatever the merchant, so that the answer takes
	// as long for a merchant that does not exist.
	key := m.APIv2Key
	if key == "" {
		key = unknownV2Key
	}
	want := SignV2(p, key, signType)
	if subtle.ConstantTimeCompare([]byte(strings.ToUpper(p["sign"])), []byte(want)) != 1 || m.APIv2Key == "" {
		reason := "the sign does not verify"
		switch {
		case err != nil:
			reason = "no such merchant"
		case m.APIv2Key == "":
			reason = "the merchant has no API v2 key (fenfu merchant set-v2-key)"
		}
		a.Log.Info("v2 request failed", "path", r.URL.Path, "mchid", mchid, "error", reason)
		return fail("签名错误: " + string(fenfu.V2SignError) + ", sign " + signType + " over the sorted non-empty parameters and &key=API v2 key")
	}
	if !a.Limits.Allow(mchid, now) {
		return map[string]string{"return_code": "FAIL", "return_msg": string(fenfu.FrequencyLimited) + ": the merchant is over its request rate; slow down and retry"}
	}
	out := map[string]string{"return_code": "SUCCESS", "return_msg": "OK", "appid": p["appid"], "mch_id": mchid,
		"nonce_str": a.IDs.Nonce(32)}
	if p["appid"] != m.AppID {
		out["result_code"], out["err_code"], out["err_code_des"] = "FAIL", string(fenfu.V2AppIDMismatch), fenfu.V2AppIDMismatch.Message()
	} else if fields, err := h(r.Context(), mchid, p); err != nil {
		e := fenfu.AsError(err)
		code := e.Code.V2()
		if e.Code == fenfu.SystemError || e.Err != nil {
			a.Log.Log(r.Context(), e.LogLevel(), "v2 request failed", "path", r.URL.Path, "mchid", mchid, "error", err.Error())
		}
		out["result_code"], out["err_code"], out["err_code_des"] = "FAIL", code, e.Message
		for k, v := range fields { // what a failure answers too, as reverse's recall
			out[k] = v
		}
	} else {
		out["result_code"] = "SUCCESS"
		for k, v := range fields {
			out[k] = v
		}
	}
	out["sign"] = SignV2(out, m.APIv2Key, signType)
	return out
}

// fen reads an amount parameter: a positive number of fen no larger than
// any order may be (pay.MaxTotal).
func fen(p map[string]string, field string) (fenfu.Fen, error) {
	v, err := strconv.ParseInt(p[field], 10, 64)
	if err != nil || v <= 0 || v > pay.MaxTotal {
		return 0, fenfu.FieldError(field, "%s must be a positive number of fen, at most %d", field, int64(pay.MaxTotal))
	}
	return fenfu.Fen(v), nil
}

func (a *API) v2UnifiedOrder(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
	if p["trade_type"] != "NATIVE" {
		return nil, fenfu.FieldError("trade_type", "trade_type must be NATIVE (QR code payment)")
	}
	if p["spbill_create_ip"] == "" {
		return nil, fenfu.FieldError("spbill_create_ip", "spbill_create_ip is required")
	}
	total, err := fen(p, "total_fee")
	if err != nil {
		return nil, err
	}
	n := pay.NativeOrder{MchID: mchid, AppID: p["appid"], Description: p["body"], OutTradeNo: p["out_trade_no"],
		Attach: p["attach"], NotifyURL: p["notify_url"], GoodsTag: p["goods_tag"], Total: total, Currency: p["fee_type"], API: "v2"}
	if p["limit_pay"] == "no_credit" {
		n.LimitPay = []string{"no_credit"}
	}
	if te := p["time_expire"]; te != "" {
		t, err := time.ParseInLocation(v2TimeLayout, te, fenfu.Shanghai)
		if err != nil {
			return nil, fenfu.FieldError("time_expire", "time_expire must be yyyyMMddHHmmss")
		}
		n.TimeExpire = t
	}
	o, err := a.Pay.CreateNative(ctx, n)
	if err != nil {
		return nil, err
	}
	return map[string]string{"trade_type": "NATIVE", "prepay_id": "wx" + o.ID, "code_url": a.CodeURL(o.Token),
		"device_info": p["device_info"]}, nil
}

func (a *API) v2Order(ctx context.Context, mchid string, p map[string]string) (pay.Order, error) {
	if id := p["transaction_id"]; id != "" {
		return a.Pay.QueryByID(ctx, mchid, id)
	}
	if p["out_trade_no"] == "" {
		return pay.Order{}, fenfu.FieldError("out_trade_no", "one of transaction_id and out_trade_no is required")
	}
	return a.Pay.QueryByOutTradeNo(ctx, mchid, p["out_trade_no"])
}

// V2Transaction renders an order as v2's order fields.
func (a *API) V2Transaction(o pay.Order) map[string]string {
	t := a.TransactionOf(o)
	out := map[string]string{"trade_state": t.TradeState, "trade_state_desc": t.TradeStateDesc, "out_trade_no": o.OutTradeNo,
		"total_fee": strconv.FormatInt(int64(o.Total), 10), "fee_type": o.Currency, "attach": o.Attach, "device_info": ""}
	if o.TradeType == pay.Micropay { // a code payment's till reads its type and terminal whatever its state
		out["trade_type"], out["device_info"] = o.TradeType, o.Scene.DeviceID
	}
	if t.TransactionID != "" {
		out["transaction_id"] = t.TransactionID
		out["openid"] = t.Payer.OpenID
		out["is_subscribe"] = "N"
		out["trade_type"] = o.TradeType
		out["bank_type"] = t.BankType
		out["cash_fee"] = strconv.FormatInt(int64(o.Total), 10)
		out["time_end"] = o.PaidAt.In(fenfu.Shanghai).Format(v2TimeLayout)
	}
	return out
}

func (a *API) v2OrderQuery(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
	o, err := a.v2Order(ctx, mchid, p)
	if err != nil {
		return nil, err
	}
	return a.V2Transaction(o), nil
}

func (a *API) v2CloseOrder(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
	if p["out_trade_no"] == "" {
		return nil, fenfu.FieldError("out_trade_no", "out_trade_no is required")
	}
	return nil, a.Pay.Close(ctx, mchid, p["out_trade_no"])
}

func (a *API) v2Refund(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
	total, err := fen(p, "total_fee")
	if err != nil {
		return nil, err
	}
	refund, err := fen(p, "refund_fee")
	if err != nil {
		return nil, err
	}
	rec, err := a.Pay.Refund(ctx, pay.RefundRequest{MchID: mchid, TransactionID: p["transaction_id"], OutTradeNo: p["out_trade_no"],
		OutRefundNo: p["out_refund_no"], Reason: p["refund_desc"], NotifyURL: p["notify_url"], Refund: refund, Total: total,
		Currency: p["refund_fee_type"]})
	if err != nil {
		return nil, err
	}
	amt := strconv.FormatInt(int64(rec.Amount), 10)
	tot := strconv.FormatInt(int64(rec.Order.Total), 10)
	return map[string]string{"transaction_id": rec.OrderID, "out_trade_no": rec.Order.OutTradeNo, "out_refund_no": rec.OutRefundNo,
		"refund_id": rec.ID, "refund_fee": amt, "settlement_refund_fee": amt, "total_fee": tot, "settlement_total_fee": tot,
		"fee_type": rec.Order.Currency, "cash_fee": tot, "cash_refund_fee": amt}, nil
}

func (a *API) v2RefundQuery(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
	var list []pay.RefundRecord
	switch {
	case p["out_refund_no"] != "":
		r, err := a.Pay.QueryRefund(ctx, mchid, p["out_refund_no"])
		if err != nil {
			return nil, err
		}
		list = []pay.RefundRecord{r}
	case p["refund_id"] != "":
		r, err := a.Pay.RefundByID(ctx, p["refund_id"])
		if err != nil || r.MchID != mchid {
			return nil, fenfu.Errorf(fenfu.ResourceNotExists, "refund does not exist")
		}
		list = []pay.RefundRecord{r}
	default:
		o, err := a.v2Order(ctx, mchid, p)
		if err != nil {
			return nil, err
		}
		if list, err = a.Pay.RefundsOf(ctx, o.ID); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, fenfu.Errorf(fenfu.ResourceNotExists, "the order has no refunds")
		}
	}
	o := list[0].Order
	out := map[string]string{"transaction_id": o.ID, "out_trade_no": o.OutTradeNo, "total_fee": strconv.FormatInt(int64(o.Total), 10),
		"cash_fee": strconv.FormatInt(int64(o.Total), 10), "fee_type": o.Currency, "refund_count": strconv.Itoa(len(list))}
	for i, r := range list {
		n := strconv.Itoa(i)
		out["out_refund_no_"+n] = r.OutRefundNo
		out["refund_id_"+n] = r.ID
		out["refund_fee_"+n] = strconv.FormatInt(int64(r.Amount), 10)
		out["refund_status_"+n] = string(r.Status)
		out["refund_channel_"+n] = "ORIGINAL"
		out["refund_recv_accout_"+n] = RefundOf(r).UserReceivedAccount
		if !r.SuccessAt.IsZero() {
			out["refund_success_time_"+n] = r.SuccessAt.In(fenfu.Shanghai).Format(time.DateTime)
		}
	}
	return out, nil
}
