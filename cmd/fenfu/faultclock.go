package main

import (
	"flag"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
)

// clockOffsetFlag adds the hidden --clock-offset-file flag of serve and
// settle: a fault-injection knob for `fenfu chaos`, which steps a running
// server's wall clock without touching the machine's. It is not a
// setting (not in Config, the README's table or FENFU_*): no deployment
// should run with it.
func clockOffsetFlag(fs *flag.FlagSet) *string {
	return fs.String("clock-offset-file", "", "testing only: add the duration this file holds (e.g. 90s, -4m) to the clock, read again at most once a second")
}

// clockOf is the clock a command runs on: the system's, or with an
// offset file, the system's plus the offset.
func clockOf(offsetFile string) fenfu.Clock {
	if offsetFile == "" {
		return fenfu.SystemClock{}
	}
	return &offsetClock{path: offsetFile}
}

// offsetClock is the system clock plus the duration a file holds, read
// again at most once a second; a missing or empty file is no offset, and
// one that does not parse keeps the last offset.
type offsetClock struct {
	path string

	mu     sync.Mutex
	offset time.Duration
	read   time.Time // when the file was last read, by the system clock
}

// Now returns the system time plus the offset.
func (c *offsetClock) Now() time.Time {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read.IsZero() || now.Sub(c.read) >= time.Second {
		c.read = now
		c.offset = readOffset(c.path, c.offset)
	}
	return now.Add(c.offset)
}

// readOffset reads the duration in path, or returns last if it cannot.
func readOffset(path string, last time.Duration) time.Duration {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		return last
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return last
	}
	return d
}
