package complaint_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/db"
)

// BenchmarkFile measures filing a complaint on SQLite, with its
// notification enqueued and its hold placed in the core store; and then
// escalating them all, per complaint.
func BenchmarkFile(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b, db.SQLite)
	if err := w.svc.SetNotifyURL(ctx, w.merchants[0].MchID, "https://shop.example/complaints", true); err != nil {
		b.Fatal(err)
	}
	orders := make([]string, b.N)
	for i := range orders {
		orders[i] = w.paid(0, 0, 100).ID
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := w.svc.File(ctx, complaint.NewComplaint{ConsumerID: w.consumers[0], TransactionID: orders[i],
			ProblemType: "OTHERS", Detail: "Late."}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	w.clock.Advance(complaint.DefaultSLA + time.Second)
	start := time.Now()
	n := 0
	for {
		k, err := w.svc.Escalate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if k == 0 {
			break
		}
		n += k
	}
	if n != b.N {
		b.Fatalf("escalated %d of %d", n, b.N)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/escalation")
}
