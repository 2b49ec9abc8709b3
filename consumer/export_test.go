package consumer

import (
	"sync"

	"github.com/fenfu/fenfu/login"
)

// PINChecks records the PIN checks a Service makes.
type PINChecks struct {
	mu     sync.Mutex
	hashes []string
}

// CountPINChecks makes s record each PIN check it makes (the stored hash
// it checked against) and returns the record.
func CountPINChecks(s *Service) *PINChecks {
	c := &PINChecks{}
	s.checkPIN = func(stored, pin string) (bool, bool) {
		c.mu.Lock()
		c.hashes = append(c.hashes, stored)
		c.mu.Unlock()
		return login.Check(stored, pin)
	}
	return c
}

// Hashes returns the hashes checked so far, in order.
func (c *PINChecks) Hashes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.hashes...)
}
