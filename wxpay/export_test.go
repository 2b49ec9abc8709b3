package wxpay

// Held is how many merchants' limiters l holds.
func (l *RateLimiter) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.limiters)
}

// SweepAbove is how many limiters a RateLimiter holds before it sweeps.
const SweepAbove = sweepAbove

// CheckTimestamp is checkTimestamp.
var CheckTimestamp = checkTimestamp
