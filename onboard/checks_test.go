package onboard

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
)

var submitted = time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai)

func history(counts ...int) map[string]int {
	m := map[string]int{}
	for i, c := range counts {
		m[HistoryMonths(submitted, 3)[i]] = c
	}
	return m
}

func TestHistoryMonths(t *testing.T) {
	if got := fmt.Sprint(HistoryMonths(submitted, 3)); got != "[2026-08 2026-09 2026-10]" {
		t.Fatalf("HistoryMonths = %s", got)
	}
	// 00:30 on 1 February in Shanghai is still 31 January in UTC: the
	// business calendar is Shanghai's.
	feb := time.Date(2026, 1, 31, 16, 30, 0, 0, time.UTC)
	if got := fmt.Sprint(HistoryMonths(feb, 3)); got != "[2025-11 2025-12 2026-01]" {
		t.Fatalf("HistoryMonths across a year in Shanghai time = %s", got)
	}
}

func TestEvaluate(t *testing.T) {
	p := DefaultPolicy()
	ecommerce := Application{EntityType: Enterprise, LicenceNumber: "91110000MA01ABCD2X", LicenceStatus: "normal",
		Industry: "ecommerce_retail", Qualifications: map[Qualification]string{ICPFiling: "京ICP备12345678号"}, SubmittedAt: submitted}
	catering := Application{EntityType: IndividualBusiness, LicenceNumber: "92310000MA1K00001Y", LicenceStatus: "normal",
		Industry: "catering", Qualifications: map[Qualification]string{FoodBusinessLicence: "JY13101010000001"},
		Stores: []Store{{"Noodle House", "上海市徐汇区…"}}, SubmittedAt: submitted}
	good := Facts{OrdinaryByMonth: history(520, 610, 580)}
	with := func(a Application, f func(*Application)) Application {
		a.Qualifications = clone(a.Qualifications)
		f(&a)
		return a
	}
	for _, tc := range []struct {
		name   string
		app    Application
		facts  Facts
		failed string // the check that fails, "" for none
		reason string // a fragment of its reason
	}{
		{"e-commerce approved", ecommerce, good, "", ""},
		{"catering approved", catering, Facts{OrdinaryByMonth: history(3, 1, 40)}, "", ""},
		{"catering without its food licence", with(catering, func(a *Application) { delete(a.Qualifications, FoodBusinessLicence) }),
			Facts{OrdinaryByMonth: history(3, 1, 40)}, CheckIndustry, "requires a food_business_licence"},
		{"catering without a store", with(catering, func(a *Application) { a.Stores = nil }),
			Facts{OrdinaryByMonth: history(3, 1, 40)}, CheckIndustry, "at least 1 physical store"},
		{"e-commerce below 500 a month", ecommerce, Facts{OrdinaryByMonth: history(499, 499, 501)}, CheckIndustry, "averaged 499"},
		{"e-commerce at exactly 500 a month", ecommerce, Facts{OrdinaryByMonth: history(500, 500, 500)}, "", ""},
		{"a month without payments", ecommerce, Facts{OrdinaryByMonth: history(900, 0, 900)}, CheckHistory, "2026-09"}, // average 600: only history fails
		{"no history at all", catering, Facts{}, CheckHistory, "3 consecutive full months"},
		{"blacklisted", ecommerce, Facts{OrdinaryByMonth: history(520, 610, 580), Blacklisted: true, BlacklistReason: "fraud case 2025-17"},
			CheckBlacklist, "fraud case 2025-17"},
		{"licence revoked", with(ecommerce, func(a *Application) { a.LicenceStatus = "revoked" }), good, CheckLicence, `"revoked"`},
		{"not an enterprise", with(ecommerce, func(a *Application) { a.EntityType = "person" }), good, CheckLicence, "enterprise or an individual business"},
		{"industry not eligible", with(ecommerce, func(a *Application) { a.Industry = "medical_aesthetics" }), good, CheckIndustry, "not eligible"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := Evaluate(p, tc.app, tc.facts)
			if len(cs) != 4 {
				t.Fatalf("%d checks, want all 4 every time", len(cs))
			}
			for _, c := range cs {
				if c.Reason == "" {
					t.Errorf("check %s has no reason", c.Name)
				}
				if want := c.Name != tc.failed; c.Passed != want {
					t.Errorf("check %s passed=%v, want %v (%s)", c.Name, c.Passed, want, c.Reason)
				}
				if c.Name == tc.failed && !strings.Contains(c.Reason, tc.reason) {
					t.Errorf("check %s reason %q lacks %q", c.Name, c.Reason, tc.reason)
				}
			}
			if Passed(cs) != (tc.failed == "") {
				t.Errorf("Passed = %v", Passed(cs))
			}
		})
	}
}

func TestPolicyIsData(t *testing.T) {
	p := DefaultPolicy()
	if p.Industries["ecommerce_retail"].DepositFen != 500000 || p.Industries["catering"].DepositFen != 300000 ||
		p.Industries["life_services"].DepositFen != 200000 || p.HistoryMonths != 3 {
		t.Fatalf("default policy = %+v", p)
	}
	// A new version admits another industry without a code change.
	q, err := ParsePolicy([]byte(`{"version":"2027-01","history_months":3,"industries":{"education":{"name":"Online education",
		"required":["industry_permit"],"deposit_fen":800000}}}`))
	if err != nil {
		t.Fatal(err)
	}
	a := Application{EntityType: Enterprise, LicenceNumber: "x", LicenceStatus: "normal", Industry: "education",
		Qualifications: map[Qualification]string{IndustryPermit: "EDU-1"}, SubmittedAt: submitted}
	if cs := Evaluate(q, a, Facts{OrdinaryByMonth: history(1, 1, 1)}); !Passed(cs) {
		t.Fatalf("education under the new policy: %+v", cs)
	}
	for _, bad := range []string{`{}`, `{"version":"x","industries":{}}`, `{"version":"x","history_months":99,"industries":{"a":{}}}`,
		`{"version":"x","industries":{"a":{"deposit_fen":-1}}}`, `not json`} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", bad)
		}
	}
}

func clone(m map[Qualification]string) map[Qualification]string {
	out := map[Qualification]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
