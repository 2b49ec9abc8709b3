package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/scheme"
)

// TestLog: the delivery log lists each attempt of a merchant's events,
// newest first, with its status, error and its event's state now; it
// pages by keyset, reading each attempt once; it filters by event and by
// failure; a resend's attempt shows in it; and another merchant's
// attempts never do.
func TestLog(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 1) // each event refused once, then acknowledged
			a, b := e.paid(t, "log-0001"), e.paid(t, "log-0002")
			w := e.worker(e.core)
			for range 20 {
				if _, err := w.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(time.Second)
			}
			ev := &notify.Events{DB: e.core, Clock: e.clock}
			all, _, err := ev.Log(ctx, notify.LogFilter{MchID: e.m.MchID}, fenfu.Keyset{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 4 {
				t.Fatalf("the log has %d attempts, want 4: %+v", len(all), all)
			}
			for i, l := range all {
				if l.State != notify.Delivered || l.EventType != "TRANSACTION.SUCCESS" || l.NotifyURL != e.url+"/notify" {
					t.Errorf("attempt %d: %+v", i, l)
				}
				if i > 0 && l.At.After(all[i-1].At) {
					t.Errorf("attempt %d is newer than the one before it", i)
				}
			}
			if all[0].Attempt.Attempt != 2 || all[0].HTTPStatus != 204 || all[3].Attempt.Attempt != 1 || all[3].HTTPStatus != 500 || all[3].Error == "" {
				t.Errorf("newest and oldest attempts: %+v, %+v", all[0], all[3])
			}
			var paged []notify.LogEntry
			p := fenfu.Keyset{Limit: 1}
			for range 10 {
				page, next, err := ev.Log(ctx, notify.LogFilter{MchID: e.m.MchID}, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) != 1 {
					t.Fatalf("a page of %d after %d attempts", len(page), len(paged))
				}
				paged = append(paged, page...)
				if next == "" {
					break
				}
				p.After = next
			}
			if len(paged) != 4 {
				t.Errorf("paged one at a time: %d attempts, want 4", len(paged))
			}
			for i := range paged {
				if paged[i].EventID != all[i].EventID || paged[i].Attempt.Attempt != all[i].Attempt.Attempt {
					t.Errorf("page %d: %s #%d, want %s #%d", i, paged[i].EventID, paged[i].Attempt.Attempt, all[i].EventID, all[i].Attempt.Attempt)
				}
			}
			for _, bad := range []string{fenfu.Cursor("soon", "EV-1", "1"), fenfu.Cursor("1", "EV-1", "one"), fenfu.Cursor("1", "EV-1")} {
				if _, _, err := ev.Log(ctx, notify.LogFilter{MchID: e.m.MchID}, fenfu.Keyset{After: bad}); fenfu.ErrorCode(err) != fenfu.ParamError {
					t.Errorf("cursor %q: %v", bad, err)
				}
			}
			if failed, _, _ := ev.Log(ctx, notify.LogFilter{MchID: e.m.MchID, Failed: true}, fenfu.Keyset{}); len(failed) != 2 || failed[0].HTTPStatus != 500 {
				t.Errorf("the failed attempts: %+v", failed)
			}
			if one, _, _ := ev.Log(ctx, notify.LogFilter{MchID: e.m.MchID, EventID: "EV-" + a.ID}, fenfu.Keyset{}); len(one) != 2 || one[0].EventID != "EV-"+a.ID {
				t.Errorf("one event's attempts: %+v", one)
			}
			// A resend is one more attempt, in the log with its event
			// pending until it is made.
			if err := ev.Resend(ctx, e.m.MchID, "EV-"+b.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := ev.Log(ctx, notify.LogFilter{MchID: e.m.MchID}, fenfu.Keyset{Limit: 1}); len(got) != 1 || got[0].EventID != "EV-"+b.ID ||
				got[0].Attempt.Attempt != 3 || got[0].HTTPStatus != 204 || got[0].State != notify.Delivered {
				t.Errorf("after the resend: %+v", got)
			}
			other, err := e.ms.CreateSandbox(ctx, "other", scheme.RSA)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, _ := ev.Log(ctx, notify.LogFilter{MchID: other.MchID}, fenfu.Keyset{}); len(got) != 0 {
				t.Errorf("another merchant sees %d attempts", len(got))
			}
		})
	}
}
