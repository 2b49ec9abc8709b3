package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

func clock() *fenfu.FakeClock {
	return fenfu.NewFakeClock(time.Date(2026, 12, 7, 10, 0, 0, 0, fenfu.Shanghai))
}

// fill appends n entries to d's chain, the odd ones inside a transaction
// of their caller's, and returns the chain's head.
func fill(t *testing.T, d *db.DB, n int) audit.Head {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		e := audit.Entry{Actor: "staff:lin", Action: "GET /admin/applications/{id}", Target: audit.Target{Kind: "applications", ID: fmt.Sprint("app_", i)},
			Detail: audit.Detail(map[string]any{"status": 200, "code": "OK", "n": i})}
		var err error
		if i%2 == 1 {
			err = d.Update(ctx, func(tx *db.Tx) error {
				_, err := audit.Append(ctx, tx, e)
				return err
			})
		} else {
			_, err = audit.Record(ctx, d, e)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	h, err := audit.HeadOf(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func verify(t *testing.T, d *db.DB, anchors ...audit.Anchor) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), d, anchors, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestChain: entries appended on their own and inside their callers'
// transactions form one chain that verifies; an entry whose transaction
// rolls back leaves no trace, not even a used seq.
func TestChain(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.Open(t, engine, "credit", clock())
			if r := verify(t, d); !r.OK() || r.Entries != 0 {
				t.Fatalf("empty chain: %v", r)
			}
			fill(t, d, 3)
			boom := errors.New("the caller's write failed")
			err := d.Update(ctx, func(tx *db.Tx) error {
				if _, err := audit.Append(ctx, tx, audit.Entry{Actor: "staff:lin", Action: "POST /admin/consumers/{id}/line"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			h := fill(t, d, 2)
			if h.Seq != 5 {
				t.Fatalf("head after 5 appends and a rollback: %d", h.Seq)
			}
			r := verify(t, d)
			if !r.OK() || r.Entries != 5 || r.Head != h {
				t.Fatalf("verify: %v", r)
			}
			list, err := audit.List(ctx, d, audit.Filter{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 5 || list[0].Seq != 5 || list[4].PrevHash != audit.Zero || list[0].Hash != h.Hash {
				t.Fatalf("list: %+v", list)
			}
			if got, want := string(list[0].Detail), `{"code":"OK","n":2,"status":200}`; got != want {
				t.Errorf("detail stored as %s, want canonical %s", got, want)
			}
			if err := audit.Login(ctx, d, "staff", "staff:wang", "10.0.0.9", false, "wrong password"); err != nil {
				t.Fatal(err)
			}
			refused, err := audit.List(ctx, d, audit.Filter{Actor: "unauthenticated", Action: audit.ActionLoginRefused})
			if err != nil || len(refused) != 1 || refused[0].Reason != "wrong password" || refused[0].Target != (audit.Target{Kind: "staff", ID: "staff:wang"}) {
				t.Fatalf("refused login: %+v %v", refused, err)
			}
			none, err := audit.List(ctx, d, audit.Filter{TargetKind: "applications", From: clock().Now().Add(time.Hour)})
			if err != nil || len(none) != 0 {
				t.Fatalf("entries from an hour on: %+v %v", none, err)
			}
		})
	}
}

// TestAppendRefuses: an entry without actor or action, or with a detail
// that is not a JSON object, is refused; text that is not UTF-8, holds a
// NUL or is too long is recorded mended.
func TestAppendRefuses(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { appendRefuses(t, engine) })
	}
}

func appendRefuses(t *testing.T, engine db.Engine) {
	d := dbtest.Open(t, engine, "core", clock())
	for name, e := range map[string]audit.Entry{
		"no actor":      {Action: "x"},
		"no action":     {Actor: "x"},
		"detail array":  {Actor: "x", Action: "x", Detail: []byte(`[1]`)},
		"detail broken": {Actor: "x", Action: "x", Detail: []byte(`{"a":`)},
		"detail twice":  {Actor: "x", Action: "x", Detail: []byte(`{} {}`)},
	} {
		if _, err := audit.Record(context.Background(), d, e); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%s: %v", name, err)
		}
	}
	if r := verify(t, d); r.Entries != 0 {
		t.Fatalf("refused entries were appended: %v", r)
	}
	e, err := audit.Record(context.Background(), d, audit.Entry{Actor: "staff:a\x00b\xff", Action: "POST /admin/orders/{id}/hold",
		Target: audit.Target{Kind: "orders", ID: strings.Repeat("9", 300)}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Actor != "staff:a\uFFFDb\uFFFD" || len(e.Target.ID) != audit.MaxField || !strings.HasSuffix(e.Target.ID, "…") {
		t.Fatalf("mended entry: %+v", e)
	}
	if r := verify(t, d); !r.OK() || r.Entries != 1 {
		t.Fatalf("verify: %v", r)
	}
}

// TestTampering: each way of changing a chain after the fact is named at
// the entry where it happened; a chain cut short (head row moved back
// with it) verifies on its own and fails with the anchors logged before.
func TestTampering(t *testing.T) {
	type tamper struct {
		name    string
		do      func(t *testing.T, d *db.DB)
		anchors bool // verify with an anchor of the original head (seq 10)
		seq     int64
		problem string // "" verifies
	}
	exec := func(t *testing.T, d *db.DB, q string, args ...any) {
		t.Helper()
		if _, err := d.Exec(context.Background(), q, args...); err != nil {
			t.Fatal(err)
		}
	}
	truncate := func(t *testing.T, d *db.DB) {
		exec(t, d, `DELETE FROM audit_log WHERE seq > 7`)
		exec(t, d, `UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_log WHERE seq = 7)`)
	}
	cases := []tamper{
		{"untouched", func(*testing.T, *db.DB) {}, true, 0, ""},
		{"edit a field", func(t *testing.T, d *db.DB) { exec(t, d, `UPDATE audit_log SET actor = 'staff:nobody' WHERE seq = 3`) }, false, 3, audit.Edited},
		{"edit the detail", func(t *testing.T, d *db.DB) {
			exec(t, d, `UPDATE audit_log SET detail = '{"code":"OK","n":4,"status":403}' WHERE seq = 4`)
		}, false, 4, audit.Edited},
		{"delete a row", func(t *testing.T, d *db.DB) { exec(t, d, `DELETE FROM audit_log WHERE seq = 4`) }, false, 4, audit.Deleted},
		{"delete the first rows", func(t *testing.T, d *db.DB) { exec(t, d, `DELETE FROM audit_log WHERE seq <= 2`) }, false, 1, audit.Deleted},
		{"swap two rows", func(t *testing.T, d *db.DB) {
			// Rows 5 and 6 trade everything but their seqs.
			exec(t, d, `UPDATE audit_log SET seq = 0 WHERE seq = 5`)
			exec(t, d, `UPDATE audit_log SET seq = 5 WHERE seq = 6`)
			exec(t, d, `UPDATE audit_log SET seq = 6 WHERE seq = 0`)
		}, false, 5, audit.Reordered},
		{"truncate, no anchors", truncate, false, 0, ""},
		{"truncate, anchors", truncate, true, 10, audit.Truncated},
		{"truncate, head left", func(t *testing.T, d *db.DB) { exec(t, d, `DELETE FROM audit_log WHERE seq > 7`) }, false, 8, audit.Truncated},
		{"rewrite the whole chain", func(t *testing.T, d *db.DB) {
			// Edit entry 2 and recompute every hash after it, and the head:
			// only an anchor of the old head shows it.
			ctx := context.Background()
			exec(t, d, `UPDATE audit_log SET reason = 'nothing happened' WHERE seq = 2`)
			list, err := audit.List(ctx, d, audit.Filter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			prev := audit.Zero
			for i := len(list) - 1; i >= 0; i-- {
				e := list[i]
				e.PrevHash = prev
				e.Hash = e.Sum()
				exec(t, d, `UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3`, e.PrevHash, e.Hash, e.Seq)
				prev = e.Hash
			}
			exec(t, d, `UPDATE audit_head SET hash = $1`, prev)
			if r := verify(t, d); !r.OK() {
				t.Fatalf("a consistently rewritten chain verifies on its own links: %v", r)
			}
		}, true, 4, audit.Rewritten},
	}
	for _, engine := range dbtest.Engines() {
		for _, c := range cases {
			t.Run(string(engine)+"/"+c.name, func(t *testing.T) {
				d := dbtest.Open(t, engine, "core", clock())
				h := fill(t, d, 10)
				var anchors []audit.Anchor
				if c.anchors { // logged before the tampering
					anchors = []audit.Anchor{{Store: "core", Seq: 4, Hash: entry(t, d, 4), Line: 3}, {Store: "core", Seq: h.Seq, Hash: h.Hash, Line: 9},
						{Store: "credit", Seq: 99, Hash: audit.Zero}} // another store's: ignored
				}
				c.do(t, d)
				r := verify(t, d, anchors...)
				if c.problem == "" {
					if !r.OK() {
						t.Fatalf("verify: %v", r)
					}
					return
				}
				if r.OK() || r.Break.Seq != c.seq || r.Break.Problem != c.problem {
					t.Fatalf("verify: %v; want entry %d %s", r, c.seq, c.problem)
				}
			})
		}
	}
}

// entry returns the stored hash of entry seq, or "" if there is none.
func entry(t *testing.T, d *db.DB, seq int64) string {
	t.Helper()
	list, err := audit.List(context.Background(), d, audit.Filter{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Seq == seq {
			return e.Hash
		}
	}
	return ""
}

// TestConcurrentAppends: appends from many goroutines at once — and, on
// PostgreSQL, through two handles, as two nodes would — leave one
// unbroken chain with every entry in it once.
func TestConcurrentAppends(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			dsn := dbtest.DSN(t, engine, "core")
			handles := 1
			if engine == db.Postgres {
				handles = 2
			}
			var ds []*db.DB
			for range handles {
				d, err := db.Open(ctx, "core", dsn, clock(), db.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if _, err := d.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				ds = append(ds, d)
			}
			const workers, each = 8, 25
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d := ds[w%len(ds)]
					for i := range each {
						e := audit.Entry{Actor: fmt.Sprint("staff:w", w), Action: "POST /admin/orders/{id}/hold", Target: audit.Target{Kind: "orders", ID: fmt.Sprint(i)}}
						var err error
						if i%2 == 0 {
							_, err = audit.Record(ctx, d, e)
						} else {
							err = d.Update(ctx, func(tx *db.Tx) error {
								_, err := audit.Append(ctx, tx, e)
								return err
							})
						}
						if err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			r := verify(t, ds[0])
			if !r.OK() || r.Entries != workers*each || r.Head.Seq != workers*each {
				t.Fatalf("verify after %d concurrent appends: %v", workers*each, r)
			}
			for w := range workers {
				got, err := audit.List(ctx, ds[0], audit.Filter{Actor: fmt.Sprint("staff:w", w), Limit: audit.MaxLimit})
				if err != nil || len(got) != each {
					t.Fatalf("worker %d: %d entries, %v", w, len(got), err)
				}
			}
		})
	}
}

// TestAnchors: the anchors serve logs, in the text format and as JSON
// lines, are read back; other lines, and failures to write one, are not
// anchors.
func TestAnchors(t *testing.T) {
	d := dbtest.Open(t, "sqlite", "core", clock())
	h := fill(t, d, 3)
	var text, js bytes.Buffer
	for _, log := range []*slog.Logger{slog.New(slog.NewTextHandler(&text, nil)), slog.New(slog.NewJSONHandler(&js, nil))} {
		log.Info("serving", "addr", ":8080")
		log.Error("audit anchor failed", "store", "core", "seq", 2, "hash", audit.Zero)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			audit.WriteAnchors(ctx, log, time.Hour, d)
			close(done)
		}()
		cancel()
		<-done
	}
	for name, buf := range map[string]*bytes.Buffer{"text": &text, "json": &js} {
		got, err := audit.ReadAnchors(buf)
		if err != nil {
			t.Fatal(name, err)
		}
		// The first pass anchors the head; the last, at the end, finds it
		// where it was and writes nothing.
		if len(got) != 1 || got[0].Line < 3 || got[0] != (audit.Anchor{Store: "core", Seq: h.Seq, Hash: h.Hash, Line: got[0].Line}) {
			t.Errorf("%s anchors: %+v", name, got)
		}
	}
	for _, bad := range []string{
		`time=x level=INFO msg="audit anchor" store=core seq=x hash=` + audit.Zero,
		`time=x level=INFO msg="audit anchor" store=core seq=3 hash=ABC`,
		`time=x level=INFO msg="audit anchor" seq=3 hash=` + audit.Zero,
		`{"msg":"audit anchor","store":"core","seq":"3","hash":"` + audit.Zero + `"}`,
		`{"msg":"audit anchor","store":"core","seq":0,"hash":"` + audit.Zero + `"}`,
	} {
		if _, err := audit.ReadAnchors(strings.NewReader("a=b\n" + bad + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// FuzzReadAnchors: whatever a log file holds, ReadAnchors does not panic,
// and every anchor it returns is well formed.
func FuzzReadAnchors(f *testing.F) {
	f.Add(`time=2026-12-07T10:00:00.000+08:00 level=INFO msg="audit anchor" store=core seq=12 hash=` + audit.Zero)
	f.Add(`{"time":"x","level":"INFO","msg":"audit anchor","store":"credit","seq":3,"hash":"` + audit.Zero + `"}`)
	f.Add(`msg="audit anchor" store="a b" seq=1 hash=` + audit.Zero + "\nmsg=\"x\\\"\"")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := audit.ReadAnchors(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, a := range got {
			if a.Store == "" || a.Seq < 1 || len(a.Hash) != 64 || a.Line < 1 {
				t.Fatalf("malformed anchor %+v from %q", a, s)
			}
		}
	})
}

// FuzzCanonical: two entries encode alike only if they are the same
// entry, whatever bytes their fields hold (the encoding is unambiguous).
func FuzzCanonical(f *testing.F) {
	f.Add(int64(1), "staff:lin", "GET", "applications", "1", "", "{}", int64(1), "staff:lin", "GET", "applications", "1", "", "{}")
	f.Add(int64(1), "a,", "b", "", "", "", "", int64(1), "a", ",b", "", "", "", "")
	f.Add(int64(12), "1:a,", "", "", "", "", "", int64(1), "2:1:a,", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, s1 int64, a1, b1, c1, d1, e1, f1 string, s2 int64, a2, b2, c2, d2, e2, f2 string) {
		at := time.UnixMicro(1_765_000_000_000_000)
		x := audit.Entry{Seq: s1, At: at, Actor: a1, Action: b1, Target: audit.Target{Kind: c1, ID: d1}, Reason: e1, Detail: []byte(f1)}
		y := audit.Entry{Seq: s2, At: at, Actor: a2, Action: b2, Target: audit.Target{Kind: c2, ID: d2}, Reason: e2, Detail: []byte(f2)}
		same := s1 == s2 && a1 == a2 && b1 == b2 && c1 == c2 && d1 == d2 && e1 == e2 && f1 == f2
		if bytes.Equal(x.Canonical(), y.Canonical()) != same {
			t.Fatalf("%+v and %+v: encodings equal %v, entries equal %v", x, y, !same, same)
		}
	})
}

// TestREADMEExample: the README's worked example of an entry's hash is
// what fenfu computes, so an auditor recomputing it with another SM3 tool
// checks the same formula.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	e := audit.Entry{Seq: 1, At: time.UnixMicro(1_765_072_800_000_000), Actor: "staff:lin", Action: "GET /admin/consumers/{id}/credit",
		Target: audit.Target{Kind: "consumers", ID: "c_1"}, Detail: []byte(`{"code":"OK","status":200}`), PrevHash: audit.Zero}
	for _, want := range []string{string(e.Canonical()), e.Sum()} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README's audit example does not show %s", want)
		}
	}
}

// BenchmarkAppend: one entry appended in a transaction of its own, the
// cost every staff request adds, on each engine.
func BenchmarkAppend(b *testing.B) {
	for _, engine := range dbtest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			d := dbtest.Open(b, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			e := audit.Entry{Actor: "staff:lin", Action: "GET /admin/applications/{id}", Target: audit.Target{Kind: "applications", ID: "app_1"},
				Detail: audit.Detail(map[string]any{"status": 200, "code": "OK", "path": map[string]string{"id": "app_1"}})}
			b.ResetTimer() // not the store's creation
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := audit.Record(ctx, d, e); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkVerify: verifying a chain of 5,000 entries, on each engine; the
// ns/entry metric is what a longer chain costs per entry.
func BenchmarkVerify(b *testing.B) {
	const n = 5000
	for _, engine := range dbtest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			d := dbtest.Open(b, engine, "core", fenfu.SystemClock{})
			ctx := context.Background()
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 8 {
						if _, err := audit.Record(ctx, d, audit.Entry{Actor: "staff:lin", Action: "GET /admin/applications/{id}",
							Target: audit.Target{Kind: "applications", ID: fmt.Sprint(i)}, Detail: audit.Detail(map[string]any{"status": 200, "code": "OK"})}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ResetTimer()
			for b.Loop() {
				if r, err := audit.Verify(ctx, d, nil, nil); err != nil || !r.OK() || r.Entries != n {
					b.Fatal(r, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
		})
	}
}
