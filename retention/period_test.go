package retention

import (
	"testing"
	"time"

	"github.com/fenfu/fenfu"
)

// TestParsePeriod: years and days parse and print back; anything else,
// zero or absurd lengths are refused.
func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]Period{"5y": {Years: 5}, "2y": {Years: 2}, "730d": {Days: 730}, "1d": {Days: 1}} {
		p, err := ParsePeriod(in)
		if err != nil || p != want || p.String() != in {
			t.Errorf("%q: %+v %v", in, p, err)
		}
	}
	for _, in := range []string{"", "y", "5", "0y", "-1y", "+5y", "5 y", "3 years", "5Y", "101y", "1h", "99999999d"} {
		if p, err := ParsePeriod(in); err == nil {
			t.Errorf("%q parsed as %+v", in, p)
		}
	}
}

// TestPeriodBoundary: a period counts calendar years in Asia/Shanghai, so
// the boundary of five years before 2029-02-28 is 2024-02-28, and a year
// after a leap day is the first of March.
func TestPeriodBoundary(t *testing.T) {
	asOf := time.Date(2029, 2, 28, 0, 0, 0, 0, fenfu.Shanghai)
	if got := (Period{Years: 5}).Before(asOf); !got.Equal(time.Date(2024, 2, 28, 0, 0, 0, 0, fenfu.Shanghai)) {
		t.Errorf("5y before %s: %s", asOf, got)
	}
	if got := (Period{Days: 10}).Before(asOf); !got.Equal(time.Date(2029, 2, 18, 0, 0, 0, 0, fenfu.Shanghai)) {
		t.Errorf("10d before %s: %s", asOf, got)
	}
	leap := time.Date(2024, 2, 29, 12, 0, 0, 0, fenfu.Shanghai)
	if got := (Period{Years: 1}).After(leap); !got.Equal(time.Date(2025, 3, 1, 12, 0, 0, 0, fenfu.Shanghai)) {
		t.Errorf("1y after %s: %s", leap, got)
	}
}
