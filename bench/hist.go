package bench

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split into
// 2^subBits linear buckets, so a recorded value is off by less than
// 1/2^subBits (under 1%) — the HdrHistogram layout with two significant
// digits.
const subBits = 7

const subCount = 1 << subBits

// Histogram records durations with bounded relative error in constant
// memory. It is not safe for concurrent use; give each worker its own and
// Merge them.
type Histogram struct {
	counts [64 * subCount]uint64
	n      uint64
	max    int64
	sum    float64
}

func index(v int64) int {
	if v < subCount {
		return int(v)
	}
	exp := 63 - bits.LeadingZeros64(uint64(v)) // v in [2^exp, 2^(exp+1))
	shift := exp - subBits
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// lowest returns the smallest value that falls in bucket i.
func lowest(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	return (int64(i%subCount) + subCount) << shift
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[index(v)]++
	h.n++
	h.sum += float64(v)
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's records to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if o.max > h.max {
		h.max = o.max
	}
}

// Count is the number of records.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest record.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the average record.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value at quantile q in [0, 1]: the upper edge of
// the bucket holding the q·n-th record, capped at the maximum.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			hi := lowest(i+1) - 1
			if hi > h.max {
				hi = h.max
			}
			return time.Duration(hi)
		}
	}
	return time.Duration(h.max)
}
