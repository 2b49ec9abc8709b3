package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/sandbox"
)

// clockWorld is a core store and the sandbox clocks of two nodes over it,
// both on one fake system clock, with a job that records the steps it is
// run at.
type clockWorld struct {
	base   *fenfu.FakeClock
	a, b   *sandbox.Clock
	mu     sync.Mutex
	steps  []sandbox.Step
	failOn string // the job fails once on this day
}

func newClockWorld(t *testing.T, engine db.Engine) *clockWorld {
	t.Helper()
	w := &clockWorld{base: fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))}
	core := dbtest.Open(t, engine, "core", w.base)
	job := sandbox.Job{Name: "record", Run: func(ctx context.Context, s sandbox.Step) (map[string]int64, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if s.Day == w.failOn {
			w.failOn = ""
			return nil, errors.New("the store went away")
		}
		w.steps = append(w.steps, s)
		return map[string]int64{"steps": int64(len(w.steps))}, nil
	}}
	for i, c := range []**sandbox.Clock{&w.a, &w.b} {
		*c = sandbox.NewClock(w.base)
		if err := (*c).Attach(t.Context(), core, []string{"node-a", "node-b"}[i]); err != nil {
			t.Fatal(err)
		}
		(*c).Jobs = []sandbox.Job{job}
	}
	return w
}

func (w *clockWorld) days() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, s := range w.steps {
		out = append(out, s.Ended+">"+s.Day)
	}
	return out
}

func TestClockAdvance(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testClockAdvance(t, engine) })
	}
}

// An advance steps across each midnight it crosses, running the jobs with
// the clock at the midnight, and ends at its target; the other node sees
// the time once a second of its own has passed; a failed job leaves an
// unfinished advance that the next one completes, from the failed day,
// instead of its own.
func testClockAdvance(t *testing.T, engine db.Engine) {
	ctx := t.Context()
	w := newClockWorld(t, engine)
	start := w.a.Now()
	var seen []string
	w.a.Jobs = append(w.a.Jobs, sandbox.Job{Name: "clock", Run: func(ctx context.Context, s sandbox.Step) (map[string]int64, error) {
		if now := w.a.Now(); now.Before(s.At) || now.After(s.At.Add(time.Second)) {
			t.Errorf("a job of %s ran at %s", s.Day, now)
		}
		return nil, nil
	}})
	out, err := w.a.Advance(ctx, sandbox.AdvanceRequest{Duration: "50h"}, func(d sandbox.Day) { seen = append(seen, d.Day) })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(w.days(), " "), "2026-11-27>2026-11-28 2026-11-28>2026-11-29"; got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	if got := strings.Join(seen, " "); got != "2026-11-28 2026-11-29" || len(out.Days) != 2 || out.Resumed {
		t.Errorf("progress %s, answer %+v", got, out)
	}
	if want := start.Add(50 * time.Hour); !out.To.Equal(want) || !w.a.Now().Equal(want) {
		t.Errorf("advanced to %s (clock %s), want %s", out.To, w.a.Now(), want)
	}
	if len(out.Days[1].Jobs) != 2 || out.Days[1].Jobs[0].Counts["steps"] != 2 {
		t.Errorf("the second day %+v", out.Days[1])
	}
	// The other node reads the offset again once a second has passed.
	w.base.Advance(time.Second)
	if a, b := w.a.Now(), w.b.Now(); !a.Equal(b) || !a.Equal(start.Add(50*time.Hour+time.Second)) {
		t.Errorf("node a at %s, node b at %s", a, b)
	}

	// Day 2026-12-01's job fails: the clock stays there, unfinished.
	w.a.Jobs = w.a.Jobs[:1]
	w.failOn = "2026-12-01"
	_, err = w.b.Advance(ctx, sandbox.AdvanceRequest{To: "2026-12-03T08:00:00+08:00"}, nil)
	if err == nil || !strings.Contains(err.Error(), "record job of 2026-12-01") || !strings.Contains(fenfu.AsError(err).Remedy, "from 2026-12-01") {
		t.Fatalf("failed advance: %v", err)
	}
	st, err := w.a.Show(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unfinished == nil || st.Reached != "2026-11-30" || st.Advancing != "" || st.Now.Format(time.DateOnly) != "2026-12-01" {
		t.Fatalf("after the failure %+v", st)
	}
	// The next advance, whatever it asks, completes the unfinished one.
	out, err = w.a.Advance(ctx, sandbox.AdvanceRequest{Duration: "30d"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 3, 8, 0, 0, 0, fenfu.Shanghai)
	if !out.Resumed || len(out.Days) != 3 || out.Days[0].Day != "2026-12-01" || !out.To.Equal(want) {
		t.Errorf("resumed %+v", out)
	}
	if got := strings.Join(w.days(), " "); !strings.HasSuffix(got, "2026-11-29>2026-11-30 2026-11-30>2026-12-01 2026-12-01>2026-12-02 2026-12-02>2026-12-03") {
		t.Errorf("steps %s", got)
	}
	if st, _ := w.a.Show(ctx); st.Unfinished != nil || !st.Now.Equal(want) {
		t.Errorf("after the resumed advance %+v", st)
	}
}

// Advances on two nodes at once are serialized: the second starts where
// the first ended, and no day's jobs run twice.
func TestClockAdvancesSerialized(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newClockWorld(t, engine)
			start := w.a.Now()
			var wg sync.WaitGroup
			for _, c := range []*sandbox.Clock{w.a, w.b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := c.Advance(t.Context(), sandbox.AdvanceRequest{Duration: "3d"}, nil); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			w.base.Advance(time.Second)
			if want := start.Add(6*24*time.Hour + time.Second); !w.a.Now().Equal(want) || !w.b.Now().Equal(want) {
				t.Errorf("clocks at %s and %s, want %s", w.a.Now(), w.b.Now(), want)
			}
			if got := w.days(); len(got) != 6 || got[0] != "2026-11-27>2026-11-28" || got[5] != "2026-12-02>2026-12-03" {
				t.Errorf("steps %v", got)
			}
		})
	}
}

// Time only moves forward, by at most 400 days a call.
func TestClockAdvanceRefusals(t *testing.T) {
	w := newClockWorld(t, db.SQLite)
	for _, tc := range []struct {
		req  sandbox.AdvanceRequest
		want string
	}{
		{sandbox.AdvanceRequest{Duration: "-24h"}, "only moves forward"},
		{sandbox.AdvanceRequest{Duration: "0s"}, "only moves forward"},
		{sandbox.AdvanceRequest{Duration: "0d"}, "only moves forward"},
		{sandbox.AdvanceRequest{Duration: "401d"}, "at most 400 days"},
		{sandbox.AdvanceRequest{Duration: "9601h"}, "at most 400 days"},
		{sandbox.AdvanceRequest{Duration: "soon"}, "such as 720h"},
		{sandbox.AdvanceRequest{}, "either duration"},
		{sandbox.AdvanceRequest{Duration: "1h", To: "2027-01-01T00:00:00+08:00"}, "either duration"},
		{sandbox.AdvanceRequest{To: "2026-11-27T09:00:00+08:00"}, "only moves forward"},
		{sandbox.AdvanceRequest{To: "2028-02-01T00:00:00+08:00"}, "at most 400 days"},
		{sandbox.AdvanceRequest{To: "tomorrow"}, "RFC 3339"},
	} {
		_, err := w.a.Advance(t.Context(), tc.req, nil)
		if fenfu.ErrorCode(err) != fenfu.ParamError || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.req, err)
		}
	}
	if !w.a.Now().Equal(w.base.Now()) || len(w.days()) != 0 {
		t.Errorf("a refused advance moved the clock to %s", w.a.Now())
	}
	var off *sandbox.Clock
	if _, err := off.Advance(t.Context(), sandbox.AdvanceRequest{Duration: "1h"}, nil); fenfu.ErrorCode(err) != fenfu.InvalidRequest ||
		!strings.Contains(fenfu.AsError(err).Remedy, "--sandbox-clock") {
		t.Errorf("no sandbox clock: %v", err)
	}
}
