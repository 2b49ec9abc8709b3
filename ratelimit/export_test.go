package ratelimit

// Held is how many keys' limiters l holds.
func (l *Limiter) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.limiters)
}

// SweepAbove is how many limiters a Limiter holds before it sweeps.
const SweepAbove = sweepAbove
