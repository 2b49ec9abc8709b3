package fenfu

import (
	"sync"
	"time"
)

// Shanghai is the time zone of business days, windows and daily limits.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// Clock tells the time. Everything that reads time holds one, so tests can
// use a FakeClock.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// FakeClock is a Clock for tests that only moves when told to.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a FakeClock stopped at t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the fake time forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the fake time to t, which must not be before the current fake
// time: stores stamp rows with it and expect it never to run backwards.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Before(c.now) {
		panic("fenfu: FakeClock.Set would move time backwards")
	}
	c.now = t
}

// DayStart returns the start of the Asia/Shanghai calendar day t falls in.
func DayStart(t time.Time) time.Time {
	l := t.In(Shanghai)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, Shanghai)
}

// MonthStart returns the start of the Asia/Shanghai calendar month t
// falls in.
func MonthStart(t time.Time) time.Time {
	l := t.In(Shanghai)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, Shanghai)
}
