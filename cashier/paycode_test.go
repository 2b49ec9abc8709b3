package cashier_test

import (
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/cashier"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
)

// TestCodeStatus: what the page is told of a code for each state its
// order can be in, including waiting for the consumer's confirmation.
func TestCodeStatus(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 30, 0, fenfu.Shanghai)
	code := paycode.Code{ConsumerID: "c1", Channel: paycode.Credit, IssuedAt: now.Add(-30 * time.Second), ExpiresAt: now.Add(90 * time.Second)}
	used := code
	used.OrderID = "4200000001"
	order := func(state pay.State, consumer string) *pay.Order {
		return &pay.Order{ID: "4200000001", State: state, ConsumerID: consumer, Total: 23_00, PaidAt: now}
	}
	large := order(pay.Success, "c1")
	large.Total = 1_234_567_89
	for _, tc := range []struct {
		name  string
		code  paycode.Code
		order *pay.Order
		want  cashier.CodeStatus
	}{
		{"unused", code, nil, cashier.CodeStatus{State: cashier.CodeUnused}},
		{"expired", func() paycode.Code { c := code; c.ExpiresAt = now; return c }(), nil, cashier.CodeStatus{State: cashier.CodeExpired}},
		{"order not to be read", used, nil, cashier.CodeStatus{State: cashier.CodeUsed}},
		{"paid", used, order(pay.Success, "c1"), cashier.CodeStatus{State: cashier.CodePaid, TransactionID: "4200000001", Merchant: "Tea House",
			Amount: 23_00, AmountText: "23.00", PaidAt: "2026-12-07T10:00:30+08:00"}},
		{"paid, then refunded", used, order(pay.Refund, "c1"), cashier.CodeStatus{State: cashier.CodePaid, TransactionID: "4200000001",
			Merchant: "Tea House", Amount: 23_00, AmountText: "23.00", PaidAt: "2026-12-07T10:00:30+08:00"}},
		{"waiting for the consumer", used, order(pay.NotPay, "c1"), cashier.CodeStatus{State: cashier.CodeConfirm, TransactionID: "4200000001",
			Merchant: "Tea House", Amount: 23_00, AmountText: "23.00", ConfirmURL: "/cashier/paycode/orders/4200000001"}},
		{"paying", used, order(pay.Paying, "c1"), cashier.CodeStatus{State: cashier.CodePaying, TransactionID: "4200000001",
			Merchant: "Tea House", Amount: 23_00, AmountText: "23.00"}},
		{"paid, a large amount", used, large, cashier.CodeStatus{State: cashier.CodePaid, TransactionID: "4200000001", Merchant: "Tea House",
			Amount: 1_234_567_89, AmountText: "1,234,567.89", PaidAt: "2026-12-07T10:00:30+08:00"}},
		{"closed", used, order(pay.Closed, "c1"), cashier.CodeStatus{State: cashier.CodeUsed}},
		{"another consumer's order", used, order(pay.Success, "c2"), cashier.CodeStatus{State: cashier.CodeUsed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Channel = paycode.Credit
			tc.want.ExpiresAt = tc.code.ExpiresAt.In(fenfu.Shanghai).Format(time.RFC3339)
			if got := cashier.CodeStatusOf(tc.code, tc.order, "Tea House", now); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
