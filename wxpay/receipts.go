package wxpay

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/receipt"
	"github.com/fenfu/fenfu/route"
)

// Receipts of paid orders: the merchant's signed route answers a receipt
// as ESC/POS bytes or a PDF; the public lookup page its QR leads to says
// whether a receipt is genuine, from its transaction_id and verification
// code.

// ReceiptFontPackage is the Debian package of the default receipt font.
const ReceiptFontPackage = "fonts-droid-fallback"

func (a *API) registerReceipts(mux route.Mux) {
	mux.Handle("GET /v3/fenfu/transactions/out-trade-no/{out_trade_no}/receipt", a.v3(a.receiptByOutTradeNo))
	mux.Handle("GET /v3/fenfu/transactions/id/{transaction_id}/receipt", a.v3(a.receiptByID))
	mux.HandleFunc("GET /r/{transaction_id}", a.lookupReceipt)
}

func (a *API) receiptByOutTradeNo(ctx context.Context, r *request) (int, any, error) {
	return a.receiptOf(ctx, r, func() (pay.Order, error) {
		return a.Pay.QueryByOutTradeNo(ctx, r.MchID, r.PathValue("out_trade_no"))
	})
}

func (a *API) receiptByID(ctx context.Context, r *request) (int, any, error) {
	return a.receiptOf(ctx, r, func() (pay.Order, error) {
		o, err := a.Pay.QueryByID(ctx, r.MchID, r.PathValue("transaction_id"))
		if err == nil && !paid(o) {
			// transaction_id is only issued to the merchant once paid.
			return o, fenfu.Errorf(fenfu.OrderNotExist, "order does not exist")
		}
		return o, err
	})
}

// receiptOf answers the receipt of the order read in the format the
// query asks for: ?format=escpos-58|escpos-80|pdf, and mchid, if given,
// the signer's.
func (a *API) receiptOf(ctx context.Context, r *request, read func() (pay.Order, error)) (int, any, error) {
	q := r.URL.Query()
	if q.Has("mchid") {
		if err := requireMchID(r.MchID, q.Get("mchid"), "mchid"); err != nil {
			return 0, nil, err
		}
	}
	f, err := receipt.ParseFormat("format", q.Get("format"))
	if err != nil {
		return 0, nil, err
	}
	o, err := read()
	if err != nil {
		return 0, nil, err
	}
	data, err := a.RenderReceipt(ctx, o, f)
	if err != nil {
		return 0, nil, err
	}
	r.note = string(f)
	return http.StatusOK, rawFile{contentType: f.ContentType(), data: data}, nil
}

// RenderReceipt renders a paid order's receipt in the format: the one
// path of the merchant route and the receipt command. An order not paid
// is INVALID_REQUEST; a PDF without the font a SYSTEM_ERROR that names
// the setting and the package to install.
func (a *API) RenderReceipt(ctx context.Context, o pay.Order, f receipt.Format) ([]byte, error) {
	if !paid(o) {
		e := fenfu.Errorf(fenfu.InvalidRequest, "order %s is %s: only a paid order has a receipt", o.OutTradeNo, o.TradeState())
		e.Remedy = "Ask for the receipt once the order's trade_state is SUCCESS."
		return nil, e
	}
	rc, err := a.Receipt(ctx, o)
	if err != nil {
		return nil, err
	}
	if f == receipt.PDF {
		release, err := a.pdfSlot(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	data, err := receipt.Render(rc, f, a.ReceiptFont)
	if errors.Is(err, receipt.ErrNoFont) {
		e := fenfu.Errorf(fenfu.SystemError, "this server has no CJK font for PDF receipts: none at --cjk-font (FENFU_CJK_FONT, formerly --receipt-font) %s", a.ReceiptFontPath)
		e.Remedy = "The platform's operators install " + ReceiptFontPackage + " (apt-get install " + ReceiptFontPackage +
			") or set --cjk-font to a CJK TrueType (.ttf) font, and restart; escpos-58 and escpos-80 receipts work meanwhile."
		return nil, e
	}
	if err != nil {
		return nil, fenfu.Internal("wxpay.RenderReceipt", err)
	}
	return data, nil
}

// pdfWait is how long a PDF receipt waits for a slot before it is
// refused.
const pdfWait = 2 * time.Second

// pdfSlot takes one of the slots for drawing a PDF receipt, one a core:
// each PDF parses the CJK font anew (some 27 MB and 30 to 50 ms of a
// core), so many at once would take the server's memory and CPU from
// every other request. A receipt that finds no slot within pdfWait is
// refused with FREQUENCY_LIMITED.
func (a *API) pdfSlot(ctx context.Context) (release func(), err error) {
	a.pdfOnce.Do(func() { a.pdfs = make(chan struct{}, runtime.GOMAXPROCS(0)) })
	t := time.NewTimer(pdfWait)
	defer t.Stop()
	select {
	case a.pdfs <- struct{}{}:
		return func() { <-a.pdfs }, nil
	case <-t.C:
		e := fenfu.Errorf(fenfu.FrequencyLimited, "too many PDF receipts are being drawn at once")
		e.Remedy = "Retry in a moment, one receipt at a time; escpos-58 and escpos-80 receipts are not limited this way."
		return nil, e
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func paid(o pay.Order) bool { return o.State == pay.Success || o.State == pay.Refund }

// Receipt is the receipt of a paid order: its merchant, terminal, numbers
// and amount, the plan of a credit payment as the credit store keeps it
// (the same read as the cashier's page after paying), and the
// verification code with its lookup URL.
func (a *API) Receipt(ctx context.Context, o pay.Order) (receipt.Receipt, error) {
	m, err := a.Merchants.Get(ctx, o.MchID)
	if err != nil {
		return receipt.Receipt{}, err
	}
	code := a.receiptCodes().Code(o.ID, o.Total, o.PaidAt)
	rc := receipt.Receipt{Merchant: m.Name, MchID: o.MchID, DeviceID: o.Scene.DeviceID, TransactionID: o.ID, OutTradeNo: o.OutTradeNo,
		PaidAt: o.PaidAt, Total: o.Total, Credit: o.Channel == pay.ChannelCredit, Code: code, LookupURL: a.LookupURL(o.ID, code)}
	if rc.Credit && a.Repay != nil {
		p, ok, err := a.Repay.PlanOf(ctx, o.AttemptID)
		if err != nil {
			return receipt.Receipt{}, err
		}
		if ok {
			rc.Fee, rc.MerchantPaysFee = p.Fee, p.FeePayer == credit.MerchantPays
			for _, in := range p.Schedule {
				rc.Installments = append(rc.Installments, receipt.Installment{Seq: in.Seq, DueOn: in.DueOn, Due: in.Principal + in.Fee, Fee: in.Fee})
			}
		}
	}
	return rc, nil
}

// LookupURL is the public page that checks a receipt's code, on the
// public base URL as code_url is.
func (a *API) LookupURL(transactionID, code string) string {
	return a.PublicURL() + "/r/" + url.PathEscape(transactionID) + "?v=" + url.QueryEscape(code)
}

func (a *API) receiptCodes() *receipt.Codes { return receipt.NewCodes(a.Keys.Secret) }

// Lookup is what the public lookup page says of a receipt: whether it is
// genuine, and of a genuine one only the merchant's name, the amount, the
// time paid and whether it was refunded; nothing of the consumer.
type Lookup struct {
	Genuine  bool      `json:"genuine"`
	Merchant string    `json:"merchant,omitempty"`
	Total    fenfu.Fen `json:"total,omitempty"`
	Currency string    `json:"currency,omitempty"`
	PaidAt   string    `json:"paid_at,omitempty"`
	State    string    `json:"state,omitempty"` // paid, partly_refunded or refunded
	Message  string    `json:"message"`
}

// lookupParams checks the lookup page's parameters: a transaction_id of
// at most 64 letters, digits, '-' and '_', and a code of CodeDigits
// digits. Anything else cannot be a receipt's.
func lookupParams(transactionID, code string) bool {
	if transactionID == "" || len(transactionID) > 64 || len(code) != receipt.CodeDigits {
		return false
	}
	for _, c := range []byte(transactionID) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// lookup checks a receipt. A wrong transaction_id, code, or an order not
// paid all answer the same "not genuine", so the answer tells nothing of
// which part was wrong.
func (a *API) lookup(ctx context.Context, transactionID, code string) (Lookup, error) {
	notGenuine := Lookup{Message: "This receipt is not genuine: no payment on fenfu has this transaction number and verification code."}
	if !lookupParams(transactionID, code) {
		return notGenuine, nil
	}
	o, err := a.Pay.Get(ctx, transactionID)
	if fenfu.ErrorCode(err) == fenfu.OrderNotExist {
		return notGenuine, nil
	}
	if err != nil {
		return Lookup{}, err
	}
	if !paid(o) || !a.receiptCodes().Check(code, o.ID, o.Total, o.PaidAt) {
		return notGenuine, nil
	}
	m, err := a.Merchants.Get(ctx, o.MchID)
	if err != nil {
		return Lookup{}, err
	}
	l := Lookup{Genuine: true, Merchant: m.Name, Total: o.Total, Currency: o.Currency, PaidAt: timeString(o.PaidAt), State: "paid",
		Message: "This receipt is genuine: the payment was made on fenfu."}
	switch {
	case o.Refunded >= o.Total:
		l.State = "refunded"
		l.Message = "This receipt is genuine, and the payment was refunded since."
	case o.Refunded > 0:
		l.State = "partly_refunded"
		l.Message = "This receipt is genuine, and part of the payment was refunded since."
	}
	return l, nil
}

// lookupReceipt answers GET /r/{transaction_id}?v=CODE, the page a
// receipt's QR leads to: HTML for browsers, JSON with ?format=json or
// for a client that does not ask for HTML. A lookup that finds no genuine
// receipt spends the source address's budget of failed lookups (Lookups,
// apart from the failed authentications of the merchant API); an address
// out of it is refused.
func (a *API) lookupReceipt(w http.ResponseWriter, r *http.Request) {
	src, now := fenfu.Source(r.RemoteAddr), a.Clock.Now()
	html := r.URL.Query().Get("format") != "json" && strings.Contains(r.Header.Get("Accept"), "text/html")
	status := http.StatusOK
	var l Lookup
	if a.Lookups.Exhausted(src, now) {
		status, l = http.StatusTooManyRequests, Lookup{Message: "Too many receipts looked up from this address were not genuine; retry after a pause."}
	} else {
		var err error
		l, err = a.lookup(r.Context(), r.PathValue("transaction_id"), r.URL.Query().Get("v"))
		if err != nil {
			a.Log.Error("receipt lookup", "error", err)
			status, l = http.StatusInternalServerError, Lookup{Message: "The receipt could not be checked now; retry in a moment."}
		} else if !l.Genuine {
			a.Lookups.Allow(src, now)
			status = http.StatusNotFound
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !html {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(l)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_ = lookupPage.Execute(w, struct {
		Lookup
		Amount, Paid string
		Unchecked    bool
	}{l, fenfu.Yuan(l.Total), stampOf(l.PaidAt), status != http.StatusOK && status != http.StatusNotFound})
}

// stampOf shows an RFC 3339 time to the second, Asia/Shanghai.
func stampOf(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.In(fenfu.Shanghai).Format(time.DateTime)
}

var lookupPage = template.Must(template.New("receipt").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>分付 · 凭证验证 Receipt check</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28em;margin:2em auto;padding:0 1em;color:#222}
.ok{color:#05713b}.bad{color:#b3261e}dt{color:#666;font-size:.9em}dd{margin:0 0 .6em}</style></head>
<body><h1>分付 · 凭证验证</h1>
{{if .Genuine}}<p class="ok"><strong>✓ 真实凭证 Genuine</strong></p>
<dl><dt>商户 Merchant</dt><dd>{{.Merchant}}</dd>
<dt>金额 Amount</dt><dd>￥{{.Amount}}</dd>
<dt>支付时间 Paid</dt><dd>{{.Paid}}</dd>
<dt>状态 State</dt><dd>{{if eq .State "refunded"}}已退款 refunded{{else if eq .State "partly_refunded"}}部分退款 partly refunded{{else}}已支付 paid{{end}}</dd></dl>
{{else if not .Unchecked}}<p class="bad"><strong>✗ 非真实凭证 Not genuine</strong></p>{{end}}
<p>{{.Message}}</p></body></html>
`))
