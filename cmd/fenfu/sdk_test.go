package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/examples/sdkwalk"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// instance is a fenfu server started through run, as a merchant would.
type instance struct {
	t      *testing.T
	base   string
	args   []string                 // common store flags
	getenv func(name string) string // the environment of the server and its commands
	stop   func()                   // shuts the server down and waits for it
	stderr *syncBuffer              // what the server logged
}

// syncBuffer is a buffer a server writes while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServer(t *testing.T, engine db.Engine) *instance {
	t.Helper()
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--core-db", dbtest.DSN(t, engine, "core"), "--credit-db", dbtest.DSN(t, engine, "credit")}
	if engine == db.SQLite {
		args = []string{"--data-dir", dir}
	}
	return startNode(t, args, nil)
}

// startNode starts a server on the stores and with the settings of args,
// with an environment of getenv (nil: empty), and stops it when the test
// ends if stop was not called before.
func startNode(t *testing.T, args []string, getenv func(string) string, serveArgs ...string) *instance {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- run(ctx, append(append([]string{"serve", "--addr", "127.0.0.1:0", "--notify-private"}, serveArgs...), args...), getenv, nil, pw, stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unexpected first line %q", line)
	}
	var once sync.Once
	inst := &instance{t: t, base: m[1], args: args, getenv: getenv, stderr: stderr}
	inst.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(inst.stop)
	waitHealthy(t, inst.base)
	return inst
}

// waitHealthy waits for a server at base to answer /healthz.
func waitHealthy(t *testing.T, base string) {
	t.Helper()
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if i > 100 {
			t.Fatalf("/healthz never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// store opens one of the instance's stores directly, as an auditor would.
func (in *instance) store(t *testing.T, name string) *db.DB {
	t.Helper()
	dsn := ""
	for i := 0; i+1 < len(in.args); i++ {
		switch in.args[i] {
		case "--" + name + "-db":
			dsn = in.args[i+1]
		case "--data-dir":
			if dsn == "" {
				dsn = filepath.Join(in.args[i+1], name+".db")
			}
		}
	}
	d, err := db.Open(context.Background(), name, dsn, nil, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// cli runs a fenfu command on the instance's stores and returns stdout.
func (in *instance) cli(args ...string) (string, error) {
	var out, errb bytes.Buffer
	// The command's words first, then the store flags if it takes them,
	// then the rest.
	full := args
	if c, _, err := lookup(commands(), args); err == nil {
		n := len(strings.Fields(c.name))
		var help bytes.Buffer
		_ = run(context.Background(), append(args[:n:n], "-h"), func(string) string { return "" }, nil, &help, io.Discard)
		if strings.Contains(help.String(), "--data-dir") {
			full = append(append(append([]string{}, args[:n]...), in.args...), args[n:]...)
		}
	}
	getenv := in.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	err := run(context.Background(), full, getenv, nil, &out, &errb)
	if err != nil {
		return out.String(), errors.New(strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func (in *instance) mustCLI(v any, args ...string) {
	in.t.Helper()
	out, err := in.cli(args...)
	if err != nil {
		in.t.Fatalf("fenfu %s: %v", strings.Join(args, " "), err)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			in.t.Fatalf("fenfu %s printed %q: %v", strings.Join(args, " "), out, err)
		}
	}
}

// sdkClient builds the official SDK client from `fenfu sandbox merchant`
// output, with the response validator on.
func sdkClient(t *testing.T, base string, m sandboxMerchant) *core.Client {
	t.Helper()
	key, err := utils.LoadPrivateKeyWithPath(m.MerchantPrivateKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := utils.LoadPublicKeyWithPath(m.PlatformPublicKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	c, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(m.MchID, m.MerchantSerialNo, key, m.PlatformPublicKeyID, pub),
		option.WithHTTPClient(&http.Client{Transport: sdkwalk.ToHost{Fenfu: u}, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sdkNotifyHandler is the official SDK's notification handler of the
// merchant: it verifies fenfu's signature with the platform public key
// and decrypts with the merchant's API v3 key.
func sdkNotifyHandler(t *testing.T, m sandboxMerchant) *notify.Handler {
	t.Helper()
	pub, err := utils.LoadPublicKeyWithPath(m.PlatformPublicKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	handler, err := notify.NewRSANotifyHandler(m.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(m.PlatformPublicKeyID, *pub))
	if err != nil {
		t.Fatal(err)
	}
	return handler
}

func TestOfficialSDK(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testOfficialSDK(t, engine) })
	}
}

func testOfficialSDK(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	in := startServer(t, engine)
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	for _, k := range []string{m.MchID, m.AppID, m.MerchantSerialNo, m.MerchantPrivateKeyPath, m.APIv3Key, m.PlatformPublicKeyPath} {
		if k == "" {
			t.Fatalf("sandbox merchant output has an empty key: %+v", m)
		}
	}
	if !strings.HasPrefix(m.PlatformPublicKeyID, "PUB_KEY_ID_") || len(m.APIv3Key) != 32 {
		t.Fatalf("sandbox merchant output: %+v", m)
	}
	var cons struct {
		ID string `json:"id"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "100000", "--rating", "A", "--balance", "5000")

	client := sdkClient(t, in.base, m)
	svc := native.NativeApiService{Client: client}

	// The merchant's notify_url, served by the SDK's own notify handler.
	handler := sdkNotifyHandler(t, m)
	notices := make(chan any, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tx payments.Transaction
		var rf map[string]any
		var target any = &tx
		if strings.HasSuffix(r.URL.Path, "/refund") {
			target = &rf
		}
		req, err := handler.ParseNotifyRequest(r.Context(), r, target)
		if err != nil {
			t.Errorf("the SDK refused fenfu's notification: %v", err)
			w.WriteHeader(400)
			return
		}
		if req.EventType == "TRANSACTION.SUCCESS" {
			notices <- tx
		} else {
			notices <- rf
		}
		w.WriteHeader(204)
	}))
	defer hook.Close()
	notifyURL := hook.URL + "/notify"
	prepay := func(no string, total int64) string {
		t.Helper()
		resp, result, err := svc.Prepay(ctx, native.PrepayRequest{
			Appid: core.String(m.AppID), Mchid: core.String(m.MchID), Description: core.String("Flat white"),
			OutTradeNo: core.String(no), Attach: core.String("table 7"), NotifyUrl: core.String(notifyURL),
			TimeExpire: core.Time(time.Now().Add(time.Hour)),
			Amount:     &native.Amount{Total: core.Int64(total), Currency: core.String("CNY")},
		})
		if err != nil {
			t.Fatalf("Prepay %s: %v", no, err)
		}
		if result.Response.StatusCode != 200 || !strings.HasPrefix(*resp.CodeUrl, in.base+"/q/") {
			t.Fatalf("Prepay %s: status %d code_url %q", no, result.Response.StatusCode, *resp.CodeUrl)
		}
		return *resp.CodeUrl
	}
	query := func(no string) string {
		t.Helper()
		tx, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(no), Mchid: core.String(m.MchID)})
		if err != nil {
			t.Fatalf("query %s: %v", no, err)
		}
		return *tx.TradeState
	}

	// Credit: create → pay on credit → query SUCCESS → refund part → query refund.
	codeURL := prepay("SDK-CREDIT-1", 3200)
	if got := query("SDK-CREDIT-1"); got != "NOTPAY" {
		t.Fatalf("before payment trade_state = %s, want NOTPAY", got)
	}
	if out, err := in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "credit", codeURL); err != nil {
		t.Fatalf("sandbox pay: %v\n%s", err, out)
	}
	tx, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("SDK-CREDIT-1"), Mchid: core.String(m.MchID)})
	if err != nil {
		t.Fatal(err)
	}
	if *tx.TradeState != "SUCCESS" || *tx.BankType != "FENFU_CREDIT" || *tx.Amount.PayerTotal != 3200 || *tx.Attach != "table 7" ||
		tx.Payer == nil || tx.Payer.Openid == nil || *tx.TransactionId == "" || *tx.SuccessTime == "" {
		t.Fatalf("paid transaction = %s", mustJSON(tx))
	}
	byID, _, err := svc.QueryOrderById(ctx, native.QueryOrderByIdRequest{TransactionId: tx.TransactionId, Mchid: core.String(m.MchID)})
	if err != nil || *byID.OutTradeNo != "SDK-CREDIT-1" {
		t.Fatalf("QueryOrderById = %v, %v", byID, err)
	}
	// The payment notification arrives and the SDK verifies and decrypts it.
	select {
	case n := <-notices:
		ntx, ok := n.(payments.Transaction)
		if !ok || *ntx.OutTradeNo != "SDK-CREDIT-1" || *ntx.TradeState != "SUCCESS" || *ntx.Amount.Total != 3200 ||
			*ntx.TransactionId != *tx.TransactionId {
			t.Fatalf("notification = %s", mustJSON(n))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no payment notification within 10 s")
	}
	refunds := refunddomestic.RefundsApiService{Client: client}
	rf, _, err := refunds.Create(ctx, refunddomestic.CreateRequest{
		NotifyUrl:  core.String(hook.URL + "/refund"),
		OutTradeNo: core.String("SDK-CREDIT-1"), OutRefundNo: core.String("SDK-CREDIT-1-R1"), Reason: core.String("spilled"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(1200), Total: core.Int64(3200), Currency: core.String("CNY")},
	})
	if err != nil {
		t.Fatalf("refund: %v", err)
	}
	if *rf.Status != refunddomestic.STATUS_SUCCESS || *rf.Amount.Refund != 1200 || rf.SuccessTime == nil {
		t.Fatalf("refund = %s", mustJSON(rf))
	}
	// A retry with the same out_refund_no refunds once.
	select {
	case n := <-notices:
		nrf, ok := n.(map[string]any)
		if !ok || nrf["refund_status"] != "SUCCESS" || nrf["out_refund_no"] != "SDK-CREDIT-1-R1" {
			t.Fatalf("refund notification = %s", mustJSON(n))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no refund notification within 10 s")
	}
	if again, _, err := refunds.Create(ctx, refunddomestic.CreateRequest{
		NotifyUrl:  core.String(hook.URL + "/refund"),
		OutTradeNo: core.String("SDK-CREDIT-1"), OutRefundNo: core.String("SDK-CREDIT-1-R1"), Reason: core.String("spilled"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(1200), Total: core.Int64(3200), Currency: core.String("CNY")},
	}); err != nil || *again.RefundId != *rf.RefundId {
		t.Fatalf("refund retry = %v, %v", again, err)
	}
	got, _, err := refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String("SDK-CREDIT-1-R1")})
	if err != nil || *got.RefundId != *rf.RefundId || *got.Status != refunddomestic.STATUS_SUCCESS {
		t.Fatalf("refund query = %v, %v", got, err)
	}
	if st := query("SDK-CREDIT-1"); st != "REFUND" {
		t.Fatalf("after refund trade_state = %s, want REFUND", st)
	}
	// Over the paid amount: the SDK sees WeChat's error body.
	_, _, err = refunds.Create(ctx, refunddomestic.CreateRequest{
		OutTradeNo: core.String("SDK-CREDIT-1"), OutRefundNo: core.String("SDK-CREDIT-1-R2"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(2001), Total: core.Int64(3200), Currency: core.String("CNY")},
	})
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "INVALID_REQUEST" {
		t.Fatalf("over-refund error = %v", err)
	}

	// Balance.
	codeURL = prepay("SDK-BALANCE-1", 1500)
	if out, err := in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "balance", codeURL); err != nil {
		t.Fatalf("sandbox pay balance: %v\n%s", err, out)
	}
	tx, _, err = svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("SDK-BALANCE-1"), Mchid: core.String(m.MchID)})
	if err != nil || *tx.TradeState != "SUCCESS" || *tx.BankType != "OTHERS" {
		t.Fatalf("balance order = %v, %v", tx, err)
	}
	// Paying beyond the balance fails clearly and exits non-zero.
	codeURL = prepay("SDK-BALANCE-2", 999999)
	if _, err := in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "balance", codeURL); err == nil || !strings.Contains(err.Error(), "NOT_ENOUGH") {
		t.Fatalf("sandbox pay beyond balance: %v, want NOT_ENOUGH", err)
	}

	// Close.
	prepay("SDK-CLOSE-1", 800)
	result, err := svc.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String("SDK-CLOSE-1"), Mchid: core.String(m.MchID)})
	if err != nil || result.Response.StatusCode != 204 {
		t.Fatalf("close: %v", err)
	}
	if st := query("SDK-CLOSE-1"); st != "CLOSED" {
		t.Fatalf("after close trade_state = %s", st)
	}
	// Same out_trade_no with other parameters.
	_, _, err = svc.Prepay(ctx, native.PrepayRequest{Appid: core.String(m.AppID), Mchid: core.String(m.MchID),
		Description: core.String("other"), OutTradeNo: core.String("SDK-CREDIT-1"), NotifyUrl: core.String("https://shop.example/notify"),
		Amount: &native.Amount{Total: core.Int64(1)}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Code != "OUT_TRADE_NO_USED" {
		t.Fatalf("reused out_trade_no: %v", err)
	}
	// Unknown order.
	_, _, err = svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("NO-SUCH-ORDER"), Mchid: core.String(m.MchID)})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "ORDER_NOT_EXIST" {
		t.Fatalf("unknown order: %v", err)
	}

	out, err := in.cli("verify")
	if err != nil || !strings.Contains(out, "the books prove") {
		t.Fatalf("verify: %v %s", err, out)
	}
	// Certificate mode: the SDK's own downloader fetches and decrypts the
	// platform certificates, and a client that verifies with them accepts
	// fenfu's responses.
	key, err := utils.LoadPrivateKeyWithPath(m.MerchantPrivateKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(in.base)
	hc := &http.Client{Transport: sdkwalk.ToHost{Fenfu: u}, Timeout: 10 * time.Second}
	bootstrap, err := core.NewClient(ctx, option.WithMerchantCredential(m.MchID, m.MerchantSerialNo, key), option.WithoutValidator(),
		option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	certs, err := downloader.NewCertificateDownloaderWithClient(ctx, bootstrap, m.APIv3Key)
	if err != nil {
		t.Fatalf("the SDK's certificate downloader: %v", err)
	}
	if len(certs.GetAll(ctx)) != 1 {
		t.Fatalf("downloaded %d certificates", len(certs.GetAll(ctx)))
	}
	certClient, err := core.NewClient(ctx, option.WithMerchantCredential(m.MchID, m.MerchantSerialNo, key),
		option.WithVerifier(verifiers.NewSHA256WithRSAVerifier(certs)), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	certSvc := native.NativeApiService{Client: certClient}
	if tx, _, err := certSvc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("SDK-CREDIT-1"),
		Mchid: core.String(m.MchID)}); err != nil || *tx.TradeState != "REFUND" {
		t.Fatalf("certificate-mode client: %v", err)
	}

	// The sandbox test report, built from the calls this test made: it
	// passes what the integration did and not what it did not (its
	// notify_url never refused a notification, so no retry was seen).
	var rep struct {
		Passed    int `json:"passed"`
		Total     int `json:"total"`
		Scenarios []struct {
			Name   string `json:"name"`
			Passed bool   `json:"passed"`
			Hint   string `json:"hint"`
		} `json:"scenarios"`
	}
	passed := map[string]bool{}
	want := []string{"create_order", "credit_payment_success", "credit_line_short", "close_order", "partial_refund",
		"refund_query", "error_answer"}
	all := func() bool {
		for _, name := range want {
			if !passed[name] {
				return false
			}
		}
		return true
	}
	// Calls are recorded in batches, in no promised order: wait for all.
	for i := 0; i < 100 && !all(); i++ {
		time.Sleep(100 * time.Millisecond) // calls are recorded in batches
		res, err := client.Get(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/sandbox/report")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Response.Body).Decode(&rep)
		for _, s := range rep.Scenarios {
			passed[s.Name] = s.Passed
		}
	}
	for _, name := range want {
		if !passed[name] {
			t.Errorf("sandbox report: %s not passed (%+v)", name, rep)
		}
	}
	if passed["notification_retries"] || rep.Passed != rep.Total-1 {
		t.Errorf("sandbox report: notification_retries passed without a retry (%+v)", rep)
	}
	htmlPath := filepath.Join(t.TempDir(), "report.html")
	if out, err := in.cli("sandbox", "report", "--mchid", m.MchID, "--html", htmlPath); err != nil || !strings.Contains(out, "credit_payment_success") {
		t.Fatalf("sandbox report CLI: %v %s", err, out)
	}
	if page, _ := os.ReadFile(htmlPath); !strings.Contains(string(page), "Sandbox test report") || !strings.Contains(string(page), "✗") {
		t.Fatalf("report page:\n%s", page)
	}

	if out, err := in.cli("migrate"); err != nil || !strings.Contains(out, "latest schema") {
		t.Fatalf("migrate while serving: %v %s", err, out)
	}
	resp, err := http.Get(in.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(mb), `fenfu_http_requests_total{route="POST /v3/pay/transactions/native",status="OK"}`) ||
		!strings.Contains(string(mb), "fenfu_http_request_seconds_bucket") {
		t.Fatalf("/metrics lacks request metrics:\n%s", mb)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	getenv := func(string) string { return "" }
	if err := run(context.Background(), []string{"bogus"}, getenv, nil, &out, &errb); !errors.Is(err, errUsage) {
		t.Fatalf("unknown command: %v", err)
	}
	errb.Reset()
	err := run(context.Background(), []string{"consumer", "create", "--data-dir", dir, "--rating", "Z"}, getenv, nil, &out, &errb)
	if !errors.Is(err, errUsage) || !strings.Contains(errb.String(), "--rating") {
		t.Fatalf("bad rating: %v %q", err, errb.String())
	}
	errb.Reset()
	err = run(context.Background(), []string{"sandbox", "pay", "--data-dir", dir, "--consumer", "c_1", "--channel", "credit",
		"http://127.0.0.1/q/forged.token"}, getenv, nil, &out, &errb)
	if err == nil || !strings.Contains(errb.String(), "PARAM_ERROR") {
		t.Fatalf("forged code_url: %v %q", err, errb.String())
	}
	errb.Reset()
	err = run(context.Background(), []string{"verify", "--data-dir", dir, "--core-db", filepath.Join(dir, "x.db"), "--credit-db", filepath.Join(dir, "x.db")}, getenv, nil, &out, &errb)
	if !errors.Is(err, errUsage) || !strings.Contains(errb.String(), "different databases") {
		t.Fatalf("same store twice: %v %q", err, errb.String())
	}
}

func TestSandboxConsumers(t *testing.T) {
	in := &instance{t: t, args: []string{"--data-dir", t.TempDir()}}
	var out struct {
		Consumers []struct {
			ID    string `json:"id"`
			Role  string `json:"role"`
			Limit int64  `json:"credit_limit"`
		} `json:"consumers"`
	}
	in.mustCLI(&out, "sandbox", "consumers")
	if len(out.Consumers) != 3 || out.Consumers[1].Role != "short_line" || out.Consumers[1].Limit != 100 {
		t.Fatalf("test consumers = %+v", out)
	}
}

func TestOnboardCLI(t *testing.T) {
	dir := t.TempDir()
	in := &instance{t: t, args: []string{"--data-dir", dir}}
	var m sandboxMerchant
	in.mustCLI(&m, "merchant", "create", "--env", "production")
	app := filepath.Join(dir, "app.json")
	if err := os.WriteFile(app, []byte(`{"entity_type":"enterprise","licence_number":"91310000CLI00001X","licence_status":"normal",
		"industry":"life_services","qualifications":{"industry_permit":"P-1"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Checks []struct {
			Name   string `json:"name"`
			Passed bool   `json:"passed"`
		} `json:"checks"`
	}
	in.mustCLI(&rec, "onboard", "apply", "--mchid", m.MchID, "--file", app)
	if rec.State != "rejected" || len(rec.Checks) != 4 {
		t.Fatalf("apply without history: %+v", rec)
	}
	if _, err := in.cli("onboard", "review", "--id", rec.ID, "--decision", "approve", "--reason", "x", "--staff", "li"); err == nil ||
		!strings.Contains(err.Error(), "cannot go from rejected") {
		t.Fatalf("reviewing a rejected application: %v", err)
	}
	if _, err := in.cli("onboard", "review", "--id", rec.ID, "--decision", "approve", "--reason", "x"); err == nil {
		t.Fatal("a review without --staff was accepted")
	}
}

func TestImports(t *testing.T) {
	dir := t.TempDir()
	in := &instance{t: t, args: []string{"--data-dir", dir}}
	f := filepath.Join(dir, "risk.csv")
	if err := os.WriteFile(f, []byte("licence_number,name,reason\n91310000BADBAD001X,Bad Co,fraud\n,No Licence,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Rows    int      `json:"rows"`
		Skipped int      `json:"skipped"`
		Errors  []string `json:"errors"`
	}
	in.mustCLI(&res, "blacklist", "import", f)
	if res.Rows != 1 || res.Skipped != 1 || !strings.Contains(res.Errors[0], "line 3") {
		t.Fatalf("blacklist import = %+v", res)
	}
	if _, err := in.cli("history", "import", filepath.Join(dir, "missing.csv")); err == nil {
		t.Fatal("importing a missing file succeeded")
	}
}
