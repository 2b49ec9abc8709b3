package bench

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for v := int64(0); v < 1<<20; v += 1 + v/97 {
		i := index(v)
		if lo, hi := lowest(i), lowest(i+1); v < lo || v >= hi {
			t.Fatalf("value %d in bucket %d [%d, %d)", v, i, lo, hi)
		}
	}
}

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(3, 4))
	vals := make([]int64, 100000)
	for i := range vals {
		vals[i] = int64(rng.ExpFloat64() * float64(2*time.Millisecond))
		h.Record(time.Duration(vals[i]))
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := int64(h.Quantile(q))
		if d := float64(got-exact) / float64(exact); d < -0.01 || d > 0.01 {
			t.Errorf("q%.3f = %d, exact %d (%.2f%% off)", q, got, exact, 100*d)
		}
	}
	if h.Max() != time.Duration(vals[len(vals)-1]) || h.Count() != uint64(len(vals)) {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	var m Histogram
	m.Merge(&h)
	m.Merge(&h)
	if m.Count() != 2*h.Count() || m.Quantile(0.5) != h.Quantile(0.5) {
		t.Errorf("merge: count %d median %v vs %v", m.Count(), m.Quantile(0.5), h.Quantile(0.5))
	}
}
