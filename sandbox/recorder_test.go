package sandbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/notify"
)

// TestRecordedCallsWritten: every queued call is written when Run ends,
// and on PostgreSQL a batch of calls costs one round trip, whatever its
// size.
func TestRecordedCallsWritten(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			d := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
			now := time.Now()
			// flush records n calls and runs the recorder over them until
			// it has written them, counting its round trips.
			flush := func(n int) int64 {
				r := New(d, &notify.Events{DB: d}, &fenfu.RandomIDs{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
				for i := range n {
					r.Record(Call{MchID: "m1", At: now, Method: "POST", Route: fmt.Sprint("POST /v3/x/", i), Status: 200})
				}
				ctx, cancel := context.WithCancel(context.Background())
				ctx, tally := db.WithTally(ctx, false)
				cancel() // Run writes what is queued and returns
				r.Run(ctx)
				return tally.Total()
			}
			flush(1) // prepares the statement on its connection
			trips := flush(50)
			var rows int
			if err := d.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sandbox_calls`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 51 {
				t.Fatalf("%d calls written, want 51", rows)
			}
			if engine == db.Postgres && trips != 1 {
				t.Errorf("50 calls written in %d round trips, want 1", trips)
			}
		})
	}
}
