package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// MaxAdvance is the most one advance moves the clock.
const MaxAdvance = 400 * 24 * time.Hour

// Clock is the clock of a sandbox deployment (serve --sandbox-clock): its
// base clock, the system's, plus an offset kept in the core store's
// sandbox_clock row, so every node of the deployment tells the same time.
// A node reads the offset again at most once a second of its base clock,
// and at once after an advance of its own. The offset only grows: time
// never runs backwards.
//
// Advance moves the clock forward, stopping at every midnight (Asia/
// Shanghai) it crosses to run the date-driven Jobs for the day that
// ended, in order.
type Clock struct {
	base  fenfu.Clock
	core  *db.DB
	owner string
	// Jobs run at each midnight an advance crosses, in order.
	Jobs []Job
	// Check, if set, is asked before an advance whether the deployment
	// may move its clock (it refuses one with production merchants).
	Check func(ctx context.Context) error

	seq atomic.Int64 // numbers this node's advances in their claims

	mu      sync.Mutex
	offset  time.Duration
	read    time.Time // the base time the offset was last read at
	reading bool
}

// NewClock returns a sandbox clock on base, with no offset until Attach
// reads it from the core store.
func NewClock(base fenfu.Clock) *Clock { return &Clock{base: base} }

// Attach reads the offset from the core store, as the clock does from
// then on; owner names this node in an advance's claim.
func (c *Clock) Attach(ctx context.Context, core *db.DB, owner string) error {
	c.core, c.owner = core, owner
	r, err := c.load(ctx, core.R)
	if err != nil {
		return fenfu.Internal("sandbox.Clock", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.read = max(c.offset, r.offset), c.base.Now()
	return nil
}

// refreshEvery is how often a node reads the offset again.
const refreshEvery = time.Second

// Now returns the base time plus the offset. The caller that finds the
// offset a second old reads it again; the others meanwhile use the last.
func (c *Clock) Now() time.Time {
	now := c.base.Now()
	c.mu.Lock()
	due := c.core != nil && !c.reading && (now.Sub(c.read) >= refreshEvery || now.Before(c.read))
	if due {
		c.reading, c.read = true, now
	}
	off := c.offset
	c.mu.Unlock()
	if due {
		off = c.refresh()
	}
	return now.Add(off)
}

// refresh reads the offset; a store that does not answer keeps the last.
func (c *Clock) refresh() time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := c.load(ctx, c.core.R)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reading = false
	if err == nil {
		c.offset = max(c.offset, r.offset)
	}
	return c.offset
}

// row is the sandbox_clock row.
type row struct {
	offset  time.Duration
	target  time.Time // of an unfinished advance; zero when none is
	reached string
	owner   string
	until   time.Time
}

func (c *Clock) load(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (row, error) {
	var r row
	var off, target, until int64
	err := q.QueryRowContext(ctx, `SELECT offset_us, target_us, reached, owner, lease_until FROM sandbox_clock WHERE id = 1`).
		Scan(&off, &target, &r.reached, &r.owner, &until)
	r.offset, r.target, r.until = time.Duration(off)*time.Microsecond, db.Time(target), db.Time(until)
	return r, err
}

// setOffset makes this node's clock the base plus off at once, if that
// moves it forward.
func (c *Clock) setOffset(off time.Duration) {
	c.mu.Lock()
	c.offset = max(c.offset, off)
	c.mu.Unlock()
}

// Off is the refusal of a deployment without a sandbox clock.
func Off() error {
	e := fenfu.Errorf(fenfu.InvalidRequest, "this deployment has no sandbox clock: its time is the system's and cannot be advanced")
	e.Remedy = "Start every node of a sandbox deployment with --sandbox-clock (FENFU_SANDBOX_CLOCK=1); a deployment with production merchants keeps the system's time."
	return e
}

// State is what the clock shows.
type State struct {
	Enabled bool      `json:"enabled"`
	Now     time.Time `json:"now"`
	// Offset is how far the clock is ahead of the system's.
	Offset string `json:"offset"`
	// Advancing names the advance holding the clock, if one is running.
	Advancing string `json:"advancing,omitempty"`
	// Unfinished is where an advance that stopped halfway was going; the
	// next advance goes there first. Reached is the last day whose jobs
	// all ran.
	Unfinished *time.Time `json:"unfinished_to,omitempty"`
	Reached    string     `json:"reached,omitempty"`
}

// Show returns the clock's state as the store has it.
func (c *Clock) Show(ctx context.Context) (State, error) {
	r, err := c.load(ctx, c.core.R)
	if err != nil {
		return State{}, fenfu.Internal("sandbox.Show", err)
	}
	c.setOffset(r.offset)
	now := c.base.Now()
	s := State{Enabled: true, Now: now.Add(max(r.offset, c.currentOffset())).In(fenfu.Shanghai), Offset: r.offset.String()}
	if r.owner != "" && r.until.After(now) {
		s.Advancing = r.owner
	}
	if !r.target.IsZero() {
		t := r.target.In(fenfu.Shanghai)
		s.Unfinished, s.Reached = &t, r.reached
	}
	return s, nil
}

func (c *Clock) currentOffset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// AdvanceRequest asks to move the clock by Duration (a Go duration such
// as 720h, or whole days such as 30d) or to the time To (RFC 3339).
type AdvanceRequest struct {
	Duration string `json:"duration,omitempty"`
	To       string `json:"to,omitempty"`
}

// target is where the request moves a clock that shows now.
func (r AdvanceRequest) target(now time.Time) (time.Time, error) {
	switch {
	case (r.Duration == "") == (r.To == ""):
		return time.Time{}, fenfu.FieldError("duration", "give either duration (e.g. 720h or 30d) or to (RFC 3339), not both or neither")
	case r.To != "":
		to, err := time.Parse(time.RFC3339, r.To)
		if err != nil {
			return time.Time{}, fenfu.FieldError("to", "to must be a time in RFC 3339, e.g. 2027-03-11T00:00:00+08:00, not %q", r.To)
		}
		if !to.After(now) {
			e := fenfu.FieldError("to", "the clock only moves forward: %s is not after its time, %s",
				to.In(fenfu.Shanghai).Format(time.RFC3339), now.In(fenfu.Shanghai).Format(time.RFC3339))
			e.Remedy = "Give a time after the clock's; GET /admin/sandbox/clock shows it."
			return time.Time{}, e
		}
		if to.Sub(now) > MaxAdvance {
			return time.Time{}, tooFar("to")
		}
		return to, nil
	}
	d, err := ParseDuration(r.Duration)
	if err != nil {
		return time.Time{}, err
	}
	return now.Add(d), nil
}

// ParseDuration reads an advance's duration: a Go duration (720h, 90m)
// or whole days (30d), positive and at most MaxAdvance.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		if n > int(MaxAdvance/(24*time.Hour)) {
			return 0, tooFar("duration")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, fenfu.FieldError("duration", "duration must be a duration such as 720h, 90m or 30d, not %q", s)
	}
	if d <= 0 {
		e := fenfu.FieldError("duration", "the clock only moves forward: advance by a positive duration, not %s", s)
		e.Remedy = "Give a positive duration, such as 24h or 30d."
		return 0, e
	}
	if d > MaxAdvance {
		return 0, tooFar("duration")
	}
	return d, nil
}

func tooFar(field string) error {
	e := fenfu.FieldError(field, "an advance moves the clock at most %d days", int(MaxAdvance/(24*time.Hour)))
	e.Remedy = "Advance in several steps of at most 400 days each."
	return e
}

// Job is a date-driven job an advance runs at each midnight it crosses.
type Job struct {
	Name string
	// Run does the job's work at a step and says what it did, by count.
	Run func(ctx context.Context, s Step) (map[string]int64, error)
}

// Step is a midnight an advance stops at: the clock shows At, the start
// of Day, and Ended is the day that just ended (both YYYY-MM-DD, Asia/
// Shanghai).
type Step struct {
	Day, Ended string
	At         time.Time
}

// Day is what the jobs did at one midnight.
type Day struct {
	Day  string    `json:"day"`
	At   time.Time `json:"at"`
	Jobs []JobRun  `json:"jobs"`
}

// JobRun is what one job did at one midnight.
type JobRun struct {
	Job    string           `json:"job"`
	Counts map[string]int64 `json:"counts"`
}

// Advanced is what an advance did.
type Advanced struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Resumed is set when the advance completed one that an earlier run
	// left unfinished (it stopped on a failure or with its process), and
	// went no further: the request itself was not applied.
	Resumed bool  `json:"resumed"`
	Days    []Day `json:"days"`
}

// claimLease is how long an advance holds the clock unrenewed; each of
// its days renews the claim.
const claimLease = 2 * time.Minute

// claimWait is how often an advance looks whether the clock is free.
const claimWait = 200 * time.Millisecond

// Advance moves the clock as asked, stepping across each midnight (Asia/
// Shanghai) it crosses: it moves the clock to the midnight, runs the
// jobs, in order, and records the day reached, then goes on; at the end it
// moves the clock to the target. progress, if set, is told of each day
// as it is done.
//
// Advances are serialized by a claim on the clock's row: one waits while
// another runs, on any node. One that stops halfway (a job failed, the
// process died) leaves its target and the day it reached in the row, and
// the next advance completes it, from that day, instead of its own.
func (c *Clock) Advance(ctx context.Context, req AdvanceRequest, progress func(Day)) (Advanced, error) {
	if c == nil || c.core == nil {
		return Advanced{}, Off()
	}
	if _, err := req.target(c.Now()); err != nil {
		return Advanced{}, err
	}
	if c.Check != nil {
		if err := c.Check(ctx); err != nil {
			return Advanced{}, err
		}
	}
	owner := fmt.Sprintf("%s#%d", c.owner, c.seq.Add(1))
	if err := c.claim(ctx, owner); err != nil {
		return Advanced{}, err
	}
	defer c.release(owner)
	out, err := c.advance(ctx, owner, req, progress)
	return out, fenfu.Op("sandbox.Advance", err)
}

// claim waits for the clock's row to be free and claims it.
func (c *Clock) claim(ctx context.Context, owner string) error {
	for {
		now := c.base.Now()
		res, err := c.core.Exec(ctx, `UPDATE sandbox_clock SET owner = $1, lease_until = $2, updated_at = $3
			WHERE id = 1 AND (owner = '' OR lease_until < $3)`, owner, db.Micros(now.Add(claimLease)), db.Micros(now))
		if err != nil {
			return fenfu.Internal("sandbox.Advance", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(claimWait):
		}
	}
}

// release frees the row, even when ctx has ended.
func (c *Clock) release(owner string) {
	_, _ = c.core.Exec(context.Background(), `UPDATE sandbox_clock SET owner = '', lease_until = 0 WHERE id = 1 AND owner = $1`, owner)
}

// errLostClaim is an advance's claim taken over by another after it
// lapsed.
var errLostClaim = errors.New("sandbox: the advance's claim on the clock lapsed and another advance took it")

// save writes the row while the claim is owner's, renewing the claim.
func (c *Clock) save(ctx context.Context, owner string, off time.Duration, target time.Time, reached string) error {
	now := c.base.Now()
	res, err := c.core.Exec(ctx, `UPDATE sandbox_clock SET offset_us = $1, target_us = $2, reached = $3, lease_until = $4, updated_at = $5
		WHERE id = 1 AND owner = $6`, off.Microseconds(), db.Micros(target), reached, db.Micros(now.Add(claimLease)), db.Micros(now), owner)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLostClaim
	}
	c.setOffset(off)
	return nil
}

// dayLayout is how days are written.
const dayLayout = time.DateOnly

func (c *Clock) advance(ctx context.Context, owner string, req AdvanceRequest, progress func(Day)) (Advanced, error) {
	r, err := c.load(ctx, c.core.R)
	if err != nil {
		return Advanced{}, err
	}
	off := max(r.offset, c.currentOffset())
	out := Advanced{From: c.base.Now().Add(off).In(fenfu.Shanghai), Days: []Day{}}
	target, reached := r.target, r.reached
	if target.IsZero() {
		if target, err = req.target(out.From); err != nil {
			return out, err
		}
		reached = out.From.Format(dayLayout)
		if err := c.save(ctx, owner, off, target, reached); err != nil {
			return out, err
		}
	} else {
		out.Resumed = true
	}
	last, err := time.ParseInLocation(dayLayout, reached, fenfu.Shanghai)
	if err != nil {
		return out, fmt.Errorf("sandbox: the clock's row has reached %q: %w", reached, err)
	}
	for m := last.AddDate(0, 0, 1); !m.After(target); m = m.AddDate(0, 0, 1) {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		off = max(off, m.Sub(c.base.Now()))
		if err := c.save(ctx, owner, off, target, reached); err != nil {
			return out, err
		}
		step := Step{Day: m.Format(dayLayout), Ended: m.AddDate(0, 0, -1).Format(dayLayout), At: m}
		day := Day{Day: step.Day, At: m, Jobs: make([]JobRun, 0, len(c.Jobs))}
		for _, j := range c.Jobs {
			counts, err := j.Run(ctx, step)
			if err != nil {
				cause := fenfu.AsError(err)
				e := &fenfu.Error{Code: cause.Code, Message: fmt.Sprintf("the %s job of %s failed: %s", j.Name, step.Day, cause.Message), Err: err}
				e.Remedy = fmt.Sprintf("Advance again once the cause is fixed: the clock completes this advance to %s from %s first.",
					target.In(fenfu.Shanghai).Format(time.RFC3339), step.Day)
				return out, e
			}
			day.Jobs = append(day.Jobs, JobRun{Job: j.Name, Counts: counts})
		}
		reached = step.Day
		if err := c.save(ctx, owner, off, target, reached); err != nil {
			return out, err
		}
		out.Days = append(out.Days, day)
		if progress != nil {
			progress(day)
		}
	}
	off = max(off, target.Sub(c.base.Now()))
	if err := c.save(ctx, owner, off, time.Time{}, ""); err != nil {
		return out, err
	}
	out.To = c.Now().In(fenfu.Shanghai)
	return out, nil
}
