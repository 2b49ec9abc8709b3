package settle_test

import (
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/settle"
)

// TestDueDay: the day whose settlement was last due is yesterday once
// today's settlement time has passed, and the day before until then.
func TestDueDay(t *testing.T) {
	s := &settle.Scheduler{At: 3 * time.Hour}
	for _, c := range []struct {
		now, date, due string
	}{
		{"2026-11-28 10:00", "2026-11-27", "2026-11-28 03:00"},
		{"2026-11-28 03:00", "2026-11-27", "2026-11-28 03:00"},
		{"2026-11-28 02:59", "2026-11-26", "2026-11-27 03:00"},
		{"2026-12-01 00:30", "2026-11-29", "2026-11-30 03:00"},
	} {
		now, _ := time.ParseInLocation("2006-01-02 15:04", c.now, fenfu.Shanghai)
		date, due := s.DueDay(now.UTC())
		if date != c.date || due.In(fenfu.Shanghai).Format("2006-01-02 15:04") != c.due {
			t.Errorf("at %s: %s due %s, want %s due %s", c.now, date, due.In(fenfu.Shanghai).Format("2006-01-02 15:04"), c.date, c.due)
		}
	}
}
