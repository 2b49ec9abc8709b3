package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/notify"
)

// lockedBuffer is a log both the worker's goroutines and the test use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns the JSON log's records, and empties it.
func (l *lockedBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, r)
	}
	l.b.Reset()
	return out
}

// TestFailedDeliveriesLogged: each failed attempt is logged at warn with
// the merchant, the event, the attempt, when the next is due and the
// error, and an event whose schedule runs out at error; nothing of the
// body, nor the notify_url's query, which may carry the merchant's token.
func TestFailedDeliveriesLogged(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 100) // never acknowledges
			e.url += "/hook?token=s3cret"
			o := e.paid(t, "notify-log-1")
			var log lockedBuffer
			w := e.worker(e.core)
			w.Log = slog.New(slog.NewJSONHandler(&log, nil))
			w.Schedule = []time.Duration{15 * time.Second}
			if n, err := w.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("first attempt: %d, %v", n, err)
			}
			rs := log.records(t)
			if len(rs) != 1 {
				t.Fatalf("log after a failed attempt: %v", rs)
			}
			r := rs[0]
			next := e.clock.Now().Add(15 * time.Second).UTC().Format(time.RFC3339)
			for k, want := range map[string]any{"level": "WARN", "mchid": e.m.MchID, "event_id": "EV-" + o.ID, "attempt": 1.0,
				"http_status": 500.0, "next_attempt_at": next, "event_type": "TRANSACTION.SUCCESS"} {
				if r[k] != want {
					t.Errorf("failed attempt's %s = %v, want %v (%v)", k, r[k], want, r)
				}
			}
			if msg, _ := r["error"].(string); !strings.Contains(msg, "500") {
				t.Errorf("failed attempt's error = %q", msg)
			}
			e.clock.Advance(16 * time.Second)
			if n, err := w.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("second attempt: %d, %v", n, err)
			}
			rs = log.records(t)
			if len(rs) != 1 || rs[0]["level"] != "ERROR" || rs[0]["event_id"] != "EV-"+o.ID || rs[0]["attempt"] != 2.0 || rs[0]["next_attempt_at"] != nil {
				t.Fatalf("log after the last attempt: %v", rs)
			}

			// A notify_url that cannot be reached: the error names the URL
			// without its query.
			e.url = "http://127.0.0.1:1/hook?token=s3cret"
			o2 := e.paid(t, "notify-log-2")
			if n, err := w.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("unreachable: %d, %v", n, err)
			}
			rs = log.records(t)
			if len(rs) != 1 || rs[0]["event_id"] != "EV-"+o2.ID || !strings.Contains(rs[0]["error"].(string), "127.0.0.1:1/hook") {
				t.Fatalf("log of an unreachable notify_url: %v", rs)
			}
			for _, r := range rs {
				b, _ := json.Marshal(r)
				if strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "resource") || strings.Contains(string(b), "ciphertext") {
					t.Errorf("log shows the token or the body: %s", b)
				}
			}
		})
	}
}

// TestPendingBacklog: the backlog counts the pending events and dates the
// oldest from when it became pending; a merchant resending a delivered
// event makes it pending from then, not from when it first happened.
func TestPendingBacklog(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, engine, 0)
			if b, err := notify.PendingBacklog(ctx, e.core); err != nil || b != (notify.Backlog{}) {
				t.Fatalf("empty backlog = %+v, %v", b, err)
			}
			first := e.clock.Now()
			o1 := e.paid(t, "backlog-1")
			e.clock.Advance(time.Minute)
			e.paid(t, "backlog-2")
			b, err := notify.PendingBacklog(ctx, e.core)
			if err != nil || b.Pending != 2 || b.Oldest != first.UnixMicro() {
				t.Fatalf("backlog of two = %+v, %v; want 2 pending since %d", b, err, first.UnixMicro())
			}
			if n, err := e.worker(e.core).RunOnce(ctx); n != 2 || err != nil {
				t.Fatalf("delivery: %d, %v", n, err)
			}
			if b, err := notify.PendingBacklog(ctx, e.core); err != nil || b != (notify.Backlog{}) {
				t.Fatalf("backlog after delivery = %+v, %v", b, err)
			}
			e.clock.Advance(24 * time.Hour)
			if err := (&notify.Events{DB: e.core, Clock: e.clock}).Resend(ctx, e.m.MchID, "EV-"+o1.ID); err != nil {
				t.Fatal(err)
			}
			if b, err := notify.PendingBacklog(ctx, e.core); err != nil || b.Pending != 1 || b.Oldest != e.clock.Now().UnixMicro() {
				t.Fatalf("backlog after a resend = %+v, %v; want 1 pending since now", b, err)
			}
		})
	}
}
