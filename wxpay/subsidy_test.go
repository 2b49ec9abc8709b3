package wxpay

import (
	"encoding/json"
	"testing"
)

// FuzzSubsidyInfo: whatever subsidy_info a create request carries, reading
// its offers never panics, and every offer it accepts names who bears the
// fee as 0 or 100 said.
func FuzzSubsidyInfo(f *testing.F) {
	f.Add(`{"subsidy_detail":[{"subsidy_period_type":"PERIOD","subsidy_plan":[{"subsidy_installment_num":3,"subsidy_percent":100}]}]}`)
	f.Add(`{"subsidy_detail":[{"subsidy_plan":[{"subsidy_installment_num":6,"subsidy_percent":0},{"subsidy_installment_num":12}]}]}`)
	f.Add(`{"subsidy_detail":[{"subsidy_period_type":"DAILY","subsidy_plan":[]}]}`)
	f.Add(`{"subsidy_detail":null}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, info string) {
		var r nativeReq
		if json.Unmarshal([]byte(`{"subsidy_info":`+info+`}`), &r) != nil {
			return
		}
		offers, err := r.offers()
		if err != nil || r.SubsidyInfo == nil {
			return
		}
		n := 0
		for _, d := range r.SubsidyInfo.SubsidyDetail {
			for _, p := range d.SubsidyPlan {
				if got := offers[n]; got.Count != *p.SubsidyInstallmentNum || got.MerchantPays != (*p.SubsidyPercent == 100) {
					t.Fatalf("offer %d = %+v from %d/%d", n, got, *p.SubsidyInstallmentNum, *p.SubsidyPercent)
				}
				n++
			}
		}
		if n != len(offers) {
			t.Fatalf("%d offers from %d plans", len(offers), n)
		}
	})
}
