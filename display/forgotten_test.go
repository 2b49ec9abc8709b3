package display_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
)

// TestForgottenConsumerIsNoLongerResolvedByOpenID: once a consumer is
// forgotten, the openid a merchant kept from one of its paid orders names
// nobody: the exposure API decides as for a consumer it does not know,
// and records no new exposure naming the forgotten consumer.
func TestForgottenConsumerIsNoLongerResolvedByOpenID(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			e.clock.Set(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
			e.pay.OpenID = func(appid, consumerID string) string { return "o" + appid + consumerID }
			e.dis.Consumers = e.cons
			c := e.consumer(t, "A", 500_00)
			if _, err := e.pay.Pay(ctx, e.order(t, 2000).Token, c.ID, pay.ChannelBalance); err != nil {
				t.Fatal(err)
			}
			openid := e.pay.OpenID(e.m.AppID, c.ID)
			if got, err := e.dis.Resolve(ctx, e.m.MchID, e.m.AppID, openid, ""); err != nil || got == nil || got.ID != c.ID {
				t.Fatalf("before forgetting: %+v %v", got, err)
			}
			if err := e.pay.Core.Update(ctx, func(tx *db.Tx) error {
				_, err := consumer.Forget(ctx, tx, []string{c.ID})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got, err := e.dis.Resolve(ctx, e.m.MchID, e.m.AppID, openid, ""); err != nil || got != nil {
				t.Fatalf("the forgotten consumer is still resolved from the openid: %+v %v", got, err)
			}
		})
	}
}
