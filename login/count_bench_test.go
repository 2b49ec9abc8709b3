package login

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// BenchmarkCount measures what a consumer login costs its counts, without
// the secret's check: a try taken from the address's count and from the
// phone's, and both settled, as a right PIN (the phone's count cleared)
// or a wrong one. On SQLite it also reports the rows written per login
// (total_changes of the store's one writing connection).
func BenchmarkCount(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		for _, wrong := range []bool{false, true} {
			name := string(engine) + "/right"
			if wrong {
				name = string(engine) + "/wrong"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				clock := fenfu.NewFakeClock(time.Date(2026, 12, 7, 12, 0, 0, 0, fenfu.Shanghai))
				c := &Counter{DB: dbtest.Open(b, engine, "core", clock), Clock: clock}
				changes := func() int64 {
					var n int64
					if engine != db.SQLite {
						return 0
					}
					if err := c.DB.Update(ctx, func(tx *db.Tx) error {
						return tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&n)
					}); err != nil {
						b.Fatal(err)
					}
					return n
				}
				phones := make([]string, 20)
				for i := range phones {
					phones[i] = fmt.Sprintf("phone:%02d", i)
				}
				before := changes()
				i := 0
				for b.Loop() {
					src, err := c.Take(ctx, "source:192.0.2.1", 1<<30, time.Hour)
					if err != nil || src.Locked {
						b.Fatal(src, err)
					}
					ph, err := c.Take(ctx, phones[i%len(phones)], 1<<30, time.Hour)
					if err != nil || ph.Locked {
						b.Fatal(ph, err)
					}
					if err := c.Settle(ctx, &src, wrong, false); err != nil {
						b.Fatal(err)
					}
					if err := c.Settle(ctx, &ph, wrong, !wrong); err != nil {
						b.Fatal(err)
					}
					i++
				}
				if engine == db.SQLite {
					b.ReportMetric(float64(changes()-before)/float64(i), "rows/login")
				}
			})
		}
	}
}
