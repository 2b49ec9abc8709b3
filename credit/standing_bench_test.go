package credit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

func BenchmarkStanding(b *testing.B) {
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
	d := dbtest.Open(b, db.SQLite, "credit", clock)
	ctx := context.Background()
	if err := d.Update(ctx, func(tx *db.Tx) error { return credit.Open(ctx, tx, "c1", 1<<40, "B") }); err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		p := credit.Payment{AttemptID: fmt.Sprint("a", i), OrderID: fmt.Sprint("O", i), MchID: fmt.Sprint("m", i%3), ConsumerID: "c1", Amount: 100}
		if err := d.Update(ctx, func(tx *db.Tx) error { _, err := credit.Capture(ctx, tx, p); return err }); err != nil {
			b.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	now := clock.Now()
	b.Run("three", func(b *testing.B) {
		for b.Loop() {
			_ = d.Update(ctx, func(tx *db.Tx) error {
				if _, err := credit.HistoryOf(ctx, tx, "c1", "m1", now, now.Add(-time.Hour)); err != nil {
					return err
				}
				_, err := credit.OverdueOf(ctx, tx, "c1", now)
				return err
			})
		}
	})
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			_ = d.Update(ctx, func(tx *db.Tx) error {
				_, _, err := credit.StandingOf(ctx, tx, "c1", "m1", now, now.Add(-time.Hour))
				return err
			})
		}
	})
}
