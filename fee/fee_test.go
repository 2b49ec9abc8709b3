package fee

import (
	"testing"

	"github.com/fenfu/fenfu"
)

func TestTierBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		volume fenfu.Fen // month to date, fen
		tier   string
		rate   PPM
	}{
		{"nothing yet", 0, "tier1", 7000},
		{"¥499,999.99", 499_999_99, "tier1", 7000},
		{"¥500,000.00 (the first tier's top, inclusive)", 500_000_00, "tier1", 7000},
		{"¥500,000.01", 500_000_01, "tier2", 6300},
		{"¥1,999,999.99", 1_999_999_99, "tier2", 6300},
		{"¥2,000,000.00", 2_000_000_00, "tier2", 6300},
		{"¥2,000,000.01 (above ¥2,000,000)", 2_000_000_01, "tier3", 5500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := CreditPay.Price(10000, tc.volume, 0)
			if q.Tier != tc.tier || q.Rate != tc.rate {
				t.Fatalf("volume %d: %+v, want %s at %d ppm", tc.volume, q, tc.tier, tc.rate)
			}
		})
	}
}

func TestDiscountsAndFloors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		volume   fenfu.Fen
		discount PPM
		rate     PPM
	}{
		{"tier1, 0.10 % off", 0, 1000, 6000},
		{"tier1, 0.20 % off reaches the 0.50 % floor", 0, 2000, 5000},
		{"tier1, 0.50 % off stops at the floor", 0, 5000, 5000},
		{"tier2, 0.10 % off", 600_000_00, 1000, 5300},
		{"tier2, 1 % off stops at 0.40 %", 600_000_00, 10000, 4000},
		{"tier3, 0.30 % off stops at 0.30 %", 3_000_000_00, 3000, 3000},
		{"a negative discount raises nothing", 0, -500, 7000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if q := CreditPay.Price(10000, tc.volume, tc.discount); q.Rate != tc.rate {
				t.Fatalf("rate %d, want %d", q.Rate, tc.rate)
			}
		})
	}
}

func TestRounding(t *testing.T) {
	for _, tc := range []struct {
		amount fenfu.Fen
		rate   PPM
		fee    fenfu.Fen
	}{
		{10000, 7000, 70},                  // ¥100 at 0.70 % = ¥0.70
		{71, 7000, 0},                      // 0.497 fen rounds down
		{72, 7000, 1},                      // 0.504 fen rounds up
		{5000, 1000, 5},                    // exactly 5 fen
		{50, 10000, 1},                     // 0.5 fen: half up
		{49, 10000, 0},                     // 0.49 fen
		{150, 10000, 2},                    // 1.5 fen: half up
		{1, 7000, 0},                       // the smallest payment carries no fee
		{-150, 10000, -2},                  // symmetric for negative amounts
		{100_000_000_00, 7000, 70_000_000}, // ¥100,000,000 without overflow
	} {
		if got := Apply(tc.amount, tc.rate); got != tc.fee {
			t.Errorf("Apply(%d, %d) = %d, want %d", tc.amount, tc.rate, got, tc.fee)
		}
	}
}

func TestRefundsReturnTheFeeInProportion(t *testing.T) {
	q := CreditPay.Price(10000, 0, 0) // ¥100 → fee 70
	if got := RefundFee(q.Fee, 10000, 0, 10000); got != 70 {
		t.Fatalf("full refund returns %d, want 70", got)
	}
	if got := RefundFee(q.Fee, 10000, 0, 5000); got != 35 {
		t.Fatalf("half refund returns %d, want 35", got)
	}
	// Three refunds of a third: 23 + 24 + 23 = 70, never more than the fee.
	var back, done fenfu.Fen
	for _, part := range []fenfu.Fen{3333, 3333, 3334} {
		back += RefundFee(q.Fee, 10000, done, part)
		done += part
	}
	if back != 70 {
		t.Fatalf("refunding in thirds returned %d, want 70", back)
	}
	// A fee of 1 fen refunded one fen at a time returns exactly 1.
	back, done = 0, 0
	for range 143 {
		back += RefundFee(1, 143, done, 1)
		done++
	}
	if back != 1 {
		t.Fatalf("refunding fen by fen returned %d, want 1", back)
	}
}

func TestSchedules(t *testing.T) {
	for name, s := range map[string]Schedule{"credit": CreditPay, "ordinary": Ordinary} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if q := Ordinary.Price(10000, 9_999_999_99, 0); q.Rate != 3800 || q.Fee != 38 {
		t.Errorf("ordinary = %+v", q)
	}
	for _, bad := range []Schedule{{}, {{Name: "x", UpTo: 5, Base: 1}}, {{Name: "x", Base: 1, Floor: 2}},
		{{Name: "a", UpTo: 10}, {Name: "b", UpTo: 5}, {Name: "c"}}} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
	if got := PPM(7000).Percent(); got != "0.70%" {
		t.Errorf("Percent = %s", got)
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]PPM{"0.38%": 3800, "0.6": 6000, "1%": 10000, "0.0125%": 125, " 2.5% ": 25000} {
		if got, err := ParsePercent(in); err != nil || got != want {
			t.Errorf("%q = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "%", "-1%", "0.12345%", "abc", "1.2.3", "101%", "1e3"} {
		if _, err := ParsePercent(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if err := Flat("ordinary", 3800).Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseSchedule(t *testing.T) {
	if got := CreditPay.String(); got != "500000:0.60+0.10/0.50;2000000:0.55+0.08/0.40;:0.50+0.05/0.30" {
		t.Errorf("CreditPay.String() = %q", got)
	}
	s, err := ParseSchedule(CreditPay.String())
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != CreditPay.String() || len(s) != 3 || s[1] != CreditPay[1] {
		t.Errorf("round trip: %+v", s)
	}
	s, err = ParseSchedule(" 100.50:0.0125+0/0.01 ; :0.3+0.05/0.2")
	if err != nil {
		t.Fatal(err)
	}
	if s[0].UpTo != 100_50 || s[0].Base != 125 || s[0].Floor != 100 || s[1].Tech != 500 || s.String() != "100.50:0.0125+0.00/0.01;:0.30+0.05/0.20" {
		t.Errorf("parsed %+v as %q", s, s.String())
	}
	for _, bad := range []string{"", ";", "0.6+0.1/0.5", ":0.6+0.1", ":0.6/0.5", "100:0.6+0.1/0.5", ":0.6+0.1/0.5;:0.5+0.1/0.4",
		"200:0.6+0.1/0.5;100:0.5+0.1/0.4;:0.4+0/0.3", ":0.6+0.1/0.8", ":-1+0/0", "x:0.6+0.1/0.5", ":101+0/0"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) parsed", bad)
		}
	}
}

// FuzzParseSchedule: whatever an operator writes, the parser answers with
// a valid schedule that writes back to itself, or an error.
func FuzzParseSchedule(f *testing.F) {
	f.Add(CreditPay.String())
	f.Add("100.50:0.0125+0/0.01;:0.3+0.05/0.2")
	f.Add(":0+0/0")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSchedule(in)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid schedule: %v", in, err)
		}
		again, err := ParseSchedule(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("%q → %q does not parse back: %v", in, s.String(), err)
		}
	})
}
