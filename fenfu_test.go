package fenfu_test

import (
	"testing"

	"github.com/fenfu/fenfu"
)

func TestParseDecimal(t *testing.T) {
	for _, c := range []struct {
		in     string
		places int
		want   int64
	}{
		{"12.34", 2, 1234}, {"12.3", 2, 1230}, {"12", 2, 1200}, {"0.05", 2, 5}, {"-0.27", 2, -27}, {"-3", 2, -300},
		{"0.38", 4, 3800}, {"0.0125", 4, 125}, {"100", 4, 1_000_000}, {"09.09", 2, 909},
	} {
		if got, err := fenfu.ParseDecimal(c.in, c.places); err != nil || got != c.want {
			t.Errorf("ParseDecimal(%q, %d) = %d, %v; want %d", c.in, c.places, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "-", ".5", "1.234", "1e3", "+1", "1,5", "1.2.3", " 1", "1234567890123456", "--1"} {
		if _, err := fenfu.ParseYuan(bad); err == nil {
			t.Errorf("ParseYuan(%q) parsed", bad)
		}
	}
	for _, f := range []int64{0, 1, -1, 99, 100, 123456789, -27} {
		if got, err := fenfu.ParseYuan(fenfu.Yuan(f)); err != nil || got != f {
			t.Errorf("round trip of %d: %d %v", f, got, err)
		}
	}
}
