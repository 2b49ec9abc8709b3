package wxpay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/keyring/keyringtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/wxpay"
	"github.com/go-pay/gopay"
	"github.com/go-pay/gopay/wechat"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
)

type rewrite struct{ u *url.URL }

func (h rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = h.u.Scheme, h.u.Host, h.u.Host
	return http.DefaultTransport.RoundTrip(r)
}

// TestBillsThroughOfficialSDK trades on a past day, then has the official
// SDK (wechatpay-go v0.2.21) fetch the day's trade bill link, with the
// response validator on, and download the file with the validator off,
// as its FAQ says; the file's SHA-1 matches the link's hash_value.
func TestBillsThroughOfficialSDK(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testBillsSDK(t, engine) })
	}
}

func testBillsSDK(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	now := time.Now()
	yesterday := now.In(fenfu.Shanghai).AddDate(0, 0, -1)
	date := yesterday.Format(time.DateOnly)
	clock := fenfu.NewFakeClock(time.Date(yesterday.Year(), yesterday.Month(), yesterday.Day(), 10, 0, 0, 0, fenfu.Shanghai))
	core_ := dbtest.Open(t, engine, "core", clock)
	cr := dbtest.Open(t, engine, "credit", clock)
	keys := keyringtest.Open(t, core_)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core_, ids, clock)
	m, err := ms.CreateSandbox(ctx, "Bill shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ms.CreateSandbox(ctx, "Other shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	ps := &pay.Service{Core: core_, Credit: cr, Merchants: ms, Tokens: qr.NewSigner(keys.Secret), IDs: ids, Clock: clock}
	c, _, err := consumer.New(core_, cr, ids, clock).Create(ctx, consumer.NewConsumer{CreditLimit: 1_000_000, Rating: "A", Balance: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	var paid []pay.Order
	for i, ch := range []pay.Channel{pay.ChannelCredit, pay.ChannelCredit, pay.ChannelBalance} {
		o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: m.MchID, AppID: m.AppID, Description: "Tea", OutTradeNo: "BILL-" + string(rune('A'+i)) + "-01",
			NotifyURL: "https://shop.example/n", Total: fenfu.Fen(1000 * (i + 1))})
		if err != nil {
			t.Fatal(err)
		}
		if o, err = ps.Pay(ctx, o.Token, c.ID, ch); err != nil {
			t.Fatal(err)
		}
		paid = append(paid, o)
		clock.Advance(time.Hour)
	}
	if _, err := ps.Refund(ctx, pay.RefundRequest{MchID: m.MchID, OutTradeNo: paid[1].OutTradeNo, OutRefundNo: "BILL-R-01", Refund: 500, Total: 2000}); err != nil {
		t.Fatal(err)
	}
	clock.Set(now)
	st := &settle.Service{Core: core_, Credit: cr, Clock: clock, Owner: "t"}
	if _, err := st.Run(ctx, date); err != nil {
		t.Fatal(err)
	}
	bills := &bill.Service{Core: core_, Clock: clock, BankType: wxpay.BankType,
		OpenID: func(appid, id string) string { return wxpay.OpenID(keys.Secret, appid, id) }}
	var srv *httptest.Server
	api := &wxpay.API{Services: wxpay.Services{Pay: ps, Merchants: ms, Bills: bills, Settle: st}, Keys: keys, Clock: clock, IDs: ids,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Nonces: wxpay.MemoryNonces(), PublicURL: func() string { return srv.URL }}
	mux := http.NewServeMux()
	api.Register(mux)
	api.RegisterV2(mux)
	srv = httptest.NewServer(mux)
	defer srv.Close()

	u, _ := url.Parse(srv.URL)
	hc := &http.Client{Transport: rewrite{u}, Timeout: 10 * time.Second}
	sdk := func(mm merchant.Sandbox, validate bool) *core.Client {
		platform := keys.Platform(scheme.RSA)
		opts := []core.ClientOption{option.WithHTTPClient(hc)}
		if validate {
			opts = append(opts, option.WithWechatPayPublicKeyAuthCipher(mm.MchID, mm.SerialNo, mm.PrivateKey.(*rsa.PrivateKey),
				platform.ID, scheme.Public(platform.Key).(*rsa.PublicKey)))
		} else {
			opts = append(opts, option.WithMerchantCredential(mm.MchID, mm.SerialNo, mm.PrivateKey.(*rsa.PrivateKey)), option.WithoutValidator())
		}
		cl, err := core.NewClient(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	client, downloader := sdk(m, true), sdk(m, false)
	link := func(path string) (hash, download string) {
		t.Helper()
		res, err := client.Get(ctx, "https://api.mch.weixin.qq.com"+path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out struct {
			HashType, HashValue, DownloadURL string
		}
		var raw map[string]string
		body, _ := io.ReadAll(res.Response.Body)
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		out.HashType, out.HashValue, out.DownloadURL = raw["hash_type"], raw["hash_value"], raw["download_url"]
		if out.HashType != "SHA1" || len(out.HashValue) != 40 || !strings.Contains(out.DownloadURL, "/v3/billdownload/file?token=") {
			t.Fatalf("%s: %s", path, body)
		}
		return out.HashValue, out.DownloadURL
	}
	fetch := func(cl *core.Client, download string) ([]byte, error) {
		res, err := cl.Get(ctx, download)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(res.Response.Body)
	}
	check := func(hash string, data []byte) {
		t.Helper()
		sum := sha1.Sum(data)
		if hex.EncodeToString(sum[:]) != hash {
			t.Fatalf("the file's SHA-1 differs from hash_value")
		}
	}

	// The GZIP trade bill of all channels.
	hash, dl := link("/v3/bill/tradebill?bill_date=" + date + "&bill_type=ALL&tar_type=GZIP")
	data, err := fetch(downloader, dl)
	if err != nil {
		t.Fatal(err)
	}
	check(hash, data)
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(zr)
	want, err := bills.Text(ctx, bill.Request{MchID: m.MchID, Date: date, Kind: bill.Trade, Type: bill.All})
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != want || !strings.Contains(want, "`4,`60.00,`5.00,") {
		t.Fatalf("downloaded bill:\n%s", text)
	}
	// The credit-pay bill alone, as text.
	hash, dl = link("/v3/bill/tradebill?bill_date=" + date + "&channel=CREDIT")
	data, err = fetch(downloader, dl)
	if err != nil {
		t.Fatal(err)
	}
	check(hash, data)
	if strings.Contains(string(data), "OTHERS") || !strings.Contains(string(data), "FENFU_CREDIT") {
		t.Fatalf("credit bill:\n%s", data)
	}
	// The fund-flow bill of the settlement account on the day after.
	if _, err := fetch(client, "https://api.mch.weixin.qq.com/v3/bill/fundflowbill?bill_date="+now.In(fenfu.Shanghai).Format(time.DateOnly)); err == nil {
		t.Fatal("today's fund-flow bill was served before the day ended")
	}
	hash, dl = link("/v3/bill/fundflowbill?bill_date=" + date + "&account_type=FEES")
	data, err = fetch(downloader, dl)
	if err != nil {
		t.Fatal(err)
	}
	check(hash, data)
	// A link does not work for another merchant, nor when altered.
	if _, err := fetch(sdk(other, false), dl); err == nil || !strings.Contains(err.Error(), "NO_AUTH") {
		t.Errorf("another merchant's download: %v", err)
	}
	if _, err := fetch(downloader, dl[:len(dl)-2]+"AA"); err == nil || !strings.Contains(err.Error(), "PARAM_ERROR") {
		t.Errorf("altered token: %v", err)
	}
	// Bad parameters name the field.
	if _, err := client.Get(ctx, "https://api.mch.weixin.qq.com/v3/bill/tradebill?bill_date=2026-02-30"); err == nil || !strings.Contains(err.Error(), "bill_date") {
		t.Errorf("bad bill_date: %v", err)
	}

	// API v2's /pay/downloadbill, through gopay, answers the same file.
	v2key, err := ms.SetAPIv2Key(ctx, m.MchID, "")
	if err != nil {
		t.Fatal(err)
	}
	gc := wechat.NewClient(m.AppID, m.MchID, v2key, true)
	gc.BaseURL = srv.URL + "/"
	bm := gopay.BodyMap{}
	bm.Set("nonce_str", "billnonce01").Set("bill_date", strings.ReplaceAll(date, "-", "")).Set("bill_type", "ALL")
	got, err := gc.DownloadBill(ctx, bm)
	if err != nil || got != want {
		t.Fatalf("v2 downloadbill: %v\n%s", err, got)
	}
	old := gopay.BodyMap{}
	old.Set("nonce_str", "billnonce02").Set("bill_date", "20200101").Set("bill_type", "ALL")
	if got, err := gc.DownloadBill(ctx, old); err != nil || !strings.Contains(got, "<error_code><![CDATA[20002]]></error_code>") {
		t.Errorf("v2 downloadbill of a day without a bill: %v %s", err, got)
	}

	// Reconciliation through the API: one order missing from the
	// merchant's records, one amount wrong.
	res, err := client.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/bill/reconcile", map[string]any{
		"bill_date": date,
		"records": []map[string]any{
			{"out_trade_no": paid[0].OutTradeNo, "state": "SUCCESS", "amount": 1000},
			{"out_trade_no": paid[1].OutTradeNo, "state": "SUCCESS", "amount": 2000},
			{"out_trade_no": paid[1].OutTradeNo, "state": "REFUND", "amount": 400},
		}})
	if err != nil {
		t.Fatal(err)
	}
	var rep bill.Report
	if err := json.NewDecoder(res.Response.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Matched != 2 || rep.Counts[bill.MissingInMine] != 1 || rep.Counts[bill.AmountMismatch] != 1 || len(rep.Differences) != 2 {
		t.Errorf("reconcile: %+v", rep)
	}

	// The merchant follows its settlements and files an exception.
	res, err = client.Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/settlements?settle_date="+date)
	if err != nil {
		t.Fatal(err)
	}
	var sl struct {
		Data []settle.Settlement `json:"data"`
	}
	_ = json.NewDecoder(res.Response.Body).Decode(&sl)
	if len(sl.Data) != 2 || sl.Data[0].Net+sl.Data[1].Net != 6000-500-(paid[0].Fee.Fee+paid[1].Fee.Fee+paid[2].Fee.Fee)+fenfuRefundFee(t, ps, paid[1]) {
		t.Errorf("settlements: %+v", sl.Data)
	}
	res, err = client.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/settlement-exceptions", map[string]any{
		"settle_date": date, "description": "Settlement amount is short of our records",
		"attachment": map[string]string{"name": "records.csv", "content": base64.StdEncoding.EncodeToString([]byte("BILL-A-01,10.00,SUCCESS\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	var x settle.Exception
	_ = json.NewDecoder(res.Response.Body).Decode(&x)
	if x.Status != settle.ExceptionOpen || x.DueAt.Sub(x.CreatedAt) != settle.ExceptionSLA || len(x.Settlements) != 2 || x.AttachmentSHA256 == "" {
		t.Fatalf("exception: %+v", x)
	}
	if _, err := st.ResolveException(ctx, x.ID, settle.ExceptionResolved, "Settled in full; see ST "+x.Settlements[0].ID); err != nil {
		t.Fatal(err)
	}
	res, err = client.Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/settlement-exceptions/"+x.ID)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(res.Response.Body).Decode(&x)
	if x.Status != settle.ExceptionResolved || x.Resolution == "" || x.Overdue {
		t.Errorf("resolved exception: %+v", x)
	}
	if _, err := sdk(other, true).Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/settlement-exceptions/"+x.ID); err == nil {
		t.Error("another merchant read the exception")
	}
	if _, err := client.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/settlement-exceptions", map[string]any{"description": "x"}); err == nil ||
		!strings.Contains(err.Error(), "settle_date") {
		t.Errorf("exception without a day or order: %v", err)
	}
}

func fenfuRefundFee(t *testing.T, ps *pay.Service, o pay.Order) fenfu.Fen {
	t.Helper()
	refunds, err := ps.RefundsOf(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	var fee fenfu.Fen
	for _, r := range refunds {
		fee += r.Fee
	}
	return fee
}
