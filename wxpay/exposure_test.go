package wxpay_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/pay"
)

// TestTransactionsExposureExpiryOnTheServicesClock: whether an order has
// expired is the services' time, which a sandbox clock moves, not the
// protocol's, which stays the system's: an order past its expiry on the
// services' clock is ORDER_CLOSED, as the cashier then finds it, with no
// market_exposure_token for a page that would ignore it.
func TestTransactionsExposureExpiryOnTheServicesClock(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	ps := h.api.Pay
	sandbox := fenfu.NewFakeClock(time.Now())
	ps.Clock = sandbox
	h.api.Display = display.New(ps, nil, sandbox)
	h.api.Display.Tokens = display.NewTokens(h.keys.Secret)
	mux := http.NewServeMux()
	h.api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.srv, h.client.BaseURL = srv, srv.URL
	ask := func(no string) (int, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"mchid": h.m.MchID, "appid": h.m.AppID, "out_trade_no": no})
		code, eb := h.signed(t, "POST", "/v3/pay/transactions/exposure", body)
		return code, eb.Code
	}
	if _, err := ps.CreateNative(ctx, pay.NativeOrder{MchID: h.m.MchID, AppID: h.m.AppID, Description: "tea", OutTradeNo: "EXPOSE-1",
		NotifyURL: "https://shop.example/n", Total: 2000}); err != nil {
		t.Fatal(err)
	}
	if code, ec := ask("EXPOSE-1"); code != http.StatusOK {
		t.Fatalf("an open order: HTTP %d %s", code, ec)
	}
	sandbox.Advance(pay.DefaultExpiry + time.Minute)
	if code, ec := ask("EXPOSE-1"); code == http.StatusOK || ec != string(fenfu.OrderClosed) {
		t.Fatalf("an order expired on the services' clock: HTTP %d %s, want ORDER_CLOSED", code, ec)
	}
}
