package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/bench"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
)

// TestGeneratedDaySettles: the benchmark's generated day is what the
// batch expects, and the batch settles every order of it once.
func TestGeneratedDaySettles(t *testing.T) {
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 21, 3, 0, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(t, db.SQLite, "core", clock)
	cr := dbtest.Open(t, db.SQLite, "credit", clock)
	ms := merchant.New(core, &fenfu.RandomIDs{}, clock)
	var ids []string
	for i := range 7 {
		m, err := ms.CreateSandbox(ctx, fmt.Sprint(i), scheme.SM2)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.MchID)
	}
	const n = 20000
	if err := bench.GenerateSettlementDay(ctx, core, bench.SettlementDay{Date: "2026-11-20", MchIDs: ids, Orders: n, CreditPct: 80, RefundPct: 10}, nil); err != nil {
		t.Fatal(err)
	}
	s := &settle.Service{Core: core, Credit: cr, Clock: clock, Owner: "t"}
	t0 := time.Now()
	results, err := s.Run(ctx, "2026-11-20")
	t.Logf("settled %d orders in %s", n, time.Since(t0))
	if err != nil {
		t.Fatal(err)
	}
	var orders, refunds, merchants int
	for _, r := range results {
		orders, refunds, merchants = orders+r.Payments, refunds+r.Refunds, merchants+r.Merchants
	}
	if orders != n || refunds < n/20 || merchants != 2*len(ids) {
		t.Fatalf("settled %d orders, %d refunds, %d settlements: %+v", orders, refunds, merchants, results)
	}
	if _, err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProvableDayProves: a provable generated day proves, before and after
// it is settled, on every engine.
func TestProvableDayProves(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 21, 3, 0, 0, 0, fenfu.Shanghai))
			core := dbtest.Open(t, engine, "core", clock)
			cr := dbtest.Open(t, engine, "credit", clock)
			ms := merchant.New(core, &fenfu.RandomIDs{}, clock)
			var ids []string
			for i := range 3 {
				m, err := ms.CreateSandbox(ctx, fmt.Sprint(i), scheme.SM2)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, m.MchID)
			}
			const n = 500
			err := bench.GenerateSettlementDay(ctx, core, bench.SettlementDay{Date: "2026-11-20", MchIDs: ids, Orders: n,
				CreditPct: 80, RefundPct: 10, Credit: cr, Consumers: 7}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ps := &pay.Service{Core: core, Credit: cr, Merchants: ms, IDs: &fenfu.RandomIDs{}, Clock: clock}
			p, err := ps.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Paid != n || p.CreditPaid < n/2 || p.CreditPaid == n || p.Refunds < n/20 || p.InFlight != 0 {
				t.Fatalf("proved %+v", p)
			}
			s := &settle.Service{Core: core, Credit: cr, Clock: clock, Owner: "t"}
			if _, err := s.Run(ctx, "2026-11-20"); err != nil {
				t.Fatal(err)
			}
			if _, err := ps.Verify(ctx); err != nil {
				t.Fatal(err)
			}
			if k, err := s.Verify(ctx); err != nil || k != 2*len(ids) {
				t.Fatalf("%d settlements: %v", k, err)
			}
		})
	}
}
