package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOffsetClock: the clock adds the file's offset, reads the file again
// only after a second, keeps the last offset when the file is garbled and
// has none when the file is gone.
func TestOffsetClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offset")
	c := &offsetClock{path: path}
	near := func(what string, want time.Duration) {
		t.Helper()
		if got := time.Until(c.Now()); got < want-time.Second || got > want+time.Second {
			t.Errorf("%s: the clock is %s ahead, want %s", what, got.Round(time.Millisecond), want)
		}
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.read = time.Time{} // as if a second had passed
		c.mu.Unlock()
	}
	near("no file", 0)
	write("90s\n")
	near("90s", 90*time.Second)
	if err := os.WriteFile(path, []byte("-4m"), 0o600); err != nil {
		t.Fatal(err)
	}
	near("within the second, the file is not read again", 90*time.Second)
	write("-4m")
	near("-4m", -4*time.Minute)
	write("soon")
	near("garbled", -4*time.Minute)
	write("")
	near("empty", 0)
	write("6m")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.read = time.Time{}
	c.mu.Unlock()
	near("removed", 0)
}
