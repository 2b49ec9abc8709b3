package notify

import (
	"context"

	"github.com/fenfu/fenfu/db"
)

// State is where an event's delivery stands.
type State string

// Delivery states.
const (
	Pending   State = "PENDING"   // due at due_at, or being attempted
	Delivered State = "DELIVERED" // the merchant acknowledged it
	Failed    State = "FAILED"    // the retry schedule ran out
)

// events is an event's state machine: a pending event is attempted until
// delivered or given up (or attempted again, later); a merchant may have
// any event sent again, which makes it pending.
var events = db.Machine[State]{Table: "notify_outbox", Column: "state", Allowed: map[State][]State{
	Pending:   {Pending, Delivered, Failed},
	Delivered: {Pending},
	Failed:    {Pending},
}}

// Kind is what a notification is about.
type Kind string

// Kinds.
const (
	Transaction Kind = "transaction"
	Refund      Kind = "refund"
	Complaint   Kind = "complaint" // an act on a consumer's complaint; ID is its history entry's log_id
	// PayScore is an event of a service order (pre-authorization): ID is
	// the service order's id, "-" and the event (USER_CONFIRM, USER_PAID).
	PayScore Kind = "payscore"
)

// Subject is what a notification is about and where it goes.
type Subject struct {
	Kind      Kind
	ID        string // order id (transaction_id), refund id or complaint log_id
	MchID     string
	NotifyURL string
}

// EventID returns the notification's event id.
func (s Subject) EventID() string { return "EV-" + s.ID }

// Enqueue makes a notification due now, in the caller's transaction: the
// one that makes the payment or refund succeed, so the two commit
// together or not at all. Enqueuing the same subject again changes
// nothing; a notification is sent once per event (Resend sends it again).
// The row goes with the transaction's next statement or its commit
// (db.Tx.Later): on PostgreSQL no round trip of its own.
func Enqueue(ctx context.Context, tx *db.Tx, s Subject) error {
	now := db.Micros(tx.Now)
	tx.Ring(OutboxBell) // wake this process's worker once the transaction commits
	return tx.Later(ctx, `INSERT INTO notify_outbox (kind, ref, mchid, notify_url, state, due_at, created_at, pending_since)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $6) ON CONFLICT (ref) DO NOTHING`,
		string(s.Kind), s.ID, s.MchID, s.NotifyURL, string(Pending), now)
}
