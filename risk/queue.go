package risk

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// QueueState is where an alert or hold stands in the risk queue.
type QueueState string

// Queue states.
const (
	Open         QueueState = "OPEN"
	Acknowledged QueueState = "ACKNOWLEDGED" // staff looked and let it stand
	Released     QueueState = "RELEASED"     // the hold was lifted early
	Refunded     QueueState = "REFUNDED"     // the payment was refunded
)

// queue is the queue items' state machine. Every state is reached at most
// once, so an item has each action at most once.
var queue = db.Machine[QueueState]{Table: "risk_queue", Column: "state", Allowed: map[QueueState][]QueueState{
	Open:         {Acknowledged, Released, Refunded},
	Acknowledged: {Released, Refunded},
	Released:     {Refunded},
}}

// Action is a staff action on a queue item.
type Action string

// Actions, each moving an item to its state.
const (
	Acknowledge Action = "acknowledge"
	Release     Action = "release"
	RefundIt    Action = "refund"
)

var actionTo = map[Action]QueueState{Acknowledge: Acknowledged, Release: Released, RefundIt: Refunded}

// ParseAction accepts acknowledge, release or refund.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(s))
	if _, ok := actionTo[a]; !ok {
		return "", fenfu.FieldError("action", "action must be acknowledge, release or refund, not %q", s)
	}
	return a, nil
}

// Recorded is a recorded staff action.
type Recorded struct {
	Action Action    `json:"action"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Item is an alert or hold in the risk queue, with its payment's
// decision.
type Item struct {
	AttemptID   string     `json:"attempt_id"`
	OrderID     string     `json:"order_id"`
	MchID       string     `json:"mchid"`
	ConsumerID  string     `json:"consumer_id"`
	Channel     string     `json:"channel"`
	Amount      fenfu.Fen  `json:"amount"`
	Decision    Decision   `json:"decision"`
	State       QueueState `json:"state"`
	Version     int        `json:"rule_set_version"`
	Matched     []Match    `json:"matched"`
	Features    Features   `json:"features"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	RetainUntil time.Time  `json:"retain_until"`
	Actions     []Recorded `json:"actions"`
}

const itemColumns = `q.attempt_id, q.order_id, d.mchid, d.consumer_id, d.channel, d.amount, q.decision, q.state, d.version,
	d.matched, d.features, q.created_at, q.updated_at, q.retain_until`

func scanItem(sc interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var matched, features string
	var created, updated, keep int64
	if err := sc.Scan(&it.AttemptID, &it.OrderID, &it.MchID, &it.ConsumerID, &it.Channel, &it.Amount, &it.Decision, &it.State,
		&it.Version, &matched, &features, &created, &updated, &keep); err != nil {
		return it, err
	}
	if err := json.Unmarshal([]byte(matched), &it.Matched); err != nil {
		return it, err
	}
	if err := json.Unmarshal([]byte(features), &it.Features); err != nil {
		return it, err
	}
	it.CreatedAt, it.UpdatedAt, it.RetainUntil = db.Time(created), db.Time(updated), db.Time(keep)
	it.Actions = []Recorded{}
	return it, nil
}

// QueueFilter selects queue items: of State (every state if empty), of
// Decision (ALERT or HOLD) and MchID if set; a Page of them, oldest
// first.
type QueueFilter struct {
	State    QueueState
	Decision Decision
	MchID    string
	fenfu.Keyset
}

// Page sizes of Queue.
const (
	DefaultQueuePage = 100
	MaxQueuePage     = 500
)

// Queue returns a page of the queue items f selects, oldest first, and
// the cursor of the next page ("" after the last). A state's page reads
// the index of the queue by state and time.
func (e *Engine) Queue(ctx context.Context, f QueueFilter) ([]Item, string, error) {
	if f.State != "" {
		if _, ok := queue.Allowed[f.State]; !ok && f.State != Refunded {
			return nil, "", fenfu.FieldError("state", "state must be OPEN, ACKNOWLEDGED, RELEASED or REFUNDED, not %q", f.State)
		}
	}
	if f.Decision != "" && !f.Decision.Queued() {
		return nil, "", fenfu.FieldError("decision", "decision must be ALERT or HOLD, not %q", f.Decision)
	}
	key, err := f.Key(2)
	if err != nil {
		return nil, "", err
	}
	limit := f.Size(DefaultQueuePage, MaxQueuePage)
	q := `SELECT ` + itemColumns + ` FROM risk_queue q JOIN risk_decisions d ON d.attempt_id = q.attempt_id WHERE 1 = 1`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.State != "" {
		q += ` AND q.state = ` + arg(string(f.State))
	}
	if f.Decision != "" {
		q += ` AND q.decision = ` + arg(string(f.Decision))
	}
	if f.MchID != "" {
		q += ` AND d.mchid = ` + arg(f.MchID)
	}
	if key != nil {
		at, err := f.Int(key[0])
		if err != nil {
			return nil, "", err
		}
		a, b := arg(at), arg(key[1])
		// The bound on the index's column, then the row after the cursor:
		// an index range however deep the page, where an OR of the two
		// would scan the index from its start.
		q += ` AND q.created_at >= ` + a + ` AND (q.created_at, q.attempt_id) > (` + a + `, ` + b + `)`
	}
	out, err := db.All(ctx, e.DB, scanItem, q+` ORDER BY q.created_at, q.attempt_id LIMIT `+arg(limit+1), args...)
	if err != nil {
		return nil, "", fenfu.Internal("risk.Queue", err)
	}
	out, next := fenfu.NextPage(out, limit, func(it Item) []string { return []string{strconv.FormatInt(db.Micros(it.CreatedAt), 10), it.AttemptID} })
	return out, next, nil
}

// Item returns a queue item by its payment attempt or its order, with its
// recorded actions.
func (e *Engine) Item(ctx context.Context, id string) (Item, error) {
	it, err := scanItem(e.DB.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM risk_queue q JOIN risk_decisions d ON d.attempt_id = q.attempt_id
		WHERE q.attempt_id = $1 OR q.order_id = $1 ORDER BY q.created_at DESC LIMIT 1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fenfu.Errorf(fenfu.ResourceNotExists, "no alert or hold for %s in the risk queue", id)
	}
	if err != nil {
		return it, fenfu.Internal("risk.Item", err)
	}
	it.Actions, err = db.All(ctx, e.DB, func(row db.Scanner) (r Recorded, err error) {
		var at int64
		err = row.Scan(&r.Action, &r.Actor, &r.Reason, &at)
		r.At = db.Time(at)
		return r, err
	}, `SELECT action, actor, reason, created_at FROM risk_actions WHERE attempt_id = $1 ORDER BY created_at`, it.AttemptID)
	if err != nil {
		return it, fenfu.Internal("risk.Item", err)
	}
	return it, nil
}

// Act records a staff action on a queue item: it moves the item to the
// action's state and records who and why. The caller performs what the
// action means (lifting the hold, refunding) first, so a recorded action
// has always happened; acting twice is refused.
func (e *Engine) Act(ctx context.Context, attemptID string, a Action, actor, reason string) (Item, error) {
	cur, err := e.Item(ctx, attemptID)
	if err != nil {
		return Item{}, err
	}
	if err := cur.Check(a, reason); err != nil {
		return cur, err
	}
	to := actionTo[a]
	err = e.DB.Update(ctx, func(tx *db.Tx) error {
		q, args, err := queue.SQL(db.Move[QueueState]{From: []QueueState{cur.State}, To: to, Set: ", updated_at = $1",
			Where: "attempt_id = $2", Args: []any{db.Micros(tx.Now), cur.AttemptID}})
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fenfu.Errorf(fenfu.InvalidRequest, "order %s was acted on meanwhile; look again", cur.OrderID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO risk_actions (attempt_id, action, actor, reason, created_at, retain_until)
			VALUES ($1, $2, $3, $4, $5, $6)`, cur.AttemptID, string(a), actor, reason, db.Micros(tx.Now), db.Micros(retainUntil(tx.Now)))
		return err
	})
	var fe *fenfu.Error
	if errors.As(err, &fe) {
		return cur, fe
	}
	if err != nil {
		return cur, fenfu.Internal("risk.Act", err)
	}
	return e.Item(ctx, cur.AttemptID)
}

// Allowed are the actions the item's state and decision allow, in the
// order staff weigh them: acknowledge, release, refund.
func (it Item) Allowed() []Action {
	var out []Action
	for _, a := range []Action{Acknowledge, Release, RefundIt} {
		if it.Check(a, "-") == nil {
			out = append(out, a)
		}
	}
	return out
}

// Check reports why the item may not take the action for reason, if it
// may not: an action needs a reason, and moves the item to a state it may
// reach; only a hold is released.
func (it Item) Check(a Action, reason string) error {
	if strings.TrimSpace(reason) == "" || len(reason) > 512 {
		return fenfu.FieldError("reason", "say why, in up to 512 bytes; it is recorded with the action")
	}
	to, ok := actionTo[a]
	if !ok {
		return fenfu.FieldError("action", "action must be acknowledge, release or refund, not %q", a)
	}
	if !queue.Can(it.State, to) {
		return fenfu.Errorf(fenfu.InvalidRequest, "the %s of order %s is %s: it cannot be moved to %s", strings.ToLower(string(it.Decision)), it.OrderID, it.State, to)
	}
	if a == Release && it.Decision != Hold {
		return fenfu.Errorf(fenfu.InvalidRequest, "order %s has an alert, not a hold: there is nothing to release", it.OrderID)
	}
	return nil
}
