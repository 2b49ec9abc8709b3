package qr

import (
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// flip changes the character at i to another of the token alphabet.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestMarkVerify: a mark verifies in its minute and the next, not two
// minutes later nor before its minute, and not for an altered token or
// an altered mark; as a person types it, case, spaces and look-alikes do
// not matter.
func TestMarkVerify(t *testing.T) {
	m := NewMarker(testSecret)
	tok := NewSigner(testSecret).Token(Payload{"4200001", "1900000001", 1234, time.Unix(1_800_003_600, 0)})
	shown := time.Unix(1_800_000_000+17, 0) // 17 s into a minute
	mark, minute := m.Now(tok, shown)
	if !minute.Equal(time.Unix(1_800_000_000-1_800_000_000%60, 0)) || len(mark) != MarkLength {
		t.Fatalf("Now = %q of %s", mark, minute)
	}
	typed := strings.ToLower(mark[:3]) + "-" + mark[3:]
	typed = strings.NewReplacer("0", "o", "1", "l").Replace(typed)
	other := NewMarker([]byte("another secret of thirty-two byt")).Mark(tok, Minute(shown))
	for _, c := range []struct {
		name        string
		token, mark string
		at          time.Time
		ok          bool
	}{
		{"in its minute", tok, mark, shown, true},
		{"at the minute's last second", tok, mark, minute.Add(59 * time.Second), true},
		{"in the next minute", tok, mark, minute.Add(60 * time.Second), true},
		{"at the next minute's last second", tok, mark, minute.Add(119 * time.Second), true},
		{"two minutes later", tok, mark, minute.Add(120 * time.Second), false},
		{"an hour later", tok, mark, shown.Add(time.Hour), false},
		{"the minute before", tok, mark, minute.Add(-time.Second), false},
		{"typed by a person", tok, typed, shown, true},
		{"altered token", flip(tok, 3), mark, shown, false},
		{"token with its last character altered", flip(tok, len(tok)-1), mark, shown, false},
		{"altered mark", tok, flip(mark, 5), shown, false},
		{"another secret's mark", tok, other, shown, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := m.Verify(c.token, c.mark, c.at)
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.ok {
				t.Fatalf("Verify = %v, want %v", ok, c.ok)
			}
			if ok && !got.Equal(minute) {
				t.Errorf("the mark is of %s, want %s", got, minute)
			}
		})
	}
	for _, bad := range []struct{ token, mark string }{
		{"", mark}, {tok, ""}, {tok, mark + "7"}, {tok, mark[:5]}, {tok, "UUUUUU"}, {tok, "7KQ2X!"},
		{strings.Repeat("a", MaxTokenLength+1), mark}, {"tok\x00en", mark}, {"tök", mark},
	} {
		if _, _, err := m.Verify(bad.token, bad.mark, shown); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("Verify(%q, %q) = %v, want PARAM_ERROR", bad.token, bad.mark, err)
		}
	}
	// Marks of one token change from minute to minute, and differ between
	// tokens in a minute.
	seen := map[string]bool{}
	for i := range int64(50) {
		seen[m.Mark(tok, Minute(shown)+i)] = true
	}
	if len(seen) < 49 {
		t.Errorf("50 minutes gave %d marks", len(seen))
	}
	if m.Mark(tok, 1) == m.Mark(flip(tok, 0), 1) {
		t.Error("two tokens have one mark")
	}
}

func TestMinute(t *testing.T) {
	for _, c := range []struct {
		unix, want int64
	}{{0, 0}, {59, 0}, {60, 1}, {-1, -1}, {-60, -1}, {-61, -2}, {1_800_000_017, 30_000_000}} {
		if got := Minute(time.Unix(c.unix, 0)); got != c.want {
			t.Errorf("Minute(%d) = %d, want %d", c.unix, got, c.want)
		}
	}
	if got := SecondsLeft(time.Unix(1_800_000_017, 0)); got != 43 {
		t.Errorf("SecondsLeft = %d, want 43", got)
	}
	if got := SecondsLeft(time.Unix(1_800_000_000, 0)); got != 60 {
		t.Errorf("SecondsLeft at a minute's start = %d, want 60", got)
	}
}

// budget is a Budget of n wrong marks a key, which never refill.
type budget struct {
	n    int
	used map[string]int
}

func (b *budget) Exhausted(key string, _ time.Time) bool { return b.used[key] >= b.n }
func (b *budget) Allow(key string, _ time.Time) bool {
	b.used[key]++
	return b.used[key] <= b.n
}

// TestCheck: the verdicts of the check, what it tells of the code, the
// refusal of a code not the verifier's before its mark is compared, and
// the budget of wrong marks.
func TestCheck(t *testing.T) {
	s := NewSigner(testSecret)
	now := time.Unix(1_800_000_017, 0)
	open := s.Token(Payload{"4200001", "1900000001", 1234, now.Add(time.Hour)})
	expired := s.Token(Payload{"4200002", "1900000001", 1234, now.Add(-3 * time.Minute)})
	closing := s.Token(Payload{"4200003", "1900000001", 1234, now.Add(-7 * time.Second)}) // expired this minute
	closed := s.Token(Payload{"4200004", "1900000001", 1234, now.Add(-30 * time.Second)}) // expired in the last one
	b := &budget{n: 5, used: map[string]int{}}
	c := &Checker{Marks: NewMarker(testSecret), Tokens: s, Aggregates: NewCodeSigner(testSecret), WrongMarks: b}
	till := c.Aggregates.Token(CodePayload{CodeID: "agc_1", MchID: "1900000003"})
	mark := func(tok string) string { m, _ := c.Marks.Now(tok, now); return m }
	lastMark := c.Marks.Mark(closed, Minute(now)-1)
	for _, tc := range []struct {
		name, token, mark, reason string
		mchid                     string
	}{
		{"genuine", open, mark(open), "", "1900000001"},
		{"genuine, of a code that expired this minute", closing, mark(closing), "", "1900000001"},
		{"genuine, shown before its code expired in the last minute", closed, lastMark, "", "1900000001"},
		{"wrong mark", open, mark(expired), MarkMismatch, "1900000001"},
		{"this minute's mark of a code that expired in the last", closed, mark(closed), CodeExpired, "1900000001"},
		{"code expired before the mark's minutes", expired, mark(expired), CodeExpired, "1900000001"},
		{"altered token", flip(open, 5), mark(flip(open, 5)), NotIssued, ""},
		{"an aggregate code's", till, mark(till), "", "1900000003"},
		{"an aggregate code's, wrong mark", till, mark(open), MarkMismatch, "1900000003"},
		{"an altered aggregate code's", flip(till, 4), mark(flip(till, 4)), NotIssued, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.Check("mch:1900000001", tc.token, tc.mark, now, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid != (tc.reason == "") || v.Reason != tc.reason || v.MchID != tc.mchid {
				t.Fatalf("Check = %+v, want reason %q of %q", v, tc.reason, tc.mchid)
			}
			if kind := map[string]string{"1900000001": "order", "1900000003": "aggregate"}[tc.mchid]; v.Kind != kind {
				t.Errorf("kind %q, want %q", v.Kind, kind)
			}
			if v.Valid && v.Minute != "2027-01-15T16:00:00+08:00" && v.Minute != "2027-01-15T15:59:00+08:00" {
				t.Errorf("minute %s", v.Minute)
			}
		})
	}
	if got := b.used["mch:1900000001"]; got != 4 {
		t.Errorf("the wrong marks and the foreign tokens spent %d of the budget, want 4", got)
	}
	refused := fenfu.Errorf(fenfu.NoAuth, "not yours")
	if _, err := c.Check("mch:1900000002", open, mark(open), now, func(Code) error { return refused }); err != refused {
		t.Errorf("another merchant's code: %v", err)
	}
	if b.used["mch:1900000002"] != 0 {
		t.Error("a refused code spent the budget")
	}
	for range 4 {
		if _, err := c.Check("staff:li", open, "000000", now, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Check("staff:li", open, mark(open), now, nil); err != nil {
		t.Fatalf("a verifier with budget left: %v", err)
	}
	_, _ = c.Check("staff:li", open, "000000", now, nil)
	if _, err := c.Check("staff:li", open, mark(open), now, nil); fenfu.ErrorCode(err) != fenfu.FrequencyLimited {
		t.Errorf("a verifier out of budget, even with the right mark: %v, want FREQUENCY_LIMITED", err)
	}
	if _, err := c.Check("mch:1900000001", open, mark(open), now, nil); err != nil {
		t.Errorf("another verifier's budget is its own: %v", err)
	}
}

// FuzzVerify: Verify never panics, accepts only a mark that reads as the
// mark of its minute, and ParseMark's reading is canonical.
func FuzzVerify(f *testing.F) {
	m := NewMarker(testSecret)
	now := time.Unix(1_800_000_017, 0)
	f.Add("tok", m.Mark("tok", Minute(now)))
	f.Add("a.b", "7kq-2xz")
	f.Add("", "")
	f.Add("x", "OIL OIL")
	f.Fuzz(func(t *testing.T, token, mark string) {
		minute, ok, err := m.Verify(token, mark, now)
		if p, perr := ParseMark(mark); perr == nil {
			if len(p) != MarkLength || strings.Trim(p, markAlphabet) != "" {
				t.Fatalf("ParseMark(%q) = %q", mark, p)
			}
			if again, _ := ParseMark(p); again != p {
				t.Fatalf("ParseMark is not canonical: %q then %q", p, again)
			}
			if ok && m.Mark(token, Minute(minute)) != p {
				t.Fatalf("accepted %q for %q, which is not the mark of %s", mark, token, minute)
			}
		} else if ok || err == nil && checkToken(token) == nil {
			t.Fatalf("accepted a mark ParseMark refuses: %q", mark)
		}
	})
}
