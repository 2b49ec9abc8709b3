package fenfu_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
)

func TestPage(t *testing.T) {
	c := fenfu.Cursor("1764225600000000", "app_x\x00y")
	key, err := fenfu.Keyset{After: c}.Key(2)
	if err != nil || key[0] != "1764225600000000" || key[1] != "app_x\x00y" {
		t.Fatalf("key of %q: %q, %v", c, key, err)
	}
	if key, err := (fenfu.Keyset{}).Key(2); key != nil || err != nil {
		t.Errorf("first page's key %q, %v", key, err)
	}
	// A cursor is the one encoding Cursor made, of as many parts as the
	// list's key: padded, broken by a line, with bits past its end, too
	// long or of another list, it is refused as after.
	for _, bad := range []string{"not base64!", fenfu.Cursor("one"), fenfu.Cursor("a", "b", "c"), c + "=", c + "\n", "!!",
		c[:len(c)-1] + "~", fenfu.Cursor("1764225600000000", "x") + "B", fenfu.Cursor("1", strings.Repeat("x", 400))} {
		_, err := (fenfu.Keyset{After: bad}).Key(2)
		if e := fenfu.AsError(err); fenfu.ErrorCode(err) != fenfu.ParamError || e.Field != "after" || e.Remedy == "" {
			t.Errorf("cursor %q: %v, want PARAM_ERROR on after", bad, err)
		}
	}
	for _, c := range []struct{ limit, want int }{{0, 50}, {-3, 50}, {7, 7}, {200, 200}, {10_000, 200}} {
		if got := (fenfu.Keyset{Limit: c.limit}).Size(50, 200); got != c.want {
			t.Errorf("size of limit %d: %d, want %d", c.limit, got, c.want)
		}
	}
	keyOf := func(n int) []string { return []string{strconv.Itoa(n), "x"} }
	if rows, next := fenfu.NextPage([]int{1, 2, 3}, 3, keyOf); len(rows) != 3 || next != "" {
		t.Errorf("the last page: %v, next %q", rows, next)
	}
	if rows, next := fenfu.NextPage([]int{1, 2, 3, 4}, 3, keyOf); len(rows) != 3 || next != fenfu.Cursor("3", "x") {
		t.Errorf("a page with more after it: %v, next %q", rows, next)
	}
	var p fenfu.Keyset
	if n, err := p.Int("1764225600000000"); n != 1764225600000000 || err != nil {
		t.Errorf("a time's part: %d, %v", n, err)
	}
	for _, bad := range []string{"", "x", "+1", "01", "1.5", "99999999999999999999"} {
		if _, err := p.Int(bad); fenfu.ErrorCode(err) != fenfu.ParamError || fenfu.AsError(err).Field != "after" {
			t.Errorf("part %q: %v, want PARAM_ERROR on after", bad, err)
		}
	}
}

// FuzzPageKey: a cursor from outside never panics, and one that parses
// as a key of n parts is the cursor of its own key.
func FuzzPageKey(f *testing.F) {
	for _, s := range []string{fenfu.Cursor("1764225600000000", "app_x"), "", "////", fenfu.Cursor("1", "x"), fenfu.Cursor("a", "b", "c"), "A", "AA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, after string) {
		for n := range 4 {
			key, err := fenfu.Keyset{After: after}.Key(n)
			if err == nil && key != nil && (len(key) != n || fenfu.Cursor(key...) != after) {
				t.Errorf("cursor %q parses to %q, whose cursor is %q", after, key, fenfu.Cursor(key...))
			}
		}
	})
}
