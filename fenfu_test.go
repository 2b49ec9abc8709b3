package fenfu_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	for _, f := range []fenfu.Fen{0, 1, -1, 99, 100, 123456789, -27} {
		if got, err := fenfu.ParseYuan(fenfu.Yuan(f)); err != nil || got != f {
			t.Errorf("round trip of %d: %d %v", f, got, err)
		}
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"", true}, {"tea", true}, {"茶馆 🍵", true}, {"a\tb\nc\r", true}, {"\u0080\u009f", true}, {"\ufffd", true},
		{"\x00", false}, {"tea\x00", false}, {"\a", false}, {"\x1f", false}, {"\ufffe", false}, {"\uffff", false},
		{"\xff", false}, {"\xe4\xb8", false}, {"\xed\xa0\x80", false}, // a surrogate, encoded
	} {
		err := fenfu.Text("description", tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("Text(%q) = %v, want accepted %v", tc.v, err, tc.ok)
		}
		if err != nil {
			if e := fenfu.AsError(err); e.Code != fenfu.ParamError || e.Field != "description" {
				t.Errorf("Text(%q) = %+v, want PARAM_ERROR naming description", tc.v, e)
			}
		}
	}
}

// TestWords: a written field is valid text of 1 to max characters, not
// only space; empty is allowed only where it is optional.
func TestWords(t *testing.T) {
	for _, tc := range []struct {
		v        string
		optional bool
		ok       bool
	}{
		{"茶", false, true}, {"", false, false}, {"", true, true}, {"  \n", true, false}, {"五个字符啊", false, true},
		{"六个字符啊啊", false, false}, {"a\x00", false, false},
	} {
		err := fenfu.Words("note", tc.v, 5, tc.optional)
		if (err == nil) != tc.ok || err != nil && fenfu.AsError(err).Field != "note" {
			t.Errorf("Words(%q, optional %v) = %v, want accepted %v", tc.v, tc.optional, err, tc.ok)
		}
	}
}

// sqlState is an error with a SQLSTATE, as PostgreSQL's driver gives.
type sqlState string

func (s sqlState) Error() string    { return "sqlstate " + string(s) }
func (s sqlState) SQLState() string { return string(s) }

// TestInternalPermanent: Internal answers a data exception (class 22)
// PARAM_ERROR and an integrity violation (class 23) INVALID_REQUEST,
// keeping the cause; any other failure, however wrapped, stays
// SYSTEM_ERROR.
func TestInternalPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want fenfu.Code
	}{
		{sqlState("22003"), fenfu.ParamError},
		{sqlState("22021"), fenfu.ParamError},
		{fmt.Errorf("pay: %w", sqlState("22P02")), fenfu.ParamError},
		{sqlState("23505"), fenfu.InvalidRequest},
		{sqlState("23503"), fenfu.InvalidRequest},
		{sqlState("40001"), fenfu.SystemError},
		{sqlState("53300"), fenfu.SystemError},
		{errors.New("connection refused"), fenfu.SystemError},
	} {
		e := fenfu.Internal("pay.Refund", tc.err)
		if e.Code != tc.want || !errors.Is(e, tc.err) {
			t.Errorf("Internal(%v) = %+v, want %s wrapping the cause", tc.err, e, tc.want)
		}
		if got := fenfu.ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %s, want %s", tc.err, got, tc.want)
		}
		if got := fenfu.AsError(tc.err).Code; got != tc.want {
			t.Errorf("AsError(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// TestLogLevel: every surface logs an internal error as an error, a
// refusal with a cause behind it as a warning, and a plain refusal of the
// caller's request as information.
func TestLogLevel(t *testing.T) {
	refused := fenfu.Errorf(fenfu.ParamError, "bad")
	refused.Err = errors.New("the store refused the value")
	for e, want := range map[*fenfu.Error]slog.Level{
		fenfu.Internal("x.Y", errors.New("boom")): slog.LevelError,
		refused:                                slog.LevelWarn,
		fenfu.Errorf(fenfu.NotEnough, "short"): slog.LevelInfo,
	} {
		if got := e.LogLevel(); got != want {
			t.Errorf("%v: %v, want %v", e, got, want)
		}
	}
}

func TestSource(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9:5555":        "203.0.113.9",
		"203.0.113.9":             "203.0.113.9",
		"[::ffff:203.0.113.9]:80": "203.0.113.9",
		"[2001:db8:1:2::7]:443":   "2001:db8:1:2::/64",
		"[fe80::1%eth0]:443":      "fe80::/64",
		"2001:db8:1:2:ffff::1":    "2001:db8:1:2::/64",
		"":                        "",
		"pipe":                    "pipe",
		strings.Repeat("x", 100):  strings.Repeat("x", 64),
	} {
		if got := fenfu.Source(in); got != want {
			t.Errorf("Source(%q) = %q, want %q", in, got, want)
		}
	}
}
