package complaint

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
)

// Escalate hands every complaint whose merchant has not answered by its
// SLA to platform staff, and tells the merchant so (RESPONSE_BY_PLATFORM).
// It returns how many it escalated. Any number of nodes may run it at
// once: each complaint moves from NONE to ESCALATED once.
func (s *Service) Escalate(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	// The literals match the partial index complaints_overdue.
	ids, err := s.Credit.Strings(ctx, `SELECT complaint_id FROM complaints WHERE first_response_at = 0 AND escalation = 'NONE'
		AND state = 'PENDING' AND respond_by <= $1 ORDER BY respond_by LIMIT 500`, db.Micros(now))
	if err != nil {
		return 0, fenfu.Internal("complaint.Escalate", err)
	}
	n := 0
	for _, id := range ids {
		var did bool
		err := s.Credit.Update(ctx, func(tx *db.Tx) error {
			did = false
			q, args, err := escalations.SQL(db.Move[Escalation]{From: []Escalation{NotEscalated}, To: Escalated, Set: ", escalated_at = $1",
				Where: "complaint_id = $2 AND first_response_at = 0 AND respond_by <= $1 AND state = $3",
				Args:  []any{db.Micros(tx.Now), id, string(Pending)}})
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return nil // answered, or escalated by another node, meanwhile
			}
			did = true
			return s.record(ctx, tx, id, Entry{Operator: OperatorPlatform, OperateType: OpPlatformResponse,
				Details: "The merchant did not answer within " + s.sla().String() + "; platform staff have taken up the complaint."},
				ActionPlatformResponse)
		})
		if err != nil {
			return n, fenfu.Op("complaint.Escalate", err)
		}
		if did {
			n++
			s.log().Warn("complaint escalated: the merchant missed its SLA", "complaint_id", id)
			s.carryOut(ctx, id)
		}
	}
	return n, nil
}

// Note adds a staff member's note to a complaint's history, seen by the
// consumer and the merchant (RESPONSE_BY_PLATFORM).
func (s *Service) Note(ctx context.Context, staff, id, note string) (Entry, error) {
	if err := staffName(staff); err != nil {
		return Entry{}, err
	}
	if err := fenfu.Words("note", note, MaxNote, false); err != nil {
		return Entry{}, err
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		var err error
		e, err = s.entry(ctx, tx, c.ID, Entry{Operator: staff, OperateType: OpPlatformResponse, Details: note}, ActionPlatformResponse)
		return err
	})
	if err != nil {
		return Entry{}, fenfu.Op("complaint.Note", err)
	}
	s.carryOut(ctx, c.ID)
	return e, nil
}

// Resolve closes an escalated complaint with staff's resolution: the
// complaint is PROCESSED, its hold on the order lifted, and the merchant
// told (PLATFORM_SERVICE_FINISHED). The resolution, and who gave it, are
// kept with the complaint and in its history.
func (s *Service) Resolve(ctx context.Context, staff, id, resolution string) (Complaint, error) {
	if err := staffName(staff); err != nil {
		return Complaint{}, err
	}
	if err := fenfu.Words("resolution", resolution, MaxNote, false); err != nil {
		return Complaint{}, err
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return Complaint{}, err
	}
	if c.Escalation != Escalated {
		return Complaint{}, fenfu.Errorf(fenfu.InvalidRequest, "complaint %s is not escalated (%s); staff resolve escalated complaints", id, c.Escalation)
	}
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		now := db.Micros(tx.Now)
		q, args, err := escalations.SQL(db.Move[Escalation]{From: []Escalation{Escalated}, To: Resolved,
			Set: ", resolved_at = $1, resolved_by = $2, resolution = $3", Where: "complaint_id = $4", Args: []any{now, staff, resolution, c.ID}})
		if err != nil {
			return err
		}
		if err := moved(ctx, tx, q, args, c.ID, "resolved"); err != nil {
			return err
		}
		if q, args, err = states.SQL(db.Move[State]{From: []State{Pending, Processing}, To: Processed, Set: ", completed_at = $1",
			Where: "complaint_id = $2", Args: []any{now, c.ID}}); err != nil {
			return err
		}
		if err := moved(ctx, tx, q, args, c.ID, "resolved"); err != nil {
			return err
		}
		if err := releaseHold(ctx, tx, c.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, c.ID, Entry{Operator: staff, OperateType: OpPlatformFinished, Details: resolution}, ActionPlatformFinished)
	})
	if err != nil {
		return Complaint{}, fenfu.Op("complaint.Resolve", err)
	}
	s.carryOut(ctx, c.ID)
	return s.Get(ctx, c.ID)
}

// Notice is what a complaint notification says: the complaint and what
// happened to it.
type Notice struct {
	LogID       string
	ComplaintID string
	MchID       string
	ActionType  string
	At          time.Time
}

// EventType is the notification's event_type: COMPLAINT.CREATE for a new
// complaint, COMPLAINT.STATE_CHANGE for anything after.
func (n Notice) EventType() string {
	if n.ActionType == ActionCreate {
		return "COMPLAINT.CREATE"
	}
	return "COMPLAINT.STATE_CHANGE"
}

// NoticeOf returns the notification of a history entry, for the renderer
// of the outbox.
func (s *Service) NoticeOf(ctx context.Context, logID string) (Notice, error) {
	n := Notice{LogID: logID}
	var at int64
	err := s.Credit.QueryRowContext(ctx, `SELECT h.complaint_id, c.mchid, h.action_type, h.created_at FROM complaint_history h
		JOIN complaints c ON c.complaint_id = h.complaint_id WHERE h.log_id = $1`, logID).Scan(&n.ComplaintID, &n.MchID, &n.ActionType, &at)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && n.ActionType == "") {
		return n, fenfu.Errorf(fenfu.ResourceNotExists, "no complaint notification %s", logID)
	}
	if err != nil {
		return n, fenfu.Internal("complaint.NoticeOf", err)
	}
	n.At = db.Time(at)
	return n, nil
}

// Sweep carries out what complaints' transactions left to do in the core
// store, which no transaction of theirs can reach: it puts pending
// notifications in the outbox, places the holds complaints want on their
// orders and lifts those of closed complaints.
//
// Each is written first as an intention in the credit store, in the
// transaction of the act that causes it (an entry with notify PENDING, a
// complaint with hold WANTED or RELEASING), then carried out in the core
// store, then marked done. The request that made the act carries it out
// at once; Sweep, run by every node in the background, carries out what a
// failure or a crash left between the two stores. Carrying out twice is
// harmless: the outbox takes one row per event (its ref is the entry's
// log_id, and Enqueue of a ref it has changes nothing), and a hold is
// placed and lifted by the complaint's reason on the order. So a crash
// between the two commits delays a notification or a hold until the next
// sweep, and never loses it.
func (s *Service) Sweep(ctx context.Context) error {
	return s.sweep(ctx, "")
}

// carryOut carries out one complaint's intentions after the act that made
// them; what fails is left to Sweep.
func (s *Service) carryOut(ctx context.Context, id string) {
	if s.crashAfterCommit != nil && s.crashAfterCommit() != nil {
		return
	}
	if err := s.sweep(ctx, id); err != nil {
		s.log().Warn("complaint: left to the sweep", "complaint_id", id, "error", err)
	}
}

func (s *Service) sweep(ctx context.Context, id string) error {
	one, args := "", []any{}
	if id != "" {
		one, args = " AND c.complaint_id = $1", []any{id}
	}
	type note struct{ logID, mchid string }
	pending, err := db.All(ctx, s.Credit, func(r db.Scanner) (n note, err error) {
		err = r.Scan(&n.logID, &n.mchid)
		return n, err
	}, `SELECT h.log_id, c.mchid FROM complaint_history h JOIN complaints c
		ON c.complaint_id = h.complaint_id WHERE h.notify = 'PENDING'`+one+` ORDER BY h.created_at LIMIT 200`, args...)
	if err != nil {
		return fenfu.Internal("complaint.Sweep", err)
	}
	var errs []error
	for _, n := range pending {
		errs = append(errs, s.enqueue(ctx, n.logID, n.mchid))
	}
	cs, err := db.All(ctx, s.Credit, scan, `SELECT `+columns+` FROM complaints c WHERE hold IN ('WANTED', 'RELEASING')`+one+
		` ORDER BY updated_at LIMIT 200`, args...)
	if err != nil {
		return errors.Join(append(errs, fenfu.Internal("complaint.Sweep", err))...)
	}
	for _, c := range cs {
		if c.Hold == HoldWanted {
			errs = append(errs, s.place(ctx, c))
		} else {
			errs = append(errs, s.release(ctx, c))
		}
	}
	return errors.Join(errs...)
}

// enqueue puts an entry's notification in the outbox, to the merchant's
// complaint URL as it is now, or marks that there is none to send.
func (s *Service) enqueue(ctx context.Context, logID, mchid string) error {
	to := NotifyEnqueued
	u, err := s.NotifyURL(ctx, mchid)
	switch {
	case fenfu.ErrorCode(err) == fenfu.ResourceNotExists:
		to = NotifyNone
	case err != nil:
		return err
	default:
		if err := s.Core.Update(ctx, func(tx *db.Tx) error {
			return notify.Enqueue(ctx, tx, notify.Subject{Kind: notify.Complaint, ID: logID, MchID: mchid, NotifyURL: u})
		}); err != nil {
			return fenfu.Internal("complaint.enqueue", err)
		}
	}
	q, args, err := notices.SQL(db.Move[NotifyState]{From: []NotifyState{NotifyPending}, To: to, Where: "log_id = $1", Args: []any{logID}})
	if err == nil {
		_, err = s.Credit.Exec(ctx, q, args...)
	}
	return fenfu.Op("complaint.enqueue", err)
}

func holdReason(id string) string { return "complaint " + id }

// place holds a complaint's order out of settlement while the complaint
// is open. An order already held for another reason stays held for it
// too: the complaint keeps what it found (restored when the complaint
// closes) and holds the order at least until its own limit. A settled or
// unpaid order has nothing to hold.
func (s *Service) place(ctx context.Context, c Complaint) error {
	o, err := s.Orders.Get(ctx, c.TransactionID)
	if err != nil {
		return err
	}
	reason, now := holdReason(c.ID), s.Clock.Now()
	to := HoldPlaced
	switch {
	case o.SettlementID != "" || (o.State != pay.Success && o.State != pay.Refund):
		to = HoldNone
	case strings.HasSuffix(o.HoldReason, reason):
		// placed before a failure kept it from being marked
	default:
		prevUntil, prevReason := time.Time{}, ""
		if o.HoldUntil.After(now) {
			prevUntil, prevReason = o.HoldUntil, o.HoldReason
		}
		// What was found is kept first, so that a crash after the hold
		// below still restores it.
		if _, err := s.Credit.Exec(ctx, `UPDATE complaints SET hold_prev_until = $1, hold_prev_reason = $2 WHERE complaint_id = $3 AND hold = $4`,
			db.Micros(prevUntil), prevReason, c.ID, string(HoldWanted)); err != nil {
			return fenfu.Internal("complaint.place", err)
		}
		until := c.CreatedAt.Add(s.holdFor())
		if prevUntil.After(until) {
			until = prevUntil
		}
		r := reason
		if prevReason != "" {
			r = prevReason + "; " + reason
		}
		if s.beforeHold != nil {
			s.beforeHold()
		}
		if err := pay.Hold(ctx, s.Core, o.ID, until, r); err != nil {
			if fenfu.ErrorCode(err) != fenfu.InvalidRequest {
				return err
			}
			to = HoldNone // settled or refunded away meanwhile
		}
	}
	q, args, err := holds.SQL(db.Move[HoldState]{From: []HoldState{HoldWanted}, To: to, Where: "complaint_id = $1", Args: []any{c.ID}})
	if err != nil {
		return fenfu.Internal("complaint.place", err)
	}
	res, err := s.Credit.Exec(ctx, q, args...)
	if err != nil {
		return fenfu.Internal("complaint.place", err)
	}
	if n, _ := res.RowsAffected(); n == 0 && to == HoldPlaced {
		// The complaint closed while its hold was being placed, and its
		// release may have looked at the order before the hold was on it:
		// lift it here, as the release would have.
		return s.restore(ctx, c)
	}
	return nil
}

// release lifts a closed complaint's hold: the order goes back to the
// hold it had before the complaint, if that has not ended, or to none.
// A hold that someone has since changed (staff released the order, or
// held it for something else) is left as it is.
func (s *Service) release(ctx context.Context, c Complaint) error {
	if err := s.restore(ctx, c); err != nil {
		return err
	}
	q, args, err := holds.SQL(db.Move[HoldState]{From: []HoldState{HoldReleasing}, To: HoldReleased, Where: "complaint_id = $1", Args: []any{c.ID}})
	if err == nil {
		_, err = s.Credit.Exec(ctx, q, args...)
	}
	return fenfu.Op("complaint.release", err)
}

// restore gives the order of a closed complaint the hold it had before,
// if the complaint's hold is still on it.
func (s *Service) restore(ctx context.Context, c Complaint) error {
	o, err := s.Orders.Get(ctx, c.TransactionID)
	if err != nil {
		return err
	}
	if o.SettlementID == "" && strings.HasSuffix(o.HoldReason, holdReason(c.ID)) {
		var prevUntil int64
		var prevReason string
		if err := s.Credit.QueryRowContext(ctx, `SELECT hold_prev_until, hold_prev_reason FROM complaints WHERE complaint_id = $1`,
			c.ID).Scan(&prevUntil, &prevReason); err != nil {
			return fenfu.Internal("complaint.restore", err)
		}
		until := db.Time(prevUntil)
		if !until.After(s.Clock.Now()) {
			until, prevReason = time.Time{}, ""
		}
		if err := pay.Hold(ctx, s.Core, o.ID, until, prevReason); err != nil && fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			return err
		}
	}
	return nil
}

// Run escalates overdue complaints and sweeps, every interval, until ctx
// ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Escalate(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("complaint escalation", "error", err)
		}
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("complaint sweep", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
