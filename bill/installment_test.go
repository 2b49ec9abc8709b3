package bill_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
)

// TestFundFlowInstallmentFees: a merchant that offers 12 installments
// interest-free bears their fee, which settlement deducts; the fund-flow
// bill shows it, and the share a partial refund returns, as lines of their
// own, so the bill reconciles with the settlement to the fen.
func TestFundFlowInstallmentFees(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testFundFlowInstallmentFees(t, engine) })
	}
}

func testFundFlowInstallmentFees(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	d := openDay(t, engine)
	o, err := d.pay.CreateNative(ctx, pay.NativeOrder{MchID: d.m.MchID, AppID: d.m.AppID, Description: "Desk", OutTradeNo: "DESK-0001",
		NotifyURL: "https://shop.example/n", Total: 2400_00, Offers: []pay.Offer{{Count: 12, MerchantPays: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = d.pay.PayIn(ctx, o.Token, d.buyer, pay.ChannelCredit, pay.Client{}, 12); err != nil {
		t.Fatal(err)
	}
	if o.PlanFee <= 0 {
		t.Fatalf("a merchant-borne 12-installment payment bears no fee: %+v", o)
	}
	d.clock.Advance(2 * time.Hour)
	r, err := d.pay.Refund(ctx, pay.RefundRequest{MchID: d.m.MchID, OutTradeNo: o.OutTradeNo, OutRefundNo: "DESK-R-0001",
		Refund: 600_00, Total: o.Total})
	if err != nil {
		t.Fatal(err)
	}
	if r.PlanFee <= 0 || r.PlanFee >= o.PlanFee {
		t.Fatalf("the partial refund returns %d of the installment fee %d", r.PlanFee, o.PlanFee)
	}
	d.clock.Set(time.Date(2026, 11, 21, 0, 0, 5, 0, fenfu.Shanghai))
	if _, err := d.settle.Run(ctx, "2026-11-20"); err != nil {
		t.Fatal(err)
	}
	list, err := d.settle.List(ctx, settle.Filter{MchID: d.m.MchID, Date: "2026-11-20", Channel: string(pay.ChannelCredit)})
	if err != nil || len(list) != 1 {
		t.Fatalf("settlements %+v: %v", list, err)
	}
	x := list[0]
	if x.PlanFees != o.PlanFee || x.RefundPlanFees != r.PlanFee {
		t.Fatalf("the settlement deducts installment fees %d less %d, want %d less %d", x.PlanFees, x.RefundPlanFees, o.PlanFee, r.PlanFee)
	}
	d.clock.Advance(24 * time.Hour)
	get := func(date, typ string) (string, bill.FlowTotals) {
		t.Helper()
		f, err := d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: date, Kind: bill.FundFlow, Type: typ, Channel: string(pay.ChannelCredit)}, false)
		if err != nil {
			t.Fatal(err)
		}
		tot, err := bill.ParseFundFlow(bytes.NewReader(f.Data))
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", date, typ, err, f.Data)
		}
		return string(f.Data), tot
	}
	text, day := get("2026-11-20", bill.Basic)
	for _, want := range []string{
		",`分付分期手续费,`" + bill.PlanFeeKind + ",`支出,`" + fenfu.Yuan(o.PlanFee) + ",",
		",`分付退款分期手续费,`" + bill.PlanFeeRefundKind + ",`收入,`" + fenfu.Yuan(r.PlanFee) + ",",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the BASIC bill lacks %q:\n%s", want, text)
		}
	}
	if day.Lines != 4 || day.ByKind[bill.PlanFeeKind] != -o.PlanFee || day.ByKind[bill.PlanFeeRefundKind] != r.PlanFee {
		t.Errorf("the BASIC bill's lines: %+v", day)
	}
	// What the day's lines net to is what the settlement paid, to the fen,
	// and pending settlement held exactly that when the day closed.
	check, err := d.bills.CheckSettlement(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if check.Gap != 0 || check.Items != 2 || day.Closing != x.Net {
		t.Errorf("the bill differs from the settlement by %d fen over %d items (closing %d, net %d):\n%s", check.Gap, check.Items, day.Closing, x.Net, text)
	}
	// The next day the settlement empties pending settlement.
	text, next := get("2026-11-21", bill.Basic)
	if next.ByKind["结算"] != -x.Net || next.Closing != 0 {
		t.Errorf("the next day's BASIC bill: %+v\n%s", next, text)
	}
	// The fees account counts the installment fee with the others.
	text, fees := get("2026-11-20", bill.Fees)
	if fees.ByKind[bill.PlanFeeKind] != -o.PlanFee || fees.ByKind[bill.PlanFeeRefundKind] != r.PlanFee ||
		fees.Closing != -(x.PaymentFees+x.PlanFees-x.RefundFees-x.RefundPlanFees) {
		t.Errorf("the FEES bill: %+v\n%s", fees, text)
	}
	// The trade bill keeps WeChat's columns and the gross amounts, so the
	// merchant's own records still match it entry for entry.
	tb, err := d.bills.Get(ctx, bill.Request{MchID: d.m.MchID, Date: "2026-11-20", Kind: bill.Trade, Type: bill.All}, false)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := bill.ParseTrade(bytes.NewReader(tb.Data))
	if err != nil {
		t.Fatal(err)
	}
	mine := []bill.Entry{{OutTradeNo: "DESK-0001", State: "SUCCESS", Amount: 2400_00}, {OutTradeNo: "DESK-0001", State: "REFUND", Amount: 600_00}}
	if rep := bill.Reconcile(entries, mine); len(rep.Differences) != 0 || rep.Matched != 2 {
		t.Errorf("the trade bill against the merchant's records: %+v\n%s", rep, tb.Data)
	}
	// A bill altered by a fen is refused.
	bad := strings.Replace(text, fenfu.Yuan(o.PlanFee), fenfu.Yuan(o.PlanFee+1), 1)
	if _, err := bill.ParseFundFlow(strings.NewReader(bad)); err == nil {
		t.Errorf("an altered fund-flow bill was read:\n%s", bad)
	}
}
