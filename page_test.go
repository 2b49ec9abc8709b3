package fenfu_test

import (
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
	for _, bad := range []string{"not base64!", fenfu.Cursor("one"), fenfu.Cursor("a", "b", "c")} {
		if _, err := (fenfu.Keyset{After: bad}).Key(2); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("cursor %q: %v, want PARAM_ERROR", bad, err)
		}
	}
	for _, c := range []struct{ limit, want int }{{0, 50}, {-3, 50}, {7, 7}, {200, 200}, {10_000, 200}} {
		if got := (fenfu.Keyset{Limit: c.limit}).Size(50, 200); got != c.want {
			t.Errorf("size of limit %d: %d, want %d", c.limit, got, c.want)
		}
	}
}

// FuzzPageKey: a cursor from outside never panics, and one that parses
// is the cursor of its own key.
func FuzzPageKey(f *testing.F) {
	f.Add(fenfu.Cursor("1764225600000000", "app_x"))
	f.Add("")
	f.Add("////")
	f.Fuzz(func(t *testing.T, after string) {
		key, err := fenfu.Keyset{After: after}.Key(2)
		if err == nil && key != nil && fenfu.Cursor(key...) != after {
			t.Errorf("cursor %q parses to %q, whose cursor is %q", after, key, fenfu.Cursor(key...))
		}
	})
}
