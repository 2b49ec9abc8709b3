package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
)

// TestSample: a sampled family is read at the first scrape, answered from
// the cache within its interval, read again after it, and a failed read
// keeps the last values and is counted.
func TestSample(t *testing.T) {
	r := New()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC))
	reads, fail := 0, false
	r.Help("fenfu_backlog", "Backlog.")
	r.Sample("backlog", 5*time.Second, clock, func(ctx context.Context, set Gauge) error {
		if fail {
			return errors.New("store down")
		}
		reads++
		set("fenfu_backlog", float64(reads*10), "store", "core")
		return nil
	})
	out := func() string {
		var b strings.Builder
		r.Write(&b)
		return b.String()
	}
	if s := out(); !strings.Contains(s, `fenfu_backlog{store="core"} 10`) || !strings.Contains(s, "# HELP fenfu_backlog Backlog.") || reads != 1 {
		t.Fatalf("first scrape (%d reads):\n%s", reads, s)
	}
	clock.Advance(4 * time.Second)
	if s := out(); !strings.Contains(s, `fenfu_backlog{store="core"} 10`) || reads != 1 {
		t.Fatalf("a scrape within the interval read again (%d reads)", reads)
	}
	clock.Advance(time.Second)
	if s := out(); !strings.Contains(s, `fenfu_backlog{store="core"} 20`) || reads != 2 {
		t.Fatalf("a scrape after the interval did not read (%d reads)", reads)
	}
	fail = true
	clock.Advance(5 * time.Second)
	if s := out(); !strings.Contains(s, `fenfu_backlog{store="core"} 20`) || !strings.Contains(s, `fenfu_metrics_sample_errors_total{sample="backlog"} 1`) {
		t.Fatalf("a failed read:\n%s", s)
	}
}

// TestGoAndProcess: a registry exports the Go runtime's and the process's
// metrics, and gauges set by name.
func TestGoAndProcess(t *testing.T) {
	r := New()
	r.Set("fenfu_build_info", 1, "version", "v1.2.3")
	var b strings.Builder
	r.Write(&b)
	for _, want := range []string{"go_goroutines ", "go_memstats_heap_inuse_bytes ", "process_resident_memory_bytes ", `fenfu_build_info{version="v1.2.3"} 1`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}
