package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
)

// The official SDK's client, its response validator on, fetches a credit
// payment's receipt as ESC/POS and PDF; the receipt command writes the
// same bytes; the QR's lookup URL says the receipt is genuine.
func TestOfficialSDKReceipt(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testOfficialSDKReceipt(t, engine) })
	}
}

func testOfficialSDKReceipt(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	in := startServer(t, engine)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant", "--name", "收据小店")
	var cons struct {
		ID string `json:"id"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "100000", "--rating", "A")
	client := sdkClient(t, in.base, m)
	svc := native.NativeApiService{Client: client}
	resp, _, err := svc.Prepay(ctx, native.PrepayRequest{Appid: core.String(m.AppID), Mchid: core.String(m.MchID), Description: core.String("Tea"),
		OutTradeNo: core.String("SDK-RCPT-1"), NotifyUrl: core.String("https://shop.example/notify"), TimeExpire: core.Time(time.Now().Add(time.Hour)),
		Amount: &native.Amount{Total: core.Int64(4500)}, SceneInfo: &native.SceneInfo{PayerClientIp: core.String("203.0.113.9"), DeviceId: core.String("POS-88")}})
	if err != nil {
		t.Fatal(err)
	}
	receiptURL := "https://api.mch.weixin.qq.com/v3/fenfu/transactions/out-trade-no/SDK-RCPT-1/receipt?format="
	if _, err := client.Get(ctx, receiptURL+"escpos-58"); err == nil || !strings.Contains(err.Error(), "INVALID_REQUEST") {
		t.Fatalf("an unpaid order's receipt: %v", err)
	}
	if out, err := in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "credit", *resp.CodeUrl); err != nil {
		t.Fatalf("sandbox pay: %v\n%s", err, out)
	}
	get := func(format string) ([]byte, string) {
		t.Helper()
		res, err := client.Get(ctx, receiptURL+format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		b, _ := io.ReadAll(res.Response.Body)
		return b, res.Response.Header.Get("Content-Type")
	}
	esc, ct := get("escpos-58")
	if ct != "application/octet-stream" || !bytes.HasPrefix(esc, []byte{0x1b, '@', 0x1c, '&'}) || !bytes.HasSuffix(esc, []byte{0x1d, 'V', 66, 3}) {
		t.Fatalf("escpos-58: %s % x", ct, esc[:min(16, len(esc))])
	}
	for _, want := range []string{"SDK-RCPT-1", "POS-88", "45.00"} {
		if !bytes.Contains(esc, []byte(want)) {
			t.Errorf("the receipt has no %q", want)
		}
	}
	lookup := regexp.MustCompile(`http://[^\x1d\n]+/r/[0-9A-Za-z_-]+\?v=[0-9]{8}`).Find(esc)
	if lookup == nil {
		t.Fatal("no lookup URL in the receipt")
	}
	res, err := http.Get(string(lookup))
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Genuine  bool   `json:"genuine"`
		Merchant string `json:"merchant"`
		Total    int64  `json:"total"`
	}
	_ = json.NewDecoder(res.Body).Decode(&l)
	res.Body.Close()
	if res.StatusCode != 200 || !l.Genuine || l.Merchant != "收据小店" || l.Total != 4500 {
		t.Fatalf("lookup %s: %d %+v", lookup, res.StatusCode, l)
	}
	if _, err := os.Stat(DefaultCJKFont); err == nil {
		pdf, ct := get("pdf")
		if ct != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("pdf: %s %q", ct, pdf[:min(16, len(pdf))])
		}
	} else {
		_, err := client.Get(ctx, receiptURL+"pdf")
		var apiErr *core.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || !strings.Contains(apiErr.Message, "--receipt-font") {
			t.Errorf("pdf without the font: %v", err)
		}
	}
	// The command writes the bytes the route answers.
	out, err := in.cli("receipt", "--mchid", m.MchID, "--out-trade-no", "SDK-RCPT-1", "--format", "escpos-58", "--public-url", in.base)
	if err != nil || out != string(esc) {
		t.Fatalf("fenfu receipt: %v; the same bytes as the route: %v", err, out == string(esc))
	}
	if _, err := in.cli("receipt", "--mchid", m.MchID, "--out-trade-no", "SDK-RCPT-1", "--format", "html", "--public-url", in.base); err == nil {
		t.Error("fenfu receipt --format html succeeded")
	}
}
