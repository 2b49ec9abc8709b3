package wxpay_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/wxpay"
)

// A Native order offering 分付 installments with WeChat Pay's own
// subsidy_info is stored with its offers; the payer's choice and who bears
// the fee come back as installment_info on the query and in the payment
// notification. Orders without it have none.
func TestInstallmentFields(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	withOffer := func(no string) map[string]any {
		o := h.order(no)
		o["amount"] = map[string]any{"total": 600_00}
		o["subsidy_info"] = map[string]any{"subsidy_detail": []any{map[string]any{"subsidy_period_type": "PERIOD",
			"subsidy_plan": []any{map[string]any{"subsidy_installment_num": 3, "subsidy_percent": 100},
				map[string]any{"subsidy_installment_num": 6, "subsidy_percent": 0}}}}}
		return o
	}
	tokens := map[string]string{}
	for _, no := range []string{"INST-0001", "INST-0002"} {
		var created map[string]string
		if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", withOffer(no), &created); err != nil {
			t.Fatal(err)
		}
		_, tokens[no], _ = strings.Cut(created["code_url"], "/q/")
	}
	// The same out_trade_no with another offer is another order.
	changed := withOffer("INST-0001")
	changed["subsidy_info"] = map[string]any{"subsidy_detail": []any{map[string]any{
		"subsidy_plan": []any{map[string]any{"subsidy_installment_num": 12, "subsidy_percent": 0}}}}}
	err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", changed, nil)
	if err == nil || !strings.Contains(err.Error(), string(fenfu.OutTradeNoUsed)) {
		t.Errorf("another offer on the same out_trade_no: %v", err)
	}
	for _, tc := range []struct{ name, plan, field string }{
		{"count", `{"subsidy_installment_num": 4, "subsidy_percent": 0}`, "subsidy_installment_num"},
		{"percent", `{"subsidy_installment_num": 3, "subsidy_percent": 50}`, "subsidy_percent"},
		{"missing", `{"subsidy_installment_num": 3}`, "subsidy_plan"},
	} {
		body := `{"appid":"` + h.m.AppID + `","mchid":"` + h.m.MchID + `","description":"tea","out_trade_no":"BAD-` + tc.name +
			`","notify_url":"https://shop.example/n","amount":{"total":100},"subsidy_info":{"subsidy_detail":[{"subsidy_plan":[` + tc.plan + `]}]}}`
		status, eb := h.signed(t, "POST", "/v3/pay/transactions/native", []byte(body))
		if status != 400 || eb.Code != "PARAM_ERROR" || !strings.Contains(eb.Message, tc.field) {
			t.Errorf("%s: %d %+v", tc.name, status, eb)
		}
	}

	ps := h.api.Pay
	c, _, err := consumer.New(ps.Core, ps.Credit, ps.IDs, ps.Clock).Create(ctx, consumer.NewConsumer{Rating: "A", CreditLimit: 10_000_00})
	if err != nil {
		t.Fatal(err)
	}
	pay1 := func(no string, n int) (pay.Order, error) {
		return ps.PayIn(ctx, tokens[no], c.ID, pay.ChannelCredit, pay.Client{}, n)
	}
	if _, err := pay1("INST-0001", 12); fenfu.ErrorCode(err) != fenfu.ParamError {
		t.Errorf("paying in a count not offered: %v", err)
	}
	if _, err := pay1("INST-0001", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := pay1("INST-0002", 6); err != nil {
		t.Fatal(err)
	}
	for no, want := range map[string]wxpay.InstallmentInfo{
		"INST-0001": {UseSubsidy: true, SelectedInstallmentNumber: 3},
		"INST-0002": {UseSubsidy: false, SelectedInstallmentNumber: 6},
	} {
		var tx wxpay.Transaction
		if err := h.client.Do(ctx, "GET", "/v3/pay/transactions/out-trade-no/"+no+"?mchid="+h.m.MchID, nil, &tx); err != nil {
			t.Fatal(err)
		}
		if tx.InstallmentInfo == nil || *tx.InstallmentInfo != want {
			t.Errorf("%s: installment_info %+v, want %+v", no, tx.InstallmentInfo, want)
		}
		o, err := ps.QueryByOutTradeNo(ctx, h.m.MchID, no)
		if err != nil {
			t.Fatal(err)
		}
		p, ok, err := credit.PlanOf(ctx, ps.Credit, o.AttemptID)
		if err != nil || !ok || p.Installments != want.SelectedInstallmentNumber ||
			(p.FeePayer == credit.MerchantPays) != want.UseSubsidy || p.Fee == 0 {
			t.Errorf("%s: plan %+v (%v, %v)", no, p, ok, err)
		}
		ev, err := h.api.RenderNotification(ctx, notify.Due{Subject: notify.Subject{Kind: notify.Transaction, ID: o.ID}})
		if err != nil {
			t.Fatal(err)
		}
		var inNotice wxpay.Transaction
		if err := json.Unmarshal(ev.Plaintext, &inNotice); err != nil || inNotice.InstallmentInfo == nil || *inNotice.InstallmentInfo != want {
			t.Errorf("%s: notification's installment_info %+v (%v)", no, inNotice.InstallmentInfo, err)
		}
	}
	o := h.paid(t, "PLAIN-0001", 100)
	raw, _ := json.Marshal(h.api.TransactionOf(o))
	if strings.Contains(string(raw), "installment_info") {
		t.Errorf("an order without offers has installment_info: %s", raw)
	}
}

// preselect_credit, the merchant's "pay with credit" box, is kept on the
// order and is part of its parameters; it cannot ask for credit that the
// order's limit_pay rules out.
func TestPreselectCredit(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	o := h.order("PRE-0001")
	o["preselect_credit"] = true
	if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil); err != nil {
		t.Fatal(err)
	}
	got, err := h.api.Pay.QueryByOutTradeNo(ctx, h.m.MchID, "PRE-0001")
	if err != nil || !got.PreselectCredit {
		t.Fatalf("stored order: %+v, %v", got, err)
	}
	if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil); err != nil {
		t.Errorf("the same request again: %v", err)
	}
	delete(o, "preselect_credit")
	if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", o, nil); err == nil || !strings.Contains(err.Error(), string(fenfu.OutTradeNoUsed)) {
		t.Errorf("the same out_trade_no without preselect_credit: %v", err)
	}
	plain := h.order("PRE-0002")
	if err := h.client.Do(ctx, "POST", "/v3/pay/transactions/native", plain, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.api.Pay.QueryByOutTradeNo(ctx, h.m.MchID, "PRE-0002"); got.PreselectCredit {
		t.Error("an order without preselect_credit is stored with it")
	}
	body := `{"appid":"` + h.m.AppID + `","mchid":"` + h.m.MchID + `","description":"tea","out_trade_no":"PRE-0003",` +
		`"notify_url":"https://shop.example/n","amount":{"total":100},"limit_pay":["no_credit"],"preselect_credit":true}`
	status, eb := h.signed(t, "POST", "/v3/pay/transactions/native", []byte(body))
	if status != 400 || eb.Code != "PARAM_ERROR" || !strings.Contains(eb.Message, "preselect_credit") {
		t.Errorf("preselect_credit with limit_pay no_credit: %d %+v", status, eb)
	}
}
