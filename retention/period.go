package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Period is how long a kind of record is kept: whole years, or days.
// Years are calendar years (Asia/Shanghai), so five years from
// 2021-03-01 end on 2026-03-01 whatever the leap days between.
type Period struct {
	Years int
	Days  int
}

// ParsePeriod reads a period written as years ("5y") or days ("1826d").
func ParsePeriod(s string) (Period, error) {
	bad := fmt.Errorf("%q is not a period such as 5y (years) or 730d (days)", s)
	if len(s) < 2 {
		return Period{}, bad
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 || n > 100*366 || strings.ContainsAny(s[:len(s)-1], "+-") {
		return Period{}, bad
	}
	switch s[len(s)-1] {
	case 'y':
		if n > 100 {
			return Period{}, bad
		}
		return Period{Years: n}, nil
	case 'd':
		return Period{Days: n}, nil
	}
	return Period{}, bad
}

func (p Period) String() string {
	if p.Years > 0 {
		return strconv.Itoa(p.Years) + "y"
	}
	return strconv.Itoa(p.Days) + "d"
}

// Before is the instant the period ends at t: what is older expired.
func (p Period) Before(t time.Time) time.Time { return t.AddDate(-p.Years, 0, -p.Days) }

// After is when the period of something from t ends.
func (p Period) After(t time.Time) time.Time { return t.AddDate(p.Years, 0, p.Days) }

// Periods are the retention periods of the settings.
type Periods struct {
	// Trades: an order's trade details and its refunds, from the trade's
	// last change; notification logs, sandbox calls and bills, from
	// their writing.
	Trades Period
	// Disputes: a disputed order's details, from the dispute's close;
	// support tickets, from when they were resolved or closed.
	Disputes Period
	// Authorizations: a consumer's authorization, from the end of its
	// credit contract.
	Authorizations Period
	// Risk: risk decisions, queue items and their actions, from the last
	// act on them.
	Risk Period
}

// DefaultPeriods are the periods fenfu keeps records for unless set
// otherwise.
func DefaultPeriods() Periods {
	return Periods{Trades: Period{Years: 5}, Disputes: Period{Years: 2}, Authorizations: Period{Years: 5}, Risk: Period{Years: 3}}
}
