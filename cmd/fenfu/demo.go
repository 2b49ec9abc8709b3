package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

// cmdDemo starts a server on a free local port and walks one credit
// payment end to end through the real HTTP surface, printing each step.
func cmdDemo(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	keep := fs.Bool("keep", false, "keep the demo's data directory instead of deleting it")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	remove, err := cfg.temporaryStore(fs, "fenfu-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer remove()
	}
	if err := cfg.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	step := func(format string, args ...any) { fmt.Fprintf(e.stdout, "==> "+format+"\n", args...) }

	step("opening the stores in %s", cfg.DataDir)
	a, err := open(ctx, cfg, cfg.logger(e.stderr, slog.LevelWarn))
	if err != nil {
		return err
	}
	defer a.close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.serve(sctx, ln, io.Discard) }()
	defer func() { stop(); <-done }()
	step("server listening on %s", base)

	m, err := a.provisionSandbox(ctx, "Demo Coffee", scheme.RSA)
	if err != nil {
		return err
	}
	step("sandbox merchant %s (appid %s, key serial %s)", m.MchID, m.AppID, m.MerchantSerialNo)
	c, pin, err := a.consumers.Create(ctx, consumer.NewConsumer{CreditLimit: 500000, Rating: "A", Balance: 10000})
	if err != nil {
		return err
	}
	step("consumer %s, phone %s, credit line ¥%s, balance ¥%s", c.ID, c.Phone, fenfu.Yuan(c.Credit.Limit), fenfu.Yuan(c.Balance))

	client, err := demoClient(base, m, a)
	if err != nil {
		return err
	}
	outTradeNo := "DEMO" + time.Now().Format("20060102150405")
	var created struct {
		CodeURL string `json:"code_url"`
	}
	if err := client.Do(ctx, "POST", "/v3/pay/transactions/native", map[string]any{
		"appid": m.AppID, "mchid": m.MchID, "description": "Flat white", "out_trade_no": outTradeNo,
		"notify_url": "https://merchant.example/notify", "amount": map[string]any{"total": 3200, "currency": "CNY"},
	}, &created); err != nil {
		return fmt.Errorf("create order: %w", err)
	}
	step("POST /v3/pay/transactions/native (signed, response signature verified) → code_url %s", created.CodeURL)
	step("the QR code is at %s.png", created.CodeURL)

	var view struct {
		Merchant string    `json:"merchant"`
		Total    fenfu.Fen `json:"total"`
		Channels []struct {
			Name string `json:"name"`
		} `json:"channels"`
	}
	if err := getJSON(ctx, created.CodeURL+"?format=json", &view); err != nil {
		return fmt.Errorf("open cashier: %w", err)
	}
	step("consumer scans: cashier shows %s, ¥%s, %d payment options", view.Merchant, fenfu.Yuan(view.Total), len(view.Channels))

	body, _ := json.Marshal(map[string]string{"channel": "credit", "phone": c.Phone, "pin": pin})
	u, _ := url.Parse(created.CodeURL)
	req, _ := http.NewRequestWithContext(ctx, "POST", base+u.Path+"/pay", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pay on credit: HTTP %d: %s", resp.StatusCode, rb)
	}
	step("consumer pays on credit → %s", bytes.TrimSpace(rb))

	var tx wxpay.Transaction
	if err := client.Do(ctx, "GET", "/v3/pay/transactions/out-trade-no/"+outTradeNo+"?mchid="+m.MchID, nil, &tx); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	step("GET /v3/pay/transactions/out-trade-no/%s → trade_state %s, bank_type %s, transaction_id %s", outTradeNo, tx.TradeState, tx.BankType, tx.TransactionID)
	if tx.TradeState != "SUCCESS" {
		return fmt.Errorf("order is %s after payment, want SUCCESS", tx.TradeState)
	}

	var rf wxpay.RefundObject
	if err := client.Do(ctx, "POST", "/v3/refund/domestic/refunds", map[string]any{
		"out_trade_no": outTradeNo, "out_refund_no": outTradeNo + "-R1", "reason": "one cup spilled",
		"amount": map[string]any{"refund": 1200, "total": 3200, "currency": "CNY"},
	}, &rf); err != nil {
		return fmt.Errorf("refund: %w", err)
	}
	step("POST /v3/refund/domestic/refunds ¥12.00 → %s to %s", rf.Status, rf.UserReceivedAccount)

	after, err := a.consumers.Get(ctx, c.ID)
	if err != nil {
		return err
	}
	step("consumer's credit line: used ¥%s, available ¥%s", fenfu.Yuan(after.Credit.Used), fenfu.Yuan(after.Credit.Available))
	p, err := a.prove(ctx)
	if err != nil {
		return fmt.Errorf("the books do not prove: %w", err)
	}
	step("fenfu verify: the books prove (%d orders, %d paid, %d refunds)", p.Orders, p.Paid, p.Refunds)
	step("demo complete")
	return nil
}

func demoClient(base string, m sandboxMerchant, a *app) (*wxpay.Client, error) {
	b, err := os.ReadFile(m.MerchantPrivateKeyPath)
	if err != nil {
		return nil, err
	}
	k, err := scheme.ParsePrivateKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.MerchantPrivateKeyPath, err)
	}
	return &wxpay.Client{BaseURL: base, MchID: m.MchID, SerialNo: m.MerchantSerialNo, Key: k,
		PlatformKey: scheme.Public(a.keys.Platform(scheme.RSA).Key), PlatformKeyID: a.keys.Platform(scheme.RSA).ID, IDs: a.ids,
		HTTP: &http.Client{Timeout: 10 * time.Second}}, nil
}

func getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
