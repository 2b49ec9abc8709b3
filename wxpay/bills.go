package wxpay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// BillLinkTTL is how long a bill's download_url works, as WeChat's.
const BillLinkTTL = 5 * time.Minute

// BankType names the channel of a paid order as the protocol's bank_type.
func BankType(channel string) string {
	if channel == string(pay.ChannelCredit) {
		return BankTypeCredit
	}
	return BankTypeBalance
}

// rawFile is a handler's answer that is a file rather than JSON.
type rawFile struct {
	contentType string
	data        []byte
}

type billLink struct {
	HashType    string `json:"hash_type"`
	HashValue   string `json:"hash_value"`
	DownloadURL string `json:"download_url"`
}

// tradeBill answers GET /v3/bill/tradebill: the hash and a short-lived
// download link of a day's trade bill. bill_type is ALL (default),
// SUCCESS or REFUND; tar_type=GZIP asks for the gzip file; fenfu's channel
// (CREDIT, ORDINARY, or ALL by default) bills credit-pay and ordinary
// trades apart.
func (a *API) tradeBill(ctx context.Context, r *request) (int, any, error) {
	q := r.URL.Query()
	typ := q.Get("bill_type")
	if typ == "" {
		typ = bill.All
	}
	return a.billLink(ctx, r, bill.Request{MchID: r.MchID, Date: q.Get("bill_date"), Kind: bill.Trade, Type: typ})
}

// fundFlowBill answers GET /v3/bill/fundflowbill; account_type is BASIC
// (default), OPERATION or FEES.
func (a *API) fundFlowBill(ctx context.Context, r *request) (int, any, error) {
	q := r.URL.Query()
	typ := q.Get("account_type")
	if typ == "" {
		typ = bill.Basic
	}
	return a.billLink(ctx, r, bill.Request{MchID: r.MchID, Date: q.Get("bill_date"), Kind: bill.FundFlow, Type: typ})
}

func (a *API) billLink(ctx context.Context, r *request, req bill.Request) (int, any, error) {
	q := r.URL.Query()
	if req.Date == "" {
		return 0, nil, fenfu.FieldError("bill_date", "bill_date is required, YYYY-MM-DD")
	}
	var err error
	if req.Channel, err = bill.ParseChannel(q.Get("channel")); err != nil {
		return 0, nil, err
	}
	gz := false
	switch q.Get("tar_type") {
	case "":
	case "GZIP":
		gz = true
	default:
		return 0, nil, fenfu.FieldError("tar_type", "tar_type must be GZIP or absent")
	}
	f, err := a.Bills.Get(ctx, req, gz)
	if err != nil {
		return 0, nil, err
	}
	tok := a.billToken(billTicket{Request: req, Gzip: gz, Expires: a.Clock.Now().Add(BillLinkTTL).Unix()})
	return http.StatusOK, billLink{HashType: "SHA1", HashValue: f.SHA1, DownloadURL: a.PublicURL() + "/v3/billdownload/file?token=" + tok}, nil
}

// downloadBill answers GET /v3/billdownload/file: the bill file itself,
// to the merchant the link was made for, while the link lasts.
func (a *API) downloadBill(ctx context.Context, r *request) (int, any, error) {
	t, err := a.parseBillToken(r.URL.Query().Get("token"), a.Clock.Now())
	if err != nil {
		return 0, nil, err
	}
	if t.MchID != r.MchID {
		return 0, nil, fenfu.Errorf(fenfu.NoAuth, "the download link was issued to another merchant")
	}
	f, err := a.Bills.Get(ctx, t.Request, t.Gzip)
	if err != nil {
		return 0, nil, err
	}
	ct := "text/plain; charset=utf-8"
	if t.Gzip {
		ct = "application/gzip"
	}
	return http.StatusOK, rawFile{contentType: ct, data: f.Data}, nil
}

// billTicket is what a download token carries.
type billTicket struct {
	bill.Request
	Gzip    bool
	Expires int64 // Unix seconds
}

func (a *API) billMAC(payload string) []byte {
	m := hmac.New(sha256.New, a.Keys.Secret)
	m.Write([]byte("fenfu billdownload|"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// billToken signs a ticket: base64url(payload) "." base64url(HMAC).
func (a *API) billToken(t billTicket) string {
	gz := "0"
	if t.Gzip {
		gz = "1"
	}
	payload := strings.Join([]string{t.MchID, t.Kind, t.Date, t.Type, t.Channel, gz, strconv.FormatInt(t.Expires, 10)}, "|")
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(a.billMAC(payload))
}

var errBadBillToken = fenfu.FieldError("token", "the download token is not valid; request the bill again for a new download_url")

// parseBillToken checks a download token's signature and expiry.
func (a *API) parseBillToken(tok string, now time.Time) (billTicket, error) {
	var t billTicket
	p, m, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 512 {
		return t, errBadBillToken
	}
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	// The decoder skips \r and \n, so a token with line breaks in it
	// decodes like the one issued: only the token as issued is accepted.
	if err1 != nil || err2 != nil || enc.EncodeToString(payload) != p || enc.EncodeToString(mac) != m ||
		!hmac.Equal(mac, a.billMAC(string(payload))) {
		return t, errBadBillToken
	}
	f := strings.Split(string(payload), "|")
	if len(f) != 7 {
		return t, errBadBillToken
	}
	exp, err := strconv.ParseInt(f[6], 10, 64)
	if err != nil {
		return t, errBadBillToken
	}
	t = billTicket{Request: bill.Request{MchID: f[0], Kind: f[1], Date: f[2], Type: f[3], Channel: f[4]}, Gzip: f[5] == "1", Expires: exp}
	if now.Unix() > exp {
		e := fenfu.Errorf(fenfu.InvalidRequest, "the download_url expired %s after it was issued", BillLinkTTL)
		e.Remedy = "Request the bill again and download it within 5 minutes."
		return t, e
	}
	return t, nil
}

// reconcileRequest is the body of POST /v3/fenfu/bill/reconcile: the
// merchant's records of a day, in fen, compared with its trade bill.
type reconcileRequest struct {
	BillDate string       `json:"bill_date"`
	Channel  string       `json:"channel"`
	Records  []bill.Entry `json:"records"`
}

// reconcile answers POST /v3/fenfu/bill/reconcile with every difference
// between the merchant's records and its trade bill of the day.
func (a *API) reconcile(ctx context.Context, r *request) (int, any, error) {
	var in reconcileRequest
	if err := decode(r.Body, &in); err != nil {
		return 0, nil, err
	}
	ch, err := bill.ParseChannel(in.Channel)
	if err != nil {
		return 0, nil, err
	}
	for i, e := range in.Records {
		if e.OutTradeNo == "" || (e.State != "SUCCESS" && e.State != "REFUND") || e.Amount < 0 {
			return 0, nil, fenfu.FieldError("records["+strconv.Itoa(i)+"]",
				"each record needs out_trade_no, state SUCCESS or REFUND, and a non-negative amount in fen")
		}
	}
	var entries []bill.Entry
	f, err := a.Bills.Get(ctx, bill.Request{MchID: r.MchID, Date: in.BillDate, Kind: bill.Trade, Type: bill.All, Channel: ch}, false)
	switch {
	case err == nil:
		if entries, err = bill.ParseTrade(bytes.NewReader(f.Data)); err != nil {
			return 0, nil, fenfu.Internal("wxpay.reconcile", err)
		}
	case fenfu.ErrorCode(err) == fenfu.NoStatementExist:
		// A day without trades: every record is missing from the bill,
		// unless the day has not ended.
		if _, _, cerr := a.Bills.Check(bill.Request{MchID: r.MchID, Date: in.BillDate, Kind: bill.Trade, Type: bill.All, Channel: ch}); cerr != nil {
			return 0, nil, cerr
		}
	default:
		return 0, nil, err
	}
	return http.StatusOK, bill.Reconcile(entries, in.Records), nil
}

// settlements answers GET /v3/fenfu/settlements?from=&to=: the merchant's
// settlements, by business day.
func (a *API) settlements(ctx context.Context, r *request) (int, any, error) {
	q := r.URL.Query()
	f := settle.Filter{MchID: r.MchID, From: q.Get("from"), To: q.Get("to"), Date: q.Get("settle_date")}
	for name, v := range map[string]string{"from": f.From, "to": f.To, "settle_date": f.Date} {
		if v != "" {
			if _, err := settle.Day(v); err != nil {
				return 0, nil, fenfu.FieldError(name, "%s must be a date, YYYY-MM-DD", name)
			}
		}
	}
	if ch := q.Get("channel"); ch != "" {
		c, err := pay.ParseChannel(ch)
		if err != nil {
			return 0, nil, err
		}
		f.Channel = string(c)
	}
	list, err := a.Settle.List(ctx, f)
	if err != nil {
		return 0, nil, err
	}
	if list == nil {
		list = []settle.Settlement{}
	}
	return http.StatusOK, map[string]any{"data": list, "total_count": len(list)}, nil
}

// exceptionRequest is the body of POST /v3/fenfu/settlement-exceptions.
type exceptionRequest struct {
	SettleDate  string `json:"settle_date"`
	OutTradeNo  string `json:"out_trade_no"`
	Description string `json:"description"`
	Attachment  *struct {
		Name    string `json:"name"`
		Content string `json:"content"` // base64
	} `json:"attachment"`
}

// fileException answers POST /v3/fenfu/settlement-exceptions: the
// merchant files a settlement exception request, answered within 24 hours.
func (a *API) fileException(ctx context.Context, r *request) (int, any, error) {
	var in exceptionRequest
	if err := decode(r.Body, &in); err != nil {
		return 0, nil, err
	}
	nx := settle.NewException{SettleDate: in.SettleDate, OutTradeNo: in.OutTradeNo, Description: in.Description}
	if in.Attachment != nil {
		data, err := base64.StdEncoding.DecodeString(in.Attachment.Content)
		if err != nil {
			return 0, nil, fenfu.FieldError("attachment.content", "attachment.content must be standard base64")
		}
		nx.AttachmentName, nx.Attachment = in.Attachment.Name, data
	}
	x, err := a.Settle.FileException(ctx, a.IDs, r.MchID, nx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, x, nil
}

// getException answers GET /v3/fenfu/settlement-exceptions/{id}: its
// status, SLA and answer, with the settlements it concerns.
func (a *API) getException(ctx context.Context, r *request) (int, any, error) {
	x, err := a.Settle.Exception(ctx, r.MchID, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, x, nil
}

// listExceptions answers GET /v3/fenfu/settlement-exceptions.
func (a *API) listExceptions(ctx context.Context, r *request) (int, any, error) {
	list, err := a.Settle.Exceptions(ctx, r.MchID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"data": list, "total_count": len(list)}, nil
}

// v2DownloadBill answers POST /pay/downloadbill (API v2): the trade bill
// itself on success, as text or, with tar_type GZIP, gzip; on failure the
// XML <return_code>FAIL</return_code> with return_msg and error_code, as
// WeChat answers. bill_date is YYYYMMDD.
func (a *API) v2DownloadBill(w http.ResponseWriter, r *http.Request) {
	var file []byte
	gz, missing := false, false
	out := a.serveV2(r, func(ctx context.Context, mchid string, p map[string]string) (map[string]string, error) {
		d, err := time.ParseInLocation("20060102", p["bill_date"], fenfu.Shanghai)
		if err != nil || d.Format("20060102") != p["bill_date"] {
			return nil, fenfu.FieldError("bill_date", "bill_date must be a date, YYYYMMDD")
		}
		typ := p["bill_type"]
		if typ == "" {
			typ = bill.All
		}
		switch p["tar_type"] {
		case "":
		case "GZIP":
			gz = true
		default:
			return nil, fenfu.FieldError("tar_type", "tar_type must be GZIP or absent")
		}
		ch, err := bill.ParseChannel(p["channel"])
		if err != nil {
			return nil, err
		}
		f, err := a.Bills.Get(ctx, bill.Request{MchID: mchid, Date: d.Format(time.DateOnly), Kind: bill.Trade, Type: typ, Channel: ch}, gz)
		if err != nil {
			missing = fenfu.ErrorCode(err) == fenfu.NoStatementExist
			return nil, err
		}
		file = f.Data
		return nil, nil
	})
	if out["return_code"] == "SUCCESS" && out["result_code"] == "SUCCESS" && file != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if gz {
			w.Header().Set("Content-Type", "application/x-gzip")
		}
		_, _ = w.Write(file)
		return
	}
	// WeChat's error_code: 20002 for a bill that does not exist, 20001
	// for anything else.
	msg, code := out["return_msg"], fenfu.V2BillFailed
	if out["return_code"] == "SUCCESS" {
		msg = out["err_code_des"]
	}
	if missing {
		code = fenfu.V2NoBill
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(EncodeV2(map[string]string{"return_code": "FAIL", "return_msg": msg, "error_code": string(code)}))
}
