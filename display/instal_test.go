package display_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/pay"
)

// TestInstalExposureDoesNotRecommendCreditWithNothingAvailable: asked
// without an order (POST /v3/pay/instal/exposure), the decision has no
// amount to compare the line with; a consumer who has used the whole line
// can pay nothing on credit, so credit is not usable for them.
func TestInstalExposureDoesNotRecommendCreditWithNothingAvailable(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			e.clock.Set(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			c := e.consumer(t, "A", 500_00)
			if _, err := e.pay.Pay(ctx, e.order(t, 500_00).Token, c.ID, pay.ChannelCredit); err != nil {
				t.Fatal(err)
			}
			used, err := e.cons.Get(ctx, c.ID)
			if err != nil || used.Credit.Available != 0 {
				t.Fatalf("the line after paying its whole limit: %+v %v", used.Credit, err)
			}
			x, err := e.dis.Expose(ctx, display.Ask{Merchant: e.m, Consumer: &used, Surface: pay.SurfaceInstalAPI})
			if err != nil {
				t.Fatal(err)
			}
			if cr := x.Credit(); cr.Shown && cr.Usable {
				t.Fatalf("credit recommended to a consumer with ¥0 available: %+v", cr)
			}
		})
	}
}
