package aggregate_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
)

// armedClock runs its hook once, at the first reading of the time after
// it is armed, and then tells the time as the clock under it does.
type armedClock struct {
	fenfu.Clock
	armed atomic.Bool
	hook  func()
}

func (c *armedClock) Now() time.Time {
	if c.armed.CompareAndSwap(true, false) {
		c.hook()
	}
	return c.Clock.Now()
}

// TestCodeRevokedWhileAnOrderIsMadeMakesNoOrder: the merchant revokes a
// code between the moment a consumer's form opened it and the moment its
// order is written. Once the revoke has answered, every scan is refused,
// so the form must not leave an order of the revoked code behind.
func TestCodeRevokedWhileAnOrderIsMadeMakesNoOrder(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newWorld(t, engine)
			ctx := t.Context()
			c := w.code(t, aggregate.NewCode{Label: "Till 3"})
			nonce := w.svc.Nonce()
			merchant := *w.svc // the merchant's side, on the plain clock
			var revokedAt time.Time
			clock := &armedClock{Clock: w.clock, hook: func() {
				r, err := merchant.Revoke(ctx, w.shop.MchID, c.ID)
				if err != nil || r.State != aggregate.Revoked {
					t.Fatalf("Revoke = %+v, %v", r, err)
				}
				revokedAt = r.RevokedAt
			}}
			consumer := *w.svc
			consumer.Clock = clock
			clock.armed.Store(true)
			o, made, err := consumer.Order(ctx, c.Token, "c_alice", nonce, 2345, nil)
			if revokedAt.IsZero() {
				t.Fatal("the code was not revoked while the order was made")
			}
			if err == nil || made || fenfu.ErrorCode(err) != fenfu.InvalidRequest {
				t.Errorf("the form made order %s (%s) of a code revoked before it was written: made %v, %v; want it refused as a revoked code's scan", o.OutTradeNo, o.State, made, err)
			}
			list, total, err := w.svc.Orders(ctx, w.shop.MchID, c.ID, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range list {
				if x.State == pay.NotPay {
					t.Errorf("the revoked code has a payable order %s of ¥%s made after the revoke answered (%d orders)", x.OutTradeNo, fenfu.Yuan(x.Total), total)
				}
			}
		})
	}
}
