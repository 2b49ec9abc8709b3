package pay_test

import (
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/pay"
)

// TestRefundNotifyURLCheckedAsAnOrders: a refund's notify_url is refused
// where an order's would be — not http(s), a line break, a zoned IPv6
// address reaching fenfu's own interfaces, too long — and may be absent.
func TestRefundNotifyURLCheckedAsAnOrders(t *testing.T) {
	base := pay.RefundRequest{MchID: "1900000001", OutTradeNo: "T1", OutRefundNo: "R1", Refund: 100, Total: 100}
	for _, u := range []string{"ftp://shop.example/n", "https://shop.example/n\r\n", "https://[::1%25lo]:8443/n", "https://",
		"https://" + strings.Repeat("a", 250) + ".example/n"} {
		r := base
		r.NotifyURL = u
		if err := pay.ValidateRefund(r); fenfu.ErrorCode(err) != fenfu.ParamError || fenfu.AsError(err).Field != "notify_url" {
			t.Errorf("notify_url %q: %v, want PARAM_ERROR on notify_url", u, err)
		}
	}
	for _, u := range []string{"", "https://shop.example/refunds"} {
		r := base
		r.NotifyURL = u
		if err := pay.ValidateRefund(r); err != nil {
			t.Errorf("notify_url %q refused: %v", u, err)
		}
	}
}
