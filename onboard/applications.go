package onboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/seal"
)

// State is an application's state.
type State string

// Application states.
const (
	Draft        State = "draft"
	Submitted    State = "submitted"
	Checking     State = "checking"
	InReview     State = "in_review"
	MoreMaterial State = "more_material"
	Approved     State = "approved"
	Rejected     State = "rejected"
	DepositPaid  State = "deposit_paid"
	Active       State = "active"
	Suspended    State = "suspended"
	Closed       State = "closed" // the merchant left; its deposit was refunded
)

// applications is the application state machine; a change not listed is
// an error.
var applications = db.Machine[State]{Table: "applications", Column: "state", Allowed: map[State][]State{
	Draft:        {Submitted},
	Submitted:    {Checking},
	Checking:     {InReview, Rejected},
	InReview:     {Approved, Rejected, MoreMaterial},
	MoreMaterial: {Submitted},
	Approved:     {DepositPaid},
	DepositPaid:  {Active},
	Active:       {Suspended, Closed},
	Suspended:    {Active, Closed},
	Closed:       nil,
	Rejected:     nil,
}}

// CanTransition reports whether the state machine allows from → to.
func CanTransition(from, to State) bool { return applications.Can(from, to) }

// ParseState accepts the name of an application state.
func ParseState(s string) (State, error) {
	if _, ok := applications.Allowed[State(s)]; !ok {
		return "", fenfu.FieldError("state", "state %q is not an application state (draft, submitted, checking, in_review, more_material, approved, rejected, deposit_paid, active, suspended, closed)", s)
	}
	return State(s), nil
}

// CreditBureau answers whether the payment-industry risk list names a
// business licence.
type CreditBureau interface {
	Listed(ctx context.Context, licenceNumber string) (bool, string, error)
}

// Service runs applications in the core store.
type Service struct {
	DB     *db.DB
	Policy Policy
	Bureau CreditBureau
	IDs    fenfu.IDs
	Clock  fenfu.Clock
	// Merchants, if set, has its cached merchant dropped when a
	// permission changes, so this node applies it at once.
	Merchants *merchant.Service
	// Sealer seals the personal fields of applications and of the risk
	// list at rest (see personal). Every command sets it; without it an
	// application with an account is refused and the other fields are
	// stored as given (tests of other packages).
	Sealer *seal.Sealer
}

// SettlementAccount returns the full settlement bank account of a
// merchant's active application, for the settlement batch.
func (s *Service) SettlementAccount(ctx context.Context, mchid string) (BankAccount, error) {
	var id, data string
	err := s.DB.QueryRowContext(ctx, `SELECT id, data FROM applications WHERE mchid = $1 AND state IN ($2, $3)
		ORDER BY updated_at DESC LIMIT 1`, mchid, Active, Suspended).Scan(&id, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return BankAccount{}, fenfu.Errorf(fenfu.ResourceNotExists, "merchant %s has no active application", mchid)
	}
	if err != nil {
		return BankAccount{}, fenfu.Internal("onboard.SettlementAccount", err)
	}
	a, err := s.decode(id, data, true)
	if err != nil {
		return BankAccount{}, fenfu.Internal("onboard.SettlementAccount", err)
	}
	if a.SettlementAccount == nil {
		return BankAccount{}, fenfu.Errorf(fenfu.ResourceNotExists, "merchant %s gave no settlement account", mchid)
	}
	return *a.SettlementAccount, nil
}

// Record is a stored application with its state, history and checks.
type Record struct {
	ID          string      `json:"id"`
	MchID       string      `json:"mchid"`
	State       State       `json:"state"`
	Application Application `json:"application"`
	Policy      string      `json:"policy_version,omitempty"`
	Checks      []Check     `json:"checks"`
	Events      []Event     `json:"events"`
}

// Event is one recorded state change.
type Event struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Create starts a draft application for a merchant.
func (s *Service) Create(ctx context.Context, mchid string, a Application) (Record, error) {
	id := "app_" + s.IDs.New(fenfu.RequestID, s.Clock.Now())
	data, err := s.encode(id, a)
	if err != nil {
		return Record{}, fenfu.Op("onboard.Create", err)
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := merchant.Exists(ctx, tx, mchid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO applications (id, mchid, state, industry, data, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, id, mchid, string(Draft), a.Industry, string(data), db.Micros(tx.Now))
		return err
	})
	if err != nil {
		return Record{}, fenfu.Op("onboard.Create", err)
	}
	return s.Get(ctx, id)
}

// Submit submits a draft (or an application asked for more material),
// runs the automatic checks and moves it on: to manual review if every
// check passed, else to rejected with the checks' reasons. Every step is
// recorded.
func (s *Service) Submit(ctx context.Context, id, actor string) (Record, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return r, err
	}
	now := s.Clock.Now()
	a := r.Application
	a.SubmittedAt = now
	facts, err := s.facts(ctx, r.MchID, a)
	if err != nil {
		return r, err
	}
	checks := Evaluate(s.Policy, a, facts)
	full, err := s.fullApplication(ctx, id)
	if err != nil {
		return r, err
	}
	full.SubmittedAt = now
	data, err := s.encode(id, full)
	if err != nil {
		return r, fenfu.Op("onboard.Submit", err)
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := transition(ctx, tx, id, r.State, Submitted, actor, "submitted"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE applications SET data = $1, submitted_at = $2, policy_version = $3 WHERE id = $4`,
			string(data), db.Micros(now), s.Policy.Version, id); err != nil {
			return err
		}
		if err := transition(ctx, tx, id, Submitted, Checking, "system", "automatic checks under policy "+s.Policy.Version); err != nil {
			return err
		}
		for _, c := range checks {
			if _, err := tx.ExecContext(ctx, `INSERT INTO application_checks (application_id, name, passed, reason, at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id, name) DO UPDATE SET passed = EXCLUDED.passed,
				reason = EXCLUDED.reason, at = EXCLUDED.at`, id, c.Name, db.Flag(c.Passed), c.Reason, db.Micros(tx.Now)); err != nil {
				return err
			}
		}
		if Passed(checks) {
			return transition(ctx, tx, id, Checking, InReview, "system", "every automatic check passed")
		}
		return transition(ctx, tx, id, Checking, Rejected, "system", failedReasons(checks))
	})
	if err != nil {
		return r, fenfu.Op("onboard.Submit", err)
	}
	return s.Get(ctx, id)
}

// Review is staff's decision on an application in review: approve,
// reject, or ask for more material; reason is shown to the merchant.
func (s *Service) Review(ctx context.Context, id, decision, staff, reason string) (Record, error) {
	to := map[string]State{"approve": Approved, "reject": Rejected, "request_material": MoreMaterial}[decision]
	if to == "" {
		return Record{}, fenfu.FieldError("decision", "decision must be approve, reject or request_material")
	}
	if reason == "" {
		return Record{}, fenfu.FieldError("reason", "a review decision needs a reason the merchant can read")
	}
	cur, err := s.Get(ctx, id)
	if err != nil {
		return cur, err
	}
	if cur.State != InReview {
		return cur, fenfu.Errorf(fenfu.InvalidRequest, "an application cannot go from %s to %s; only one in review is decided", cur.State, to)
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		return transition(ctx, tx, id, InReview, to, staff, reason)
	})
	if err != nil {
		return Record{}, fenfu.Op("onboard.Review", err)
	}
	return s.Get(ctx, id)
}

// fullApplication reads an application with its bank account whole.
func (s *Service) fullApplication(ctx context.Context, id string) (Application, error) {
	var data string
	if err := s.DB.QueryRowContext(ctx, `SELECT data FROM applications WHERE id = $1`, id).Scan(&data); err != nil {
		return Application{}, fenfu.Internal("onboard.fullApplication", err)
	}
	a, err := s.decode(id, data, true)
	if err != nil {
		return a, fenfu.Internal("onboard.fullApplication", err)
	}
	return a, nil
}

// transition moves an application from one state to another, in the
// caller's transaction, refusing changes the state machine does not allow
// and changes that raced with another.
func transition(ctx context.Context, tx *db.Tx, id string, from, to State, actor, reason string) error {
	if !CanTransition(from, to) {
		return fenfu.Errorf(fenfu.InvalidRequest, "an application cannot go from %s to %s", from, to)
	}
	q, args, err := applications.SQL(db.Move[State]{From: []State{from}, To: to, Set: ", updated_at = $1", Where: "id = $2",
		Args: []any{db.Micros(tx.Now), id}})
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fenfu.Errorf(fenfu.InvalidRequest, "application %s is no longer %s", id, from)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO application_events (application_id, seq, from_state, to_state, actor, reason, at)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM application_events WHERE application_id = $1), $2, $3, $4, $5, $6)`,
		id, string(from), string(to), actor, reason, db.Micros(tx.Now))
	return err
}

// facts gathers what the checks need beyond the application.
func (s *Service) facts(ctx context.Context, mchid string, a Application) (Facts, error) {
	f := Facts{OrdinaryByMonth: map[string]int{}}
	months := HistoryMonths(a.SubmittedAt, s.Policy.HistoryMonths)
	for _, m := range months {
		start, _ := time.ParseInLocation("2006-01", m, fenfu.Shanghai)
		end := start.AddDate(0, 1, 0)
		var imported int
		own, err := pay.CountPaid(ctx, s.DB, mchid, pay.ChannelBalance, start, end)
		if err != nil {
			return f, err
		}
		err = s.DB.QueryRowContext(ctx, `SELECT ordinary_count FROM merchant_history WHERE mchid = $1 AND month = $2`, mchid, m).Scan(&imported)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return f, fenfu.Internal("onboard.facts", err)
		}
		f.OrdinaryByMonth[m] = own + imported
	}
	if s.Bureau != nil && a.LicenceNumber != "" {
		listed, why, err := s.Bureau.Listed(ctx, a.LicenceNumber)
		if err != nil {
			return f, fenfu.Internal("onboard.facts", fmt.Errorf("credit bureau: %w", err))
		}
		f.Blacklisted, f.BlacklistReason = listed, why
	}
	return f, nil
}

// Get returns an application with its checks and history.
func (s *Service) Get(ctx context.Context, id string) (Record, error) {
	return s.get(ctx, id, false)
}

// GetClear returns an application as Get does, with its bank account in
// the clear, for staff who may see personal data.
func (s *Service) GetClear(ctx context.Context, id string) (Record, error) {
	return s.get(ctx, id, true)
}

func (s *Service) get(ctx context.Context, id string, full bool) (Record, error) {
	r := Record{ID: id, Checks: []Check{}, Events: []Event{}}
	var data string
	err := s.DB.QueryRowContext(ctx, `SELECT mchid, state, data, policy_version FROM applications WHERE id = $1`, id).
		Scan(&r.MchID, &r.State, &data, &r.Policy)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fenfu.Errorf(fenfu.ResourceNotExists, "application %s does not exist", id)
	}
	if err != nil {
		return r, fenfu.Internal("onboard.Get", err)
	}
	if r.Application, err = s.decode(id, data, full); err != nil {
		return r, fenfu.Internal("onboard.Get", err)
	}
	r.Checks, err = db.All(ctx, s.DB, func(sc db.Scanner) (c Check, err error) {
		var passed int
		err = sc.Scan(&c.Name, &passed, &c.Reason)
		c.Passed = passed == 1
		return c, err
	}, `SELECT name, passed, reason FROM application_checks WHERE application_id = $1 ORDER BY name`, id)
	if err != nil {
		return r, fenfu.Internal("onboard.Get", err)
	}
	r.Events, err = db.All(ctx, s.DB, func(sc db.Scanner) (e Event, err error) {
		var at int64
		err = sc.Scan(&e.From, &e.To, &e.Actor, &e.Reason, &at)
		e.At = db.Time(at)
		return e, err
	}, `SELECT from_state, to_state, actor, reason, at FROM application_events WHERE application_id = $1 ORDER BY seq`, id)
	if err != nil {
		return r, fenfu.Internal("onboard.Get", err)
	}
	return r, nil
}

func failedReasons(cs []Check) string {
	var ps []string
	for _, c := range cs {
		if !c.Passed {
			ps = append(ps, c.Name+": "+c.Reason)
		}
	}
	return joinReasons(ps)
}

// Industry returns the industry of a merchant's latest application, or ""
// for a merchant that never applied (a sandbox merchant).
func (s *Service) Industry(ctx context.Context, mchid string) (string, error) {
	var industry string
	err := s.DB.QueryRowContext(ctx, `SELECT industry FROM applications WHERE mchid = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, mchid).Scan(&industry)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fenfu.Internal("onboard.Industry", err)
	}
	return industry, nil
}
