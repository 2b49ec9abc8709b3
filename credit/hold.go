package credit

// Holds: the part of a consumer's credit line a pre-authorization keeps
// frozen. A consumer who confirms a merchant's service order freezes up to
// its risk fund (Freeze); the merchant's completion captures what the
// service cost out of the hold, as an ordinary credit payment whose
// Payment.HoldID names it, and the rest is released with it; a cancelled
// or expired service order releases all of it (Release). Each freeze and
// each release is posted to the ledger: the consumer's held account
// against the platform's committed account. Nothing is owed on a hold, so
// the consumer's receivable still equals what is used of the line.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
)

// HoldState is where a hold stands.
type HoldState string

// Hold states.
const (
	HoldFrozen   HoldState = "FROZEN"   // the amount is kept from the line's available
	HoldCaptured HoldState = "CAPTURED" // a payment drew on it and released the rest
	HoldReleased HoldState = "RELEASED" // cancelled or expired: all of it returned to the line
)

var holds = db.Machine[HoldState]{Table: "credit_holds", Column: "state",
	Allowed: map[HoldState][]HoldState{HoldFrozen: {HoldCaptured, HoldReleased}}}

// Hold is a freeze of part of a consumer's line for a merchant.
type Hold struct {
	ID         string // the service order's id
	ConsumerID string
	MchID      string
	Amount     fenfu.Fen
	State      HoldState
	AttemptID  string // the payment attempt that captured it
	// ReleaseAfter is when the expiry job releases the hold if it is
	// still frozen: the service's end and the grace period.
	ReleaseAfter time.Time
}

// HeldAccount is the ledger account of what a consumer's holds freeze.
func HeldAccount(consumerID string) ledger.Account {
	return ledger.AccountOf(ledger.ConsumerHeld, consumerID)
}

// CommittedAccount is the platform's side of every frozen amount.
var CommittedAccount = ledger.AccountOf(ledger.CreditCommitted, "credit")

func holdEntries(consumerID string, amount fenfu.Fen) []ledger.Entry {
	return []ledger.Entry{ledger.Debit(HeldAccount(consumerID), amount), ledger.Credit(CommittedAccount, amount)}
}

func releaseEntries(consumerID string, amount fenfu.Fen) []ledger.Entry {
	return []ledger.Entry{ledger.Credit(HeldAccount(consumerID), amount), ledger.Debit(CommittedAccount, amount)}
}

// Freeze freezes h.Amount of the consumer's line for h in the caller's
// transaction, if the line takes it as it would a payment of the amount:
// active, with room for it beside what is used and frozen, and nothing of
// the consumer overdue (else NOT_ENOUGH or RULE_LIMIT, as refuseDraw
// says). Freezing the same hold again for the same consumer and amount is
// a no-op; a hold that has moved on fails with INVALID_REQUEST. inserted
// reports whether this call made the hold, so that only its maker undoes
// it: a confirmation sent twice must not release the other one's freeze.
func Freeze(ctx context.Context, tx *db.Tx, h Hold) (inserted bool, err error) {
	if h.Amount <= 0 {
		return false, fenfu.FieldError("risk_fund.amount", "the amount to freeze must be positive")
	}
	now := db.Micros(tx.Now)
	res, err := tx.ExecContext(ctx, `INSERT INTO credit_holds (hold_id, consumer_id, mchid, amount, state, release_after, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (hold_id) DO NOTHING`,
		h.ID, h.ConsumerID, h.MchID, h.Amount, string(HoldFrozen), db.Micros(h.ReleaseAfter), now)
	if err != nil {
		return false, fmt.Errorf("credit: freeze %s: %w", h.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		cur, err := HoldOf(ctx, tx, h.ID)
		if err != nil {
			return false, err
		}
		if cur.State == HoldFrozen && cur.ConsumerID == h.ConsumerID && cur.Amount == h.Amount {
			return false, nil
		}
		return false, fenfu.Errorf(fenfu.InvalidRequest, "the service order's credit is already %s", cur.State)
	}
	res, err = tx.ExecContext(ctx, `UPDATE credit_lines SET frozen = frozen + $1, updated_at = $2
		WHERE consumer_id = $3 AND used + frozen + $1 <= credit_limit AND state = $4 AND NOT EXISTS (SELECT 1 FROM credit_installments i
		WHERE i.consumer_id = $3 AND i.state = $5)`, h.Amount, now, h.ConsumerID, string(LineActive), string(InstallmentOverdue))
	if err != nil {
		return false, fmt.Errorf("credit: freeze %s: %w", h.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, refuseDraw(ctx, tx, h.ConsumerID, h.Amount)
	}
	if err := ledger.Open(ctx, tx, HeldAccount(h.ConsumerID)); err != nil {
		return false, err
	}
	return true, ledger.Post(ctx, tx, ledger.Txn{Kind: "hold", Ref: h.ID, Entries: holdEntries(h.ConsumerID, h.Amount)})
}

// ErrNoHold is returned for a hold that does not exist.
var ErrNoHold = errors.New("credit: no such hold")

// HoldOf reads a hold in the caller's transaction, or ErrNoHold.
func HoldOf(ctx context.Context, tx *db.Tx, id string) (Hold, error) {
	return holdBy(ctx, tx, id)
}

// GetHold reads a hold, or ErrNoHold.
func GetHold(ctx context.Context, d *db.DB, id string) (Hold, error) {
	return holdBy(ctx, d, id)
}

func holdBy(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (Hold, error) {
	h := Hold{ID: id}
	var after int64
	err := q.QueryRowContext(ctx, `SELECT consumer_id, mchid, amount, state, attempt_id, release_after FROM credit_holds WHERE hold_id = $1`, id).
		Scan(&h.ConsumerID, &h.MchID, &h.Amount, &h.State, &h.AttemptID, &after)
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNoHold
	}
	if err != nil {
		return h, fmt.Errorf("credit: hold %s: %w", id, err)
	}
	h.ReleaseAfter = db.Time(after)
	return h, nil
}

// unfreeze moves a frozen hold to state and returns its amount to the
// line's available, posting the release, in the caller's transaction. ok
// is false, and nothing changes, if the hold is not frozen.
func unfreeze(ctx context.Context, tx *db.Tx, id string, to HoldState, attempt string) (h Hold, ok bool, err error) {
	q, args, err := holds.SQL(db.Move[HoldState]{From: []HoldState{HoldFrozen}, To: to, Set: ", attempt_id = $1, updated_at = $2",
		Where: "hold_id = $3", Returning: "consumer_id, mchid, amount", Args: []any{attempt, db.Micros(tx.Now), id}})
	if err != nil {
		return h, false, err
	}
	h = Hold{ID: id, State: to, AttemptID: attempt}
	err = tx.QueryRowContext(ctx, q, args...).Scan(&h.ConsumerID, &h.MchID, &h.Amount)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("credit: release hold %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE credit_lines SET frozen = frozen - $1, updated_at = $2 WHERE consumer_id = $3`,
		h.Amount, db.Micros(tx.Now), h.ConsumerID); err != nil {
		return h, false, fmt.Errorf("credit: release hold %s: %w", id, err)
	}
	return h, true, ledger.Post(ctx, tx, ledger.Txn{Kind: "hold_release", Ref: id, Entries: releaseEntries(h.ConsumerID, h.Amount)})
}

// Release releases a frozen hold, all of it, in the caller's transaction,
// and returns the hold's final state: RELEASED, or CAPTURED if a payment
// captured it first (which the caller must not undo). Releasing a hold
// that does not exist returns ErrNoHold; releasing twice is a no-op.
func Release(ctx context.Context, tx *db.Tx, id string) (HoldState, error) {
	if _, ok, err := unfreeze(ctx, tx, id, HoldReleased, ""); err != nil || ok {
		return HoldReleased, err
	}
	h, err := HoldOf(ctx, tx, id)
	return h.State, err
}

// captureHold releases the hold a payment captures and draws the payment
// on the line, in the payment's transaction. The draw skips the room,
// state and overdue checks of an ordinary payment: the consumer committed
// the amount when it froze it, so a line frozen by staff or a consumer
// fallen overdue since does not leave the merchant unpaid for a service
// it delivered. The payment may not exceed the hold, nor be another
// consumer's or merchant's.
func captureHold(ctx context.Context, tx *db.Tx, p Payment) error {
	h, ok, err := unfreeze(ctx, tx, p.HoldID, HoldCaptured, p.AttemptID)
	if err != nil {
		return err
	}
	if !ok {
		cur, err := HoldOf(ctx, tx, p.HoldID)
		if err != nil {
			return err
		}
		e := fenfu.Errorf(fenfu.InvalidRequest, "the service order's frozen credit was already %s", cur.State)
		e.Remedy = "Query the service order: it was completed, cancelled or expired."
		return e
	}
	if h.ConsumerID != p.ConsumerID || h.MchID != p.MchID {
		return fmt.Errorf("credit: hold %s belongs to %s at %s, not %s at %s", p.HoldID, h.ConsumerID, h.MchID, p.ConsumerID, p.MchID)
	}
	if p.Amount > h.Amount {
		return fenfu.Errorf(fenfu.InvalidRequest, "%s yuan exceeds the %s yuan frozen for the service order", fenfu.Yuan(p.Amount), fenfu.Yuan(h.Amount))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE credit_lines SET used = used + $1, updated_at = $2 WHERE consumer_id = $3`,
		p.Amount, db.Micros(tx.Now), p.ConsumerID); err != nil {
		return fmt.Errorf("credit: capture %s: %w", p.AttemptID, err)
	}
	return nil
}

// DueHolds returns up to limit holds still frozen whose release is due
// at now, oldest first.
func DueHolds(ctx context.Context, d *db.DB, now time.Time, limit int) ([]string, error) {
	ids, err := d.Strings(ctx, `SELECT hold_id FROM credit_holds WHERE state = $1 AND release_after <= $2
		ORDER BY release_after, hold_id LIMIT `+fmt.Sprint(limit), string(HoldFrozen), db.Micros(now))
	if err != nil {
		return nil, fmt.Errorf("credit: due holds: %w", err)
	}
	return ids, nil
}

// verifyHolds proves the holds: every line's frozen amount is the sum of
// its FROZEN holds and the balance of its held account; every hold has
// its freeze posted and every hold no longer frozen its release; every
// CAPTURED hold names a captured payment of its consumer no larger than
// the hold.
func verifyHolds(ctx context.Context, d *db.DB) error {
	if err := matchBalances(ctx, d, ledger.ConsumerHeld, "frozen holds differ from held account",
		`SELECT consumer_id, SUM(amount) FROM credit_holds WHERE state = 'FROZEN' GROUP BY consumer_id`); err != nil {
		return err
	}
	if err := matchBalances(ctx, d, ledger.ConsumerHeld, "line's frozen amount differs from held account",
		`SELECT consumer_id, frozen FROM credit_lines WHERE frozen <> 0`); err != nil {
		return err
	}
	order := d.ByteOrder("hold_id")
	if err := proveRows(ctx, d, ledger.Proof{Kind: "hold", Missing: "hold without its freeze posted", Extra: "freeze posting without a hold"},
		`SELECT hold_id, consumer_id, amount FROM credit_holds ORDER BY `+order, func(rows db.Scanner) (ledger.Want, error) {
			var id, consumerID string
			var amount fenfu.Fen
			err := rows.Scan(&id, &consumerID, &amount)
			return ledger.Want{Ref: id, Entries: holdEntries(consumerID, amount)}, err
		}); err != nil {
		return err
	}
	if err := proveRows(ctx, d, ledger.Proof{Kind: "hold_release", Missing: "ended hold without its release posted",
		Extra: "release posting without an ended hold"},
		`SELECT hold_id, consumer_id, amount FROM credit_holds WHERE state <> 'FROZEN' ORDER BY `+order, func(rows db.Scanner) (ledger.Want, error) {
			var id, consumerID string
			var amount fenfu.Fen
			err := rows.Scan(&id, &consumerID, &amount)
			return ledger.Want{Ref: id, Entries: releaseEntries(consumerID, amount)}, err
		}); err != nil {
		return err
	}
	var id string
	err := d.R.QueryRowContext(ctx, `SELECT h.hold_id FROM credit_holds h LEFT JOIN credit_payments p ON p.attempt_id = h.attempt_id
		AND p.state = 'CAPTURED' AND p.consumer_id = h.consumer_id AND p.amount <= h.amount
		WHERE h.state = 'CAPTURED' AND p.attempt_id IS NULL ORDER BY h.hold_id LIMIT 1`).Scan(&id)
	if err == nil {
		return &ledger.Problem{Store: d.Name, What: "captured hold without its payment", Detail: "hold " + id}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// ScanHolds calls fn for every hold in hold-id byte order (db.ByteOrder),
// so the core store's service orders can be proved against them without
// loading either.
func ScanHolds(ctx context.Context, d *db.DB, fn func(Hold) error) error {
	rows, err := d.QueryContext(ctx, `SELECT hold_id, consumer_id, mchid, amount, state, attempt_id, release_after FROM credit_holds
		ORDER BY `+d.ByteOrder("hold_id"))
	if err != nil {
		return err
	}
	return db.Each(rows, func(r db.Scanner) (h Hold, err error) {
		var after int64
		err = r.Scan(&h.ID, &h.ConsumerID, &h.MchID, &h.Amount, &h.State, &h.AttemptID, &after)
		h.ReleaseAfter = db.Time(after)
		return h, err
	}, fn)
}
