package wxpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/ratelimit"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// fetchReceipt GETs a signed receipt route and returns status, content
// type and body, checking the answer is signed.
func (h *harness) fetchReceipt(t *testing.T, uri string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+uri, nil)
	req.Header.Set("Authorization", sign(t, h.client, "GET", uri, nil))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if err := h.client.VerifyResponse(resp.Header, body); err != nil {
		t.Fatalf("%s: the answer is not signed: %v", uri, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// lookup GETs the public lookup page as JSON.
func (h *harness) lookup(t *testing.T, path string) (int, wxpay.Lookup, map[string]any) {
	t.Helper()
	resp, err := http.Get(h.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var l wxpay.Lookup
	var raw map[string]any
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("%s: %v: %s", path, err, body)
	}
	_ = json.Unmarshal(body, &raw)
	return resp.StatusCode, l, raw
}

var qrURL = regexp.MustCompile(`\x1d\(k..1P0(http[^\x1d]+)`)

func gb(s string) []byte {
	b, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	return b
}

// A paid credit order's receipt carries its plan as the credit store
// keeps it, the verification code, and a QR of the lookup URL, which says
// the receipt is genuine; a balance payment's has no plan; unpaid orders,
// bad formats and PDFs without a font are refused clearly.
func TestReceipt(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			h := newHarnessOn(t, engine, scheme.RSA)
			ctx := context.Background()
			ps := h.api.Pay
			h.api.Repay = &repay.Service{Core: ps.Core, Credit: ps.Credit, IDs: ps.IDs, Clock: ps.Clock}
			h.api.ReceiptFontPath = "/nonexistent/font.ttf"
			o, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: h.m.MchID, AppID: h.m.AppID, Description: "tea", OutTradeNo: "RCPT-1",
				NotifyURL: "https://shop.example/n", Total: 600_00, Offers: []pay.Offer{{Count: 3}}, Scene: pay.Scene{DeviceID: "POS-7"}})
			if err != nil {
				t.Fatal(err)
			}
			c, _, err := consumer.New(ps.Core, ps.Credit, ps.IDs, ps.Clock).Create(ctx, consumer.NewConsumer{Rating: "A", CreditLimit: 10_000_00})
			if err != nil {
				t.Fatal(err)
			}
			base := "/v3/fenfu/transactions/out-trade-no/RCPT-1/receipt"
			if st, _, body := h.fetchReceipt(t, base+"?format=escpos-58"); st != 400 || !strings.Contains(string(body), "INVALID_REQUEST") ||
				!strings.Contains(string(body), "only a paid order has a receipt") {
				t.Errorf("unpaid: %d %s", st, body)
			}
			if o, err = ps.PayIn(ctx, o.Token, c.ID, pay.ChannelCredit, pay.Client{}, 3); err != nil {
				t.Fatal(err)
			}
			plan, ok, err := h.api.Repay.PlanOf(ctx, o.AttemptID)
			if err != nil || !ok || len(plan.Schedule) != 3 {
				t.Fatalf("plan: %+v %v %v", plan, ok, err)
			}
			st, ct, b := h.fetchReceipt(t, base+"?format=escpos-80&mchid="+h.m.MchID)
			if st != 200 || ct != "application/octet-stream" || !bytes.HasPrefix(b, []byte{0x1b, '@', 0x1c, '&'}) {
				t.Fatalf("escpos-80: %d %s % x", st, ct, b[:min(len(b), 16)])
			}
			for _, want := range []string{"shop", "RCPT-1", o.ID, "POS-7", "￥600.00", "还款计划 3 期"} {
				if !bytes.Contains(b, gb(want)) {
					t.Errorf("the receipt has no %q", want)
				}
			}
			for _, in := range plan.Schedule {
				if !bytes.Contains(b, gb(in.DueOn)) || !bytes.Contains(b, gb(fenfu.Yuan(in.Principal+in.Fee))) {
					t.Errorf("the receipt has no installment %s of %s", in.DueOn, fenfu.Yuan(in.Principal+in.Fee))
				}
			}
			m := qrURL.FindSubmatch(b)
			if m == nil {
				t.Fatalf("no QR stored in the receipt")
			}
			lookup, err := url.Parse(string(m[1]))
			if err != nil || lookup.Scheme+"://"+lookup.Host != h.srv.URL || lookup.Path != "/r/"+o.ID {
				t.Fatalf("QR URL %q", m[1])
			}
			code := lookup.Query().Get("v")
			if len(code) != 8 || !bytes.Contains(b, []byte(code)) {
				t.Fatalf("code %q", code)
			}
			// By transaction_id, on 58 mm paper.
			if st, _, b58 := h.fetchReceipt(t, "/v3/fenfu/transactions/id/"+o.ID+"/receipt?format=escpos-58"); st != 200 ||
				!bytes.Contains(b58, []byte(code)) || bytes.Equal(b58, b) {
				t.Errorf("by transaction_id: %d", st)
			}
			// The lookup page: genuine, and nothing of the consumer.
			st, l, raw := h.lookup(t, "/r/"+o.ID+"?v="+code)
			if st != 200 || !l.Genuine || l.Merchant != "shop" || l.Total != 600_00 || l.State != "paid" || l.PaidAt == "" {
				t.Fatalf("lookup: %d %+v", st, l)
			}
			for k := range raw {
				if !strings.Contains(" genuine merchant total currency paid_at state message ", " "+k+" ") {
					t.Errorf("the lookup page shows %q", k)
				}
			}
			// Refunded since.
			if _, err := ps.Refund(ctx, pay.RefundRequest{MchID: h.m.MchID, OutTradeNo: "RCPT-1", OutRefundNo: "RCPT-1-R", Refund: 100_00, Total: 600_00}); err != nil {
				t.Fatal(err)
			}
			if _, l, _ := h.lookup(t, "/r/"+o.ID+"?v="+code); !l.Genuine || l.State != "partly_refunded" {
				t.Errorf("after a partial refund: %+v", l)
			}
			if _, err := ps.Refund(ctx, pay.RefundRequest{MchID: h.m.MchID, OutTradeNo: "RCPT-1", OutRefundNo: "RCPT-1-R2", Refund: 500_00, Total: 600_00}); err != nil {
				t.Fatal(err)
			}
			if _, l, _ := h.lookup(t, "/r/"+o.ID+"?v="+code); !l.Genuine || l.State != "refunded" {
				t.Errorf("after refunds of the whole amount: %+v", l)
			}
			// A wrong code, transaction, or a malformed one: the same answer.
			wrong := []byte(code)
			wrong[0] = '0' + (wrong[0]-'0'+1)%10
			var answers []wxpay.Lookup
			for _, p := range []string{"/r/" + o.ID + "?v=" + string(wrong), "/r/4200000000000000000000000000?v=" + code,
				"/r/" + o.ID + "?v=" + code + "0", "/r/" + o.ID, "/r/%00?v=" + code} {
				st, l, _ := h.lookup(t, p)
				if st != 404 || l.Genuine || l.Merchant != "" || l.Total != 0 {
					t.Errorf("%s: %d %+v", p, st, l)
				}
				answers = append(answers, l)
			}
			for _, a := range answers[1:] {
				if a != answers[0] {
					t.Errorf("the answers differ: %+v and %+v", a, answers[0])
				}
			}
			// A browser gets a page.
			req, _ := http.NewRequest("GET", h.srv.URL+"/r/"+o.ID+"?v="+code, nil)
			req.Header.Set("Accept", "text/html")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(page), "Genuine") || !strings.Contains(string(page), "600.00") ||
				!strings.Contains(string(page), "已退款 refunded") {
				t.Errorf("page: %d %s", resp.StatusCode, page)
			}

			// Refusals.
			for _, tc := range []struct {
				uri, code, in string
				status        int
			}{
				{base + "?format=pdf", "SYSTEM_ERROR", "--receipt-font", 500},
				{base, "PARAM_ERROR", "format", 400},
				{base + "?format=html", "PARAM_ERROR", "escpos-58", 400},
				{base + "?format=escpos-58&mchid=1900000000", "PARAM_ERROR", "mchid", 400},
				{"/v3/fenfu/transactions/out-trade-no/NO-SUCH/receipt?format=pdf", "ORDER_NOT_EXIST", "", 404},
				{"/v3/fenfu/transactions/id/4200000000000000000000000000/receipt?format=pdf", "ORDER_NOT_EXIST", "", 404},
			} {
				st, _, body := h.fetchReceipt(t, tc.uri)
				var eb wxpay.ErrorBody
				_ = json.Unmarshal(body, &eb)
				if st != tc.status || eb.Code != tc.code || !strings.Contains(eb.Message, tc.in) {
					t.Errorf("%s: %d %s", tc.uri, st, body)
				}
				if tc.code == "SYSTEM_ERROR" && !strings.Contains(string(body), wxpay.ReceiptFontPackage) {
					t.Errorf("the font error names no package to install: %s", body)
				}
			}
			// A balance payment: the same receipt without the plan.
			bo := h.paid(t, "RCPT-2", 12_00)
			_, _, bb := h.fetchReceipt(t, "/v3/fenfu/transactions/out-trade-no/RCPT-2/receipt?format=escpos-58")
			if !bytes.Contains(bb, gb("零钱")) || bytes.Contains(bb, gb("还款计划")) || !bytes.Contains(bb, []byte(bo.ID)) {
				t.Errorf("balance receipt:\n%q", bb)
			}
		})
	}
}

// Failed lookups spend the source address's budget of failed lookups; an
// address out of it is refused, the right code too. That budget is not
// the merchant API's: a signed request from the same address still
// passes, so consumers checking receipts on a shop's Wi-Fi never lock
// out its tills.
func TestReceiptLookupLimited(t *testing.T) {
	h := newHarness(t)
	h.api.Lookups = &ratelimit.Limiter{Rate: 0.0001, Burst: 2}
	h.api.Failures = &ratelimit.Limiter{Rate: 0.0001, Burst: 2}
	o := h.paid(t, "RCPT-L", 5_00)
	rc, err := h.api.Receipt(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if st, l, _ := h.lookup(t, "/r/"+o.ID+"?v="+rc.Code); st != 200 || !l.Genuine {
		t.Fatalf("genuine: %d %+v", st, l)
	}
	for i := range 2 {
		if st, _, _ := h.lookup(t, "/r/"+o.ID+"?v=00000000"); st != 404 {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	if st, l, _ := h.lookup(t, "/r/"+o.ID+"?v="+rc.Code); st != 429 || l.Genuine {
		t.Fatalf("out of budget: %d %+v", st, l)
	}
	uri := "/v3/fenfu/transactions/id/" + o.ID + "/receipt?format=escpos-58"
	if st, _, body := h.fetchReceipt(t, uri); st != 200 {
		t.Errorf("a signed receipt request after wrong lookups from its address: HTTP %d %s", st, body)
	}
}

// PDF receipts are drawn a few at once: each parses the CJK font anew,
// and a merchant asking for many at once would take the server's memory.
// With every slot taken, a PDF waits, then is refused as too frequent;
// ESC/POS receipts are not held back.
func TestPDFReceiptsBounded(t *testing.T) {
	h := newHarness(t)
	o := h.paid(t, "RCPT-B", 5_00)
	release := wxpay.HoldPDFSlots(h.api)
	uri := "/v3/fenfu/transactions/id/" + o.ID + "/receipt?format="
	st, _, body := h.fetchReceipt(t, uri+"pdf")
	if st != 429 || !strings.Contains(string(body), "FREQUENCY_LIMITED") {
		t.Fatalf("a PDF with every slot taken: HTTP %d %s", st, body)
	}
	if st, _, body := h.fetchReceipt(t, uri+"escpos-80"); st != 200 {
		t.Fatalf("ESC/POS with every PDF slot taken: HTTP %d %s", st, body)
	}
	release()
	// With a slot free the PDF is drawn: this harness has no CJK font, so
	// it gets as far as the answer that names the font to install.
	if st, _, body := h.fetchReceipt(t, uri+"pdf"); st != 500 || !strings.Contains(string(body), wxpay.ReceiptFontPackage) {
		t.Fatalf("a PDF once the slots are free: HTTP %d %s", st, body)
	}
}

func FuzzLookupParams(f *testing.F) {
	for _, s := range [][2]string{{"4200002026112700000000000123", "48210937"}, {"", ""}, {"a/b", "1234567x"}, {"\x00", "00000000"},
		{strings.Repeat("9", 65), "12345678"}} {
		f.Add(s[0], s[1])
	}
	ok := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	digits := regexp.MustCompile(`^[0-9]{8}$`)
	f.Fuzz(func(t *testing.T, id, code string) {
		if got, want := wxpay.LookupParams(id, code), ok.MatchString(id) && digits.MatchString(code); got != want {
			t.Fatalf("LookupParams(%q, %q) = %v, want %v", id, code, got, want)
		}
	})
}
