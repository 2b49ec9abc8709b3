package credit

// Credit lines managed by staff: a limit raised or lowered, a rating
// changed, a line frozen or unfrozen, each change recorded with its actor,
// reason and the line before and after.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// LineState is whether a line takes credit payments.
type LineState string

// Line states.
const (
	LineActive LineState = "ACTIVE"
	LineFrozen LineState = "FROZEN" // takes no credit payment; its limit may be below what is used
	// LineClosed is the end of the consumer's credit contract: the line
	// takes no credit payment again. Only a line with nothing used closes.
	LineClosed LineState = "CLOSED"
)

var lineMachine = db.Machine[LineState]{Table: "credit_lines", Column: "state",
	Allowed: map[LineState][]LineState{LineActive: {LineFrozen, LineClosed}, LineFrozen: {LineActive, LineClosed}}}

// LineChange is a staff change of a consumer's line; a nil field is left
// as it is.
type LineChange struct {
	ID         string
	ConsumerID string
	Actor      string
	Reason     string
	Limit      *fenfu.Fen
	Rating     *string
	Frozen     *bool
	// Close ends the consumer's credit contract: the line is closed for
	// good, and retention counts the authorization's period from now.
	Close bool
}

// LineChanged is a recorded change: the line before and after.
type LineChanged struct {
	ID     string `json:"change_id"`
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
	Before Line   `json:"before"`
	After  Line   `json:"after"`
}

// ChangeLine applies a staff change to a line in the caller's
// transaction. A limit below what is used is refused unless the line is
// (or is made) frozen; unfreezing a line whose limit is below what is used
// is refused likewise.
func ChangeLine(ctx context.Context, tx *db.Tx, c LineChange) (LineChanged, error) {
	c.Reason = strings.TrimSpace(c.Reason)
	if c.Reason == "" || len(c.Reason) > 500 {
		return LineChanged{}, fenfu.FieldError("reason", "give the reason for the change, at most 500 bytes; it is recorded")
	}
	if c.Limit == nil && c.Rating == nil && c.Frozen == nil && !c.Close {
		return LineChanged{}, fenfu.FieldError("credit_limit", "change the credit_limit, rating or frozen, or close the line")
	}
	if c.Close && c.Frozen != nil {
		return LineChanged{}, fenfu.FieldError("close", "a line is closed, or frozen or unfrozen, not both")
	}
	if c.Limit != nil && (*c.Limit < 0 || *c.Limit > 100_000_000_00) {
		return LineChanged{}, fenfu.FieldError("credit_limit", "credit limit must be from 0 to 100,000,000 yuan, in fen")
	}
	if c.Rating != nil && !ValidRating(*c.Rating) {
		return LineChanged{}, fenfu.FieldError("rating", "rating must be one of A, B, C, D, not %q", *c.Rating)
	}
	before, ok, err := Lock(ctx, tx, c.ConsumerID)
	if err != nil {
		return LineChanged{}, err
	}
	if !ok {
		return LineChanged{}, fenfu.Errorf(fenfu.ResourceNotExists, "consumer %s has no credit line", c.ConsumerID)
	}
	if before.State == LineClosed {
		e := fenfu.Errorf(fenfu.InvalidRequest, "the credit line of %s is closed: the consumer's credit contract has ended", c.ConsumerID)
		e.Remedy = "A closed line is not changed again; the consumer applies for a new contract."
		return LineChanged{}, e
	}
	after := before
	if c.Limit != nil {
		after.Limit = *c.Limit
	}
	if c.Rating != nil {
		after.Rating = *c.Rating
	}
	if c.Frozen != nil {
		after.State = LineActive
		if *c.Frozen {
			after.State = LineFrozen
		}
	}
	if c.Close {
		if before.Used > 0 || before.Frozen > 0 {
			e := fenfu.Errorf(fenfu.InvalidRequest, "the credit line of %s still has %s yuan used and %s yuan frozen", c.ConsumerID,
				fenfu.Yuan(before.Used), fenfu.Yuan(before.Frozen))
			e.Remedy = "Close the line once the consumer has repaid everything it used and its service orders have ended."
			return LineChanged{}, e
		}
		after.State = LineClosed
	}
	after.Available = after.available()
	// What is frozen is committed to service orders, whose captures draw
	// on it without checking the limit again: an active line's limit
	// covers both, or a capture would leave it with more used than its
	// limit.
	if after.Limit < after.Used+after.Frozen && after.State == LineActive {
		e := fenfu.Errorf(fenfu.InvalidRequest, "the limit of %s yuan would be below the %s yuan used and %s yuan frozen of the line",
			fenfu.Yuan(after.Limit), fenfu.Yuan(after.Used), fenfu.Yuan(after.Frozen))
		e.Remedy = fmt.Sprintf("Set a limit of at least %s yuan, or freeze the line with the change.", fenfu.Yuan(after.Used+after.Frozen))
		return LineChanged{}, e
	}
	if after.State != before.State {
		closedAt := int64(0)
		if after.State == LineClosed {
			closedAt = db.Micros(tx.Now)
		}
		q, a, err := lineMachine.SQL(db.Move[LineState]{From: []LineState{before.State}, To: after.State, Set: ", updated_at = $1, closed_at = $3",
			Where: "consumer_id = $2", Args: []any{db.Micros(tx.Now), c.ConsumerID, closedAt}})
		if err != nil {
			return LineChanged{}, err
		}
		if _, err := tx.ExecContext(ctx, q, a...); err != nil {
			return LineChanged{}, fmt.Errorf("credit: change line: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE credit_lines SET credit_limit = $1, rating = $2, updated_at = $3 WHERE consumer_id = $4`,
		after.Limit, after.Rating, db.Micros(tx.Now), c.ConsumerID); err != nil {
		return LineChanged{}, fmt.Errorf("credit: change line: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO credit_line_changes (change_id, consumer_id, actor, reason, limit_before, limit_after,
		rating_before, rating_after, state_before, state_after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.ConsumerID, c.Actor, c.Reason, before.Limit, after.Limit, before.Rating, after.Rating, string(before.State),
		string(after.State), db.Micros(tx.Now)); err != nil {
		return LineChanged{}, fmt.Errorf("credit: change line: %w", err)
	}
	return LineChanged{ID: c.ID, Actor: c.Actor, Reason: c.Reason, Before: before, After: after}, nil
}

// LineChanges returns the recorded changes of a consumer's line, newest
// first, at most limit.
func LineChanges(ctx context.Context, d *db.DB, consumerID string, limit int) ([]LineChanged, error) {
	rows, err := d.QueryContext(ctx, `SELECT change_id, actor, reason, limit_before, limit_after, rating_before, rating_after,
		state_before, state_after FROM credit_line_changes WHERE consumer_id = $1 ORDER BY created_at DESC, change_id LIMIT `+fmt.Sprint(limit), consumerID)
	if err != nil {
		return nil, fmt.Errorf("credit: line changes: %w", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (LineChanged, error) {
		c := LineChanged{Before: Line{ConsumerID: consumerID}, After: Line{ConsumerID: consumerID}}
		err := r.Scan(&c.ID, &c.Actor, &c.Reason, &c.Before.Limit, &c.After.Limit, &c.Before.Rating, &c.After.Rating,
			&c.Before.State, &c.After.State)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("credit: line changes: %w", err)
	}
	return out, nil
}

// Paused says why a line in state, of a consumer with o overdue, takes no
// credit payment whatever its room: it is closed, frozen, or something is
// overdue, in that order; nil if none. The payment's refusal (refuseDraw)
// and the consumer's pages both read it, so they say the same.
func Paused(state LineState, o Overdue) error {
	if state == LineClosed {
		e := fenfu.Errorf(fenfu.RuleLimit, "the consumer's credit contract has ended: its line is closed and takes no credit payment")
		e.Remedy = "Pay with another channel."
		return e
	}
	if state == LineFrozen {
		e := fenfu.Errorf(fenfu.RuleLimit, "the consumer's credit line is frozen and takes no credit payment")
		e.Remedy = "Pay with another channel; the consumer may ask platform staff why the line is frozen."
		return e
	}
	if o.Amount > 0 {
		return overdueError(o)
	}
	return nil
}

// refuseDraw says why draw refused a credit payment of amount: no line,
// a frozen line, something of the consumer overdue, or a line too short,
// in that order.
func refuseDraw(ctx context.Context, tx *db.Tx, consumerID string, amount fenfu.Fen) error {
	var state LineState
	var avail fenfu.Fen
	err := tx.QueryRowContext(ctx, `SELECT state, credit_limit - used - frozen FROM credit_lines WHERE consumer_id = $1`, consumerID).Scan(&state, &avail)
	if errors.Is(err, sql.ErrNoRows) {
		return fenfu.Errorf(fenfu.NotEnough, "the consumer has no credit line")
	}
	if err != nil {
		return fmt.Errorf("credit: line of %s: %w", consumerID, err)
	}
	o, err := OverdueOf(ctx, tx, consumerID, tx.Now)
	if err != nil {
		return fmt.Errorf("credit: overdue of %s: %w", consumerID, err)
	}
	if err := Paused(state, o); err != nil {
		return err
	}
	return fenfu.Errorf(fenfu.NotEnough, "credit line short: %s yuan available, %s yuan needed", fenfu.Yuan(max(avail, 0)), fenfu.Yuan(amount))
}

// ClosedLine is a consumer whose credit contract ended, and when.
type ClosedLine struct {
	ConsumerID string
	ClosedAt   time.Time
}

// ClosedBefore returns up to limit lines closed before t, after the
// consumer id after, in id order: the contracts whose end is older than
// retention's authorization period.
func ClosedBefore(ctx context.Context, d *db.DB, t time.Time, after string, limit int) ([]ClosedLine, error) {
	rows, err := d.QueryContext(ctx, `SELECT consumer_id, closed_at FROM credit_lines WHERE state = $1 AND closed_at > 0 AND closed_at < $2
		AND consumer_id > $3 ORDER BY `+d.ByteOrder("consumer_id")+` LIMIT `+fmt.Sprint(limit), string(LineClosed), db.Micros(t), after)
	if err != nil {
		return nil, fmt.Errorf("credit: closed lines: %w", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (l ClosedLine, err error) {
		var at int64
		err = r.Scan(&l.ConsumerID, &at)
		l.ClosedAt = db.Time(at)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("credit: closed lines: %w", err)
	}
	return out, nil
}
