package pay_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
)

// TestMicropayConfirmRacesReverse: the consumer confirms while the till
// reverses. The till calls reverse again while told recall; in the end
// the order reads REVOKED and the consumer has paid nothing.
func TestMicropayConfirmRacesReverse(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			for round := range 12 {
				ch := paycode.Credit
				if round%2 == 1 {
					ch = paycode.Balance
				}
				c := e.consumer(t, 500000, 500000)
				w, err := e.pay.Micropay(ctx, e.codeOrder(fmt.Sprintf("cp-cr-%d", round), pay.DefaultNoPINLimit+1, e.code(t, c, ch)))
				wantCode(t, err, fenfu.UserPaying)
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); _, _ = e.pay.Confirm(ctx, w.ID, c, pay.Client{}) }()
				go func() {
					defer wg.Done()
					for range 50 {
						rv, err := e.pay.Reverse(ctx, e.m.MchID, w.ID, "")
						if err == nil || !rv.Recall {
							return
						}
					}
				}()
				wg.Wait()
				rv, err := e.pay.Reverse(ctx, e.m.MchID, w.ID, "")
				if err != nil || rv.Order.TradeState() != pay.Revoked {
					t.Fatalf("round %d: reverse after the race = %+v, %v", round, rv.Order.TradeState(), err)
				}
				got, _ := e.consumers.Get(ctx, c)
				if got.Credit.Used != 0 || got.Balance != 500000 {
					t.Fatalf("round %d: consumer after reverse: credit used %d, balance %d", round, got.Credit.Used, got.Balance)
				}
			}
			e.verify(t)
		})
	}
}
