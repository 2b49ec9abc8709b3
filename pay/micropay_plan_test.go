package pay_test

import (
	"context"
	"testing"

	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
)

// TestMicropayReverseInstallments: a code payment in 6 installments at the
// counter, reversed: the whole principal and the consumer's installment
// fee go back, and the consumer owes nothing.
func TestMicropayReverseInstallments(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine)
			c := e.consumer(t, 500000, 0)
			r := e.codeOrder("cp-inst-1", 60000, e.code(t, c, paycode.Credit))
			r.Installments = 6
			o, err := e.pay.Micropay(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			before, _ := e.consumers.Get(ctx, c)
			rv, err := e.pay.Reverse(ctx, e.m.MchID, o.ID, "")
			if err != nil || rv.Order.TradeState() != pay.Revoked {
				t.Fatalf("reverse = %+v, %v", rv, err)
			}
			plan, _, err := credit.PlanOf(ctx, e.pay.Credit, o.AttemptID)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := e.consumers.Get(ctx, c)
			t.Logf("before: used %d; after: used %d; plan state %s refunded %d fee %d returned %d", before.Credit.Used, got.Credit.Used,
				plan.State, plan.Refunded, plan.Fee, plan.FeeReturned)
			if got.Credit.Used != 0 || plan.Refunded != plan.Principal || plan.FeeReturned != plan.Fee {
				t.Fatalf("after reverse: used %d, plan %+v", got.Credit.Used, plan)
			}
			e.verify(t)
		})
	}
}
