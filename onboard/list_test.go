package onboard_test

import (
	"context"
	"fmt"
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

// TestList: staff page through the review queue in submission order,
// filtered by industry, submission day and a merchant's name or mchid;
// each page starts after the last row of the one before, whatever was
// decided in between.
func TestList(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testList(t, engine) })
	}
}

func testList(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 20, 9, 0, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(t, engine, "core", clock)
	ms := merchant.New(core, &fenfu.RandomIDs{}, clock)
	svc := &onboard.Service{DB: core, Policy: onboard.DefaultPolicy(), Bureau: onboard.ListBureau{DB: core}, IDs: &fenfu.RandomIDs{}, Clock: clock}
	var ids, mchids []string
	for i := range 5 {
		name := fmt.Sprintf("Tea house %d", i)
		industry, quals := "life_services", map[onboard.Qualification]string{onboard.IndustryPermit: "P-1"}
		if i%2 == 1 {
			name = fmt.Sprintf("Noodle bar %d", i)
			industry, quals = "catering", map[onboard.Qualification]string{onboard.FoodBusinessLicence: "JY-1"}
		}
		m, err := ms.CreateSandbox(ctx, name, scheme.RSA)
		if err != nil {
			t.Fatal(err)
		}
		hist := "mchid,month,ordinary_count\n"
		for _, month := range onboard.HistoryMonths(clock.Now(), 3) {
			hist += m.MchID + "," + month + ",40\n"
		}
		if _, err := onboard.ImportHistory(ctx, core, strings.NewReader(hist), "test"); err != nil {
			t.Fatal(err)
		}
		r, err := svc.Create(ctx, m.MchID, onboard.Application{EntityType: onboard.Enterprise, LicenceNumber: "91310000MA1K0000" + fmt.Sprint(i) + "Y",
			LicenceStatus: "normal", Industry: industry, Qualifications: quals, Stores: []onboard.Store{{Name: "main", Address: "1 Road"}}})
		if err != nil {
			t.Fatal(err)
		}
		if r, err = svc.Submit(ctx, r.ID, "merchant:"+m.MchID); err != nil || r.State != onboard.InReview {
			t.Fatalf("submit %d: %+v, %v", i, r, err)
		}
		ids, mchids = append(ids, r.ID), append(mchids, m.MchID)
		clock.Advance(24 * time.Hour)
	}
	list := func(f onboard.Filter) ([]string, string) {
		t.Helper()
		got, next, err := svc.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range got {
			out = append(out, r.ID)
			if r.MerchantName == "" || r.SubmittedAt.IsZero() {
				t.Errorf("listed %s without its merchant's name or submission", r.ID)
			}
		}
		return out, next
	}
	same := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}

	// Two at a time: three pages, in submission order, the last without a
	// next cursor; an application decided meanwhile leaves the queue
	// without moving the next page.
	p1, next := list(onboard.Filter{Keyset: fenfu.Keyset{Limit: 2}})
	same("page 1", p1, ids[:2])
	if _, err := svc.Review(ctx, ids[2], "reject", "staff:test", "no"); err != nil {
		t.Fatal(err)
	}
	p2, next := list(onboard.Filter{Keyset: fenfu.Keyset{Limit: 2, After: next}})
	same("page 2", p2, ids[3:5])
	if next != "" {
		t.Errorf("the last page has a next cursor %q", next)
	}
	same("rejected", must(list(onboard.Filter{State: onboard.Rejected})), ids[2:3])

	same("catering", must(list(onboard.Filter{Industry: "catering"})), []string{ids[1], ids[3]})
	same("by name", must(list(onboard.Filter{Search: "noodle"})), []string{ids[1], ids[3]})
	same("by mchid", must(list(onboard.Filter{Search: mchids[4]})), ids[4:5])
	same("by nothing", must(list(onboard.Filter{Search: "no such shop"})), nil)
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, fenfu.Shanghai)
	same("submitted on 11-21 and 11-22", must(list(onboard.Filter{From: day, To: day.AddDate(0, 0, 2)})), ids[1:2])

	for _, f := range []onboard.Filter{{Keyset: fenfu.Keyset{After: "not a cursor"}}, {State: "pending"}} {
		if _, _, err := svc.List(ctx, f); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("List(%+v): %v, want PARAM_ERROR", f, err)
		}
	}
}

func must(ids []string, _ string) []string { return ids }
