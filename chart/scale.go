package chart

import "math"

// scale maps an axis's values to the plot's height, with its ticks.
type scale struct {
	min, max, step float64
	unit           Unit
}

// maxTicks bounds the ticks of an axis.
const maxTicks = 6

// niceScale is the scale from lo to hi whose ends and ticks fall on nice
// numbers (1, 2 or 5 times a power of ten), with zero always on it. A
// count's ticks are whole numbers; a ratio whose values all lie between 0
// and 1 is scaled from 0 to 100%, so shares look like shares.
func niceScale(lo, hi float64, unit Unit) scale {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if unit == Ratio && lo >= 0 && hi <= 1 {
		return scale{0, 1, 0.2, unit}
	}
	if !(hi-lo > 1e-9) {
		hi = lo + 1
	}
	span := nice(hi-lo, false)
	step := nice(span/(maxTicks-1), true)
	if unit == Count && step < 1 {
		step = 1
	}
	s := scale{math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step, unit}
	if s.max == s.min {
		s.max = s.min + step
	}
	return s
}

// nice is a nice number near x: the nearest (round) or the next larger
// one of 1, 2, 5 and 10 times a power of ten.
func nice(x float64, round bool) float64 {
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var n float64
	switch {
	case round && f < 1.5, !round && f <= 1:
		n = 1
	case round && f < 3, !round && f <= 2:
		n = 2
	case round && f < 7, !round && f <= 5:
		n = 5
	default:
		n = 10
	}
	return n * math.Pow(10, exp)
}

// ticks are the scale's tick values, from min to max.
func (s scale) ticks() []float64 {
	n := int(math.Round((s.max - s.min) / s.step))
	if n < 1 || n > 4*maxTicks {
		return []float64{s.min, s.max}
	}
	out := make([]float64, 0, n+1)
	for i := 0; i <= n; i++ {
		v := s.min + float64(i)*s.step
		if math.Abs(v) < s.step*1e-9 {
			v = 0 // not -0 or 1e-17
		}
		out = append(out, v)
	}
	return out
}

// at is where v falls between bottom (the scale's min) and top (its max).
func (s scale) at(v, bottom, top float64) float64 {
	return bottom - (clamp(v)-s.min)/(s.max-s.min)*(bottom-top)
}
