package onboard_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
)

// TestReportReproducesKnownRates builds a population with a known
// first-time approval rate and a known time to activation per industry
// (the seed's own examples) and checks the report gives them back.
func TestReportReproducesKnownRates(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, fenfu.Shanghai)
	clock := fenfu.NewFakeClock(start)
	core := dbtest.Open(t, db.SQLite, "core", clock)
	ids := &fenfu.RandomIDs{}
	ms := merchant.New(core, ids, clock)
	// Every applicant passes the automatic checks; staff decide.
	policy, err := onboard.ParsePolicy([]byte(`{"version":"t","history_months":0,"industries":{
		"chain_supermarket":{"name":"Chain supermarket","required":[],"deposit_fen":100},
		"online_education":{"name":"Online education","required":[],"deposit_fen":100},
		"medical_aesthetics":{"name":"Medical aesthetics","required":[],"deposit_fen":100}}}`))
	if err != nil {
		t.Fatal(err)
	}
	svc := &onboard.Service{DB: core, Policy: policy, Bureau: onboard.ListBureau{DB: core}, IDs: ids, Clock: clock}
	must := func(_ onboard.Record, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	type plan struct {
		industry string
		n        int
		approved int           // approved on first submission
		material int           // sent back first (then approved: not first-time)
		days     time.Duration // submission → activation for the approved
	}
	plans := []plan{
		{"chain_supermarket", 50, 41, 4, 77 * time.Hour},                  // 82 % first time, 3.2 days
		{"online_education", 30, 20, 5, 137 * time.Hour},                  // 66.7 %, 5.7 days
		{"medical_aesthetics", 40, 19, 6, 201*time.Hour + 36*time.Minute}, // 47.5 %, 8.4 days
	}
	for _, p := range plans {
		for i := range p.n {
			m, err := ms.CreateSandbox(ctx, "m", scheme.SM2) // SM2 keys are quick to make
			if err != nil {
				t.Fatal(err)
			}
			r, err := svc.Create(ctx, m.MchID, onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: fmt.Sprintf("L-%s-%d", p.industry, i),
				LicenceStatus: "normal", Industry: p.industry})
			if err != nil {
				t.Fatal(err)
			}
			submitted := clock.Now()
			if r, err = svc.Submit(ctx, r.ID, "merchant"); err != nil || r.State != onboard.InReview {
				t.Fatalf("submit: %v %s", err, r.State)
			}
			switch {
			case i < p.approved:
				clock.Advance(time.Hour)
				must(svc.Review(ctx, r.ID, "approve", "staff", "ok"))
				must(svc.PayDeposit(ctx, r.ID, "ref", "finance"))
				clock.Advance(submitted.Add(p.days).Sub(clock.Now()))
				must(svc.Activate(ctx, r.ID, "product"))
				clock.Advance(-p.days) // later applicants start where this one began
			case i < p.approved+p.material:
				must(svc.Review(ctx, r.ID, "request_material", "staff", "more"))
				must(svc.Submit(ctx, r.ID, "merchant"))
				must(svc.Review(ctx, r.ID, "approve", "staff", "ok"))
			default:
				must(svc.Review(ctx, r.ID, "reject", "staff", "no"))
			}
			clock.Advance(time.Minute)
		}
	}
	report, err := svc.Report(ctx, start, clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{
		"chain_supermarket":  {41.0 / 50, 77.0 / 24},
		"online_education":   {20.0 / 30, 137.0 / 24},
		"medical_aesthetics": {19.0 / 40, 201.6 / 24},
	}
	if len(report) != 3 {
		t.Fatalf("report = %+v", report)
	}
	for _, s := range report {
		w := want[s.Industry]
		if math.Abs(s.FirstTimeApprovalRate-w[0]) > 1e-9 || math.Abs(s.MeanDaysToActivation-w[1]) > 1e-6 {
			t.Errorf("%s: rate %.4f days %.4f, want %.4f and %.4f", s.Industry, s.FirstTimeApprovalRate, s.MeanDaysToActivation, w[0], w[1])
		}
	}
	var b strings.Builder
	onboard.WriteReport(&b, report, start, clock.Now())
	if !strings.Contains(b.String(), "chain_supermarket") || !strings.Contains(b.String(), "82.0%") {
		t.Fatalf("table:\n%s", b.String())
	}
	if none, _ := svc.Report(ctx, start.AddDate(-1, 0, 0), start); len(none) != 0 {
		t.Fatalf("a period with no submissions reported %+v", none)
	}
}
