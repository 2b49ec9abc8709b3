// Package complaint owns consumers' complaints about their paid orders,
// the fast lane of SPEC §4, modelled on WeChat Pay's consumer complaints
// 2.0: a consumer files a complaint on an order; the merchant reads it,
// answers it and marks it handled; a merchant that does not answer within
// the SLA has its complaint escalated to platform staff, who add notes and
// resolve it. Each act is an entry of the complaint's negotiation history
// and, where WeChat sends one, a complaint notification to the merchant's
// complaint URL. A complaint keeps its order out of settlement while it
// is open.
//
// The complaints, their history and the merchants' complaint URLs are
// risk records in the credit store, kept with the date their retention
// ends (3 years). The notifications go out through the core store's
// outbox and the holds are placed on the core store's orders: neither
// commits with the complaint, so both are written as intentions in the
// complaint's own transaction and carried out afterwards, by the request
// that made them and, after any failure or crash, by Sweep (see Sweep).
package complaint

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// State is a complaint's complaint_state, as WeChat names it.
type State string

// Complaint states.
const (
	Pending    State = "PENDING"    // filed; the merchant has not answered
	Processing State = "PROCESSING" // the merchant has answered
	Processed  State = "PROCESSED"  // the merchant or platform staff closed it
)

// states is the complaint state machine. A merchant may answer again while
// it handles a complaint (PROCESSING → PROCESSING); staff may close one
// the merchant never answered.
var states = db.Machine[State]{Table: "complaints", Column: "state", Allowed: map[State][]State{
	Pending:    {Processing, Processed},
	Processing: {Processing, Processed},
	Processed:  nil,
}}

// Escalation is where a complaint stands with platform staff.
type Escalation string

// Escalation states.
const (
	NotEscalated Escalation = "NONE"      // the merchant answered in time, or the SLA has not run out
	Escalated    Escalation = "ESCALATED" // the merchant missed the SLA; staff have it
	Resolved     Escalation = "RESOLVED"  // staff resolved it
)

var escalations = db.Machine[Escalation]{Table: "complaints", Column: "escalation", Allowed: map[Escalation][]Escalation{
	NotEscalated: {Escalated},
	Escalated:    {Resolved},
	Resolved:     nil,
}}

// HoldState is where the settlement hold a complaint keeps on its order
// stands.
type HoldState string

// Hold states.
const (
	HoldWanted    HoldState = "WANTED"    // to be placed
	HoldPlaced    HoldState = "PLACED"    // the order is held for the complaint
	HoldNone      HoldState = "NONE"      // nothing to hold: the order was settled or not paid
	HoldReleasing HoldState = "RELEASING" // the complaint is closed; the hold is to be lifted
	HoldReleased  HoldState = "RELEASED"  // lifted, or the order's hold was since changed by someone else
)

var holds = db.Machine[HoldState]{Table: "complaints", Column: "hold", Allowed: map[HoldState][]HoldState{
	HoldWanted:    {HoldPlaced, HoldNone, HoldReleasing},
	HoldPlaced:    {HoldReleasing},
	HoldReleasing: {HoldReleased},
}}

// NotifyState is where an entry's complaint notification stands.
type NotifyState string

// Notification states of a history entry.
const (
	NotifyPending  NotifyState = "PENDING"  // to be put in the core store's outbox
	NotifyEnqueued NotifyState = "ENQUEUED" // in the outbox, which delivers it
	NotifyNone     NotifyState = "NONE"     // no notification: none is sent for it, or the merchant has no complaint URL
)

var notices = db.Machine[NotifyState]{Table: "complaint_history", Column: "notify", Allowed: map[NotifyState][]NotifyState{
	NotifyPending: {NotifyEnqueued, NotifyNone},
}}

// Problem types, WeChat's problem_type.
const (
	ProblemRefunds        = "REFUNDS"          // the consumer wants money back
	ProblemServiceNotWork = "SERVICE_NOT_WORK" // the goods or service did not come or did not work
	ProblemOthers         = "OTHERS"
)

// Operate types of the negotiation history, WeChat's operate_type.
const (
	OpUserCreate       = "USER_CREATE_COMPLAINT"
	OpMerchantResponse = "MERCHANT_RESPONSE"
	OpMerchantComplete = "MERCHANT_CONFIRM_COMPLETE"
	OpPlatformResponse = "PLATFORM_RESPONSE"         // the platform or its staff wrote to both sides
	OpPlatformFinished = "PLATFORM_SERVICE_FINISHED" // staff resolved the complaint
)

// Action types of complaint notifications, WeChat's action_type.
const (
	ActionCreate           = "CREATE_COMPLAINT"
	ActionMerchantResponse = "MERCHANT_RESPONSE"
	ActionMerchantComplete = "MERCHANT_CONFIRM_COMPLETE"
	ActionPlatformResponse = "RESPONSE_BY_PLATFORM"
	ActionPlatformFinished = "PLATFORM_SERVICE_FINISHED"
)

// Limits on what consumers, merchants and staff write, in characters.
const (
	MaxDetail       = 500 // a complaint's description
	MaxResponse     = 200 // a merchant's response_content, as WeChat
	MaxJumpText     = 10  // jump_url_text, as WeChat
	MaxJumpURL      = 255
	MaxNote         = 500 // a staff note or resolution
	MaxNotifyURL    = 256
	DefaultSLA      = 24 * time.Hour
	DefaultHold     = 90 * 24 * time.Hour      // the longest a complaint keeps its order out of settlement
	Retention       = 3 * 365 * 24 * time.Hour // risk records are kept 3 years after the last act
	MaxListLimit    = 50                       // complaints in a page of a list
	MaxHistoryLimit = 300                      // entries in a page of a history
)

// The pages WeChat's complaint APIs answer when a query gives no limit.
const (
	DefaultListLimit    = 10
	DefaultHistoryLimit = 100
)

// Operators of history entries other than staff, who are "staff:NAME".
const (
	OperatorConsumer = "consumer"
	OperatorMerchant = "merchant"
	OperatorPlatform = "platform"
)

// Complaint is a consumer's complaint about an order.
type Complaint struct {
	ID            string     `json:"complaint_id"`
	MchID         string     `json:"mchid"`
	TransactionID string     `json:"transaction_id"`
	OutTradeNo    string     `json:"out_trade_no"`
	AppID         string     `json:"appid"`
	ConsumerID    string     `json:"consumer_id"`
	Amount        fenfu.Fen  `json:"amount"` // the order's total
	ProblemType   string     `json:"problem_type"`
	Detail        string     `json:"complaint_detail"`
	ApplyRefund   fenfu.Fen  `json:"apply_refund_amount"` // what the consumer asks back; 0 for nothing
	State         State      `json:"complaint_state"`
	CreatedAt     time.Time  `json:"complaint_time"`
	RespondBy     time.Time  `json:"respond_by"`                 // the SLA of the merchant's first response
	FirstResponse time.Time  `json:"first_response_at,omitzero"` // zero until the merchant answers
	Escalation    Escalation `json:"escalation"`
	EscalatedAt   time.Time  `json:"escalated_at,omitzero"`
	ResolvedAt    time.Time  `json:"resolved_at,omitzero"`
	ResolvedBy    string     `json:"resolved_by,omitempty"`
	Resolution    string     `json:"resolution,omitempty"`
	CompletedAt   time.Time  `json:"completed_at,omitzero"`
	Hold          HoldState  `json:"hold"`
	RetainUntil   time.Time  `json:"retain_until"`
	Entries       int        `json:"entries"` // of its negotiation history
}

// InPlatformService reports whether staff have the complaint now.
func (c Complaint) InPlatformService() bool { return c.Escalation == Escalated }

// Entry is one act in a complaint's negotiation history.
type Entry struct {
	LogID       string    `json:"log_id"`
	ComplaintID string    `json:"complaint_id"`
	Operator    string    `json:"operator"`
	OperateType string    `json:"operate_type"`
	Details     string    `json:"operate_details"`
	JumpURL     string    `json:"jump_url,omitempty"`
	JumpURLText string    `json:"jump_url_text,omitempty"`
	At          time.Time `json:"operate_time"`
}

// PublicOperator is how an entry's operator is shown to the merchant and
// the consumer: the consumer, the merchant, or the platform — staff are
// never named outside it.
func (e Entry) PublicOperator() string {
	switch e.Operator {
	case OperatorConsumer:
		return "投诉人"
	case OperatorMerchant:
		return "商户"
	}
	return "分付平台"
}

// Service keeps complaints.
type Service struct {
	Credit *db.DB // the complaint tables
	Core   *db.DB // the orders and the notification outbox
	Orders *pay.Service
	IDs    fenfu.IDs
	Clock  fenfu.Clock
	Log    *slog.Logger
	// SLA is how long a merchant has to answer a complaint first before
	// it is escalated; zero is DefaultSLA.
	SLA time.Duration
	// HoldFor is the longest a complaint keeps its order out of
	// settlement; zero is DefaultHold.
	HoldFor time.Duration
	// crashAfterCommit, set by tests (export_test.go), runs when an act
	// has committed in the credit store, before its notification and
	// hold are carried out in the core store; an error simulates the
	// process dying there.
	crashAfterCommit func() error
	// beforeHold, set by tests, runs as a hold is about to be placed.
	beforeHold func()
}

func (s *Service) sla() time.Duration {
	if s.SLA > 0 {
		return s.SLA
	}
	return DefaultSLA
}

func (s *Service) holdFor() time.Duration {
	if s.HoldFor > 0 {
		return s.HoldFor
	}
	return DefaultHold
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// ValidID reports whether id can be a complaint id: digits, 1 to 64 of them.
func ValidID(id string) bool {
	return id != "" && len(id) <= 64 && strings.Trim(id, "0123456789") == ""
}

// NewComplaint is what a consumer files.
type NewComplaint struct {
	ConsumerID    string
	TransactionID string // the order complained about
	ProblemType   string // REFUNDS, SERVICE_NOT_WORK or OTHERS
	Detail        string
	ApplyRefund   fenfu.Fen
}

// Validate checks a complaint as filed, before any order is looked up.
func (n NewComplaint) Validate() error {
	if !ValidID(n.TransactionID) || len(n.TransactionID) > 32 {
		return fenfu.FieldError("transaction_id", "transaction_id names the paid order, 28 digits")
	}
	switch n.ProblemType {
	case ProblemRefunds, ProblemServiceNotWork, ProblemOthers:
	default:
		return fenfu.FieldError("problem_type", "problem_type must be REFUNDS, SERVICE_NOT_WORK or OTHERS")
	}
	if err := fenfu.Words("complaint_detail", n.Detail, MaxDetail, false); err != nil {
		return err
	}
	if n.ApplyRefund < 0 {
		return fenfu.FieldError("apply_refund_amount", "apply_refund_amount must not be negative")
	}
	if n.ProblemType != ProblemRefunds && n.ApplyRefund != 0 {
		return fenfu.FieldError("apply_refund_amount", "apply_refund_amount goes with problem_type REFUNDS only")
	}
	return nil
}

// File records a consumer's complaint about one of their paid orders and
// notifies the merchant (COMPLAINT.CREATE). An order has one open
// complaint at a time. Any other consumer's order, or an order not paid,
// is ORDER_NOT_EXIST to the consumer.
func (s *Service) File(ctx context.Context, n NewComplaint) (Complaint, error) {
	if err := n.Validate(); err != nil {
		return Complaint{}, err
	}
	o, err := s.Orders.Get(ctx, n.TransactionID)
	if err != nil || o.ConsumerID != n.ConsumerID || (o.State != pay.Success && o.State != pay.Refund) {
		if err != nil && fenfu.ErrorCode(err) != fenfu.OrderNotExist {
			return Complaint{}, err
		}
		return Complaint{}, fenfu.Errorf(fenfu.OrderNotExist, "you have no paid order %s to complain about", n.TransactionID)
	}
	if n.ApplyRefund > o.Total-o.Refunded {
		return Complaint{}, fenfu.FieldError("apply_refund_amount", "apply_refund_amount %s exceeds what is left of the order, %s",
			fenfu.Yuan(n.ApplyRefund), fenfu.Yuan(o.Total-o.Refunded))
	}
	var c Complaint
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		now := tx.Now
		c = Complaint{ID: s.IDs.New(fenfu.ComplaintID, now), MchID: o.MchID, TransactionID: o.ID, OutTradeNo: o.OutTradeNo,
			AppID: o.AppID, ConsumerID: n.ConsumerID, Amount: o.Total, ProblemType: n.ProblemType, Detail: n.Detail,
			ApplyRefund: n.ApplyRefund, State: Pending, CreatedAt: now, RespondBy: now.Add(s.sla()), Escalation: NotEscalated,
			Hold: HoldWanted, RetainUntil: now.Add(Retention)}
		// complaints_open_order keeps one open complaint per order, also
		// against a consumer filing twice at once.
		res, err := tx.ExecContext(ctx, `INSERT INTO complaints (complaint_id, mchid, transaction_id, out_trade_no, appid,
			consumer_id, amount, problem_type, detail, apply_refund_amount, state, respond_by, escalation, hold,
			created_at, updated_at, retain_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16)
			ON CONFLICT (transaction_id) WHERE state <> 'PROCESSED' DO NOTHING`,
			c.ID, c.MchID, c.TransactionID, c.OutTradeNo, c.AppID, c.ConsumerID, int64(c.Amount), c.ProblemType, c.Detail,
			int64(c.ApplyRefund), string(c.State), db.Micros(c.RespondBy), string(c.Escalation), string(c.Hold),
			db.Micros(now), db.Micros(c.RetainUntil))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fenfu.Errorf(fenfu.InvalidRequest, "order %s already has an open complaint; follow it instead of filing another", o.ID)
		}
		return s.record(ctx, tx, c.ID, Entry{Operator: OperatorConsumer, OperateType: OpUserCreate, Details: n.Detail}, ActionCreate)
	})
	if err != nil {
		return Complaint{}, fenfu.Op("complaint.File", err)
	}
	s.carryOut(ctx, c.ID)
	return s.Get(ctx, c.ID)
}

// record appends an entry to a complaint's history in tx, numbered under
// the complaint's row lock, and marks its notification (action, if any)
// to be enqueued. It also moves the complaint's retention on.
func (s *Service) record(ctx context.Context, tx *db.Tx, id string, e Entry, action string) error {
	_, err := s.entry(ctx, tx, id, e, action)
	return err
}

// entry is record, returning the entry as stored.
func (s *Service) entry(ctx context.Context, tx *db.Tx, id string, e Entry, action string) (Entry, error) {
	var seq int
	now := db.Micros(tx.Now)
	retain := db.Micros(tx.Now.Add(Retention))
	if err := tx.QueryRowContext(ctx, `UPDATE complaints SET entries = entries + 1, updated_at = $1, retain_until = $2
		WHERE complaint_id = $3 RETURNING entries`, now, retain, id).Scan(&seq); err != nil {
		return e, err
	}
	state := NotifyNone
	if action != "" {
		state = NotifyPending
	}
	e.LogID, e.ComplaintID, e.At = fmt.Sprintf("%s%03d", id, seq), id, tx.Now
	_, err := tx.ExecContext(ctx, `INSERT INTO complaint_history (log_id, complaint_id, seq, operator, operate_type, details,
		jump_url, jump_url_text, action_type, notify, created_at, retain_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.LogID, id, seq, e.Operator, e.OperateType, e.Details, e.JumpURL, e.JumpURLText, action, string(state), now, retain)
	return e, err
}

const columns = `complaint_id, mchid, transaction_id, out_trade_no, appid, consumer_id, amount, problem_type, detail,
	apply_refund_amount, state, respond_by, first_response_at, escalation, escalated_at, resolved_at, resolved_by, resolution,
	completed_at, hold, created_at, retain_until, entries`

func scan(row interface{ Scan(...any) error }) (Complaint, error) {
	var c Complaint
	var amount, refund, respondBy, first, escAt, resAt, doneAt, created, retain int64
	err := row.Scan(&c.ID, &c.MchID, &c.TransactionID, &c.OutTradeNo, &c.AppID, &c.ConsumerID, &amount, &c.ProblemType,
		&c.Detail, &refund, &c.State, &respondBy, &first, &c.Escalation, &escAt, &resAt, &c.ResolvedBy, &c.Resolution,
		&doneAt, &c.Hold, &created, &retain, &c.Entries)
	c.Amount, c.ApplyRefund = fenfu.Fen(amount), fenfu.Fen(refund)
	c.RespondBy, c.FirstResponse, c.EscalatedAt, c.ResolvedAt = db.Time(respondBy), db.Time(first), db.Time(escAt), db.Time(resAt)
	c.CompletedAt, c.CreatedAt, c.RetainUntil = db.Time(doneAt), db.Time(created), db.Time(retain)
	return c, err
}

// Get returns a complaint; RESOURCE_NOT_EXISTS if there is none.
func (s *Service) Get(ctx context.Context, id string) (Complaint, error) {
	if !ValidID(id) {
		return Complaint{}, notFound(id)
	}
	c, err := scan(s.Credit.QueryRowContext(ctx, `SELECT `+columns+` FROM complaints WHERE complaint_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Complaint{}, notFound(id)
	}
	if err != nil {
		return Complaint{}, fenfu.Internal("complaint.Get", err)
	}
	return c, nil
}

func notFound(id string) error {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return fenfu.Errorf(fenfu.ResourceNotExists, "no complaint %q", id)
}

// Of returns a complaint of one merchant: any other merchant's complaint
// is RESOURCE_NOT_EXISTS to it, as one that does not exist.
func (s *Service) Of(ctx context.Context, mchid, id string) (Complaint, error) {
	c, err := s.Get(ctx, id)
	if err == nil && c.MchID != mchid {
		return Complaint{}, notFound(id)
	}
	return c, err
}

// Filter selects complaints to list: of a merchant or of a consumer (one
// of the two), filed in [From, To), or escalated and not yet resolved;
// a page of at most Limit from Offset, newest first.
type Filter struct {
	MchID, ConsumerID string
	From, To          time.Time
	Escalated         bool
	Limit, Offset     int
}

// where is the filter's condition and its arguments.
func (f Filter) where() (string, []any, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.MchID != "" {
		add("mchid = $%d", f.MchID)
	}
	if f.ConsumerID != "" {
		add("consumer_id = $%d", f.ConsumerID)
	}
	if !f.From.IsZero() {
		add("created_at >= $%d", db.Micros(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < $%d", db.Micros(f.To))
	}
	if f.Escalated {
		where = append(where, "escalation = 'ESCALATED'") // a literal, to match complaints_escalated
	}
	if len(where) == 0 {
		return "", nil, fenfu.Errorf(fenfu.ParamError, "a complaint list needs a merchant, a consumer or the escalated ones")
	}
	return strings.Join(where, " AND "), args, nil
}

// List returns a page of complaints and how many the filter selects.
func (s *Service) List(ctx context.Context, f Filter) ([]Complaint, int, error) {
	cond, args, err := f.where()
	if err != nil {
		return nil, 0, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	var total int
	if err := s.Credit.QueryRowContext(ctx, `SELECT COUNT(*) FROM complaints WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fenfu.Internal("complaint.List", err)
	}
	out, err := s.list(ctx, `SELECT `+columns+` FROM complaints WHERE `+cond+
		fmt.Sprintf(` ORDER BY created_at DESC, complaint_id DESC LIMIT %d OFFSET %d`, limit, max(f.Offset, 0)), args)
	return out, total, err
}

// ListAfter returns the page p of the complaints f selects (its Limit
// and Offset aside), newest first, read after p's cursor instead of by
// offset, and the cursor of the next page ("" after the last).
func (s *Service) ListAfter(ctx context.Context, f Filter, p fenfu.Keyset) ([]Complaint, string, error) {
	cond, args, err := f.where()
	if err != nil {
		return nil, "", err
	}
	key, err := p.Key(2)
	if err != nil {
		return nil, "", err
	}
	if key != nil {
		at, err := p.Int(key[0])
		if err != nil {
			return nil, "", err
		}
		args = append(args, at, key[1])
		n := len(args)
		// An index range however deep the page (an OR would scan from the
		// index's start).
		cond += fmt.Sprintf(" AND created_at <= $%d AND (created_at, complaint_id) < ($%d, $%d)", n-1, n-1, n)
	}
	limit := p.Size(DefaultListLimit, MaxListLimit)
	out, err := s.list(ctx, `SELECT `+columns+` FROM complaints WHERE `+cond+
		fmt.Sprintf(` ORDER BY created_at DESC, complaint_id DESC LIMIT %d`, limit+1), args)
	if err != nil {
		return nil, "", err
	}
	out, next := fenfu.NextPage(out, limit, func(c Complaint) []string { return []string{strconv.FormatInt(db.Micros(c.CreatedAt), 10), c.ID} })
	return out, next, nil
}

func (s *Service) list(ctx context.Context, q string, args []any) ([]Complaint, error) {
	out, err := db.All(ctx, s.Credit, scan, q, args...)
	if err != nil {
		return nil, fenfu.Internal("complaint.List", err)
	}
	return out, nil
}

// Count returns how many complaints a consumer has filed against a
// merchant (WeChat's user_complaint_times).
func (s *Service) Count(ctx context.Context, mchid, consumerID string) (int, error) {
	n, err := s.Counts(ctx, mchid, []string{consumerID})
	return n[consumerID], err
}

// Counts is Count for several consumers of a merchant, in one query.
func (s *Service) Counts(ctx context.Context, mchid string, consumerIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(consumerIDs))
	if len(consumerIDs) == 0 {
		return out, nil
	}
	args, ph := []any{mchid}, make([]string, len(consumerIDs))
	for i, id := range consumerIDs {
		args, ph[i] = append(args, id), fmt.Sprintf("$%d", i+2)
	}
	rows, err := s.Credit.QueryContext(ctx, `SELECT consumer_id, COUNT(*) FROM complaints WHERE mchid = $1
		AND consumer_id IN (`+strings.Join(ph, ", ")+`) GROUP BY consumer_id`, args...)
	if err != nil {
		return nil, fenfu.Internal("complaint.Counts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fenfu.Internal("complaint.Counts", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fenfu.Internal("complaint.Counts", err)
	}
	return out, nil
}

// History returns a page of a complaint's negotiation history, oldest
// first; the complaint's Entries is how many it has in all.
func (s *Service) History(ctx context.Context, id string, limit, offset int) ([]Entry, error) {
	if limit <= 0 || limit > MaxHistoryLimit {
		limit = MaxHistoryLimit
	}
	rows, err := s.Credit.QueryContext(ctx, `SELECT `+entryColumns+` FROM complaint_history WHERE complaint_id = $1
		ORDER BY seq LIMIT $2 OFFSET $3`, id, limit, max(offset, 0))
	if err != nil {
		return nil, fenfu.Internal("complaint.History", err)
	}
	out := map[string][]Entry{id: {}}
	if err := scanEntries(rows, out); err != nil {
		return nil, fenfu.Internal("complaint.History", err)
	}
	return out[id], nil
}

// Histories returns the histories of several complaints in one query,
// each as History with no limit returns it: its first MaxHistoryLimit
// entries, oldest first.
func (s *Service) Histories(ctx context.Context, ids []string) (map[string][]Entry, error) {
	out := make(map[string][]Entry, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args, ph := []any{MaxHistoryLimit}, make([]string, len(ids))
	for i, id := range ids {
		args, ph[i], out[id] = append(args, id), fmt.Sprintf("$%d", i+2), []Entry{}
	}
	// An entry's seq numbers it in its complaint's history from 1.
	rows, err := s.Credit.QueryContext(ctx, `SELECT `+entryColumns+` FROM complaint_history WHERE seq <= $1
		AND complaint_id IN (`+strings.Join(ph, ", ")+`) ORDER BY complaint_id, seq`, args...)
	if err != nil {
		return nil, fenfu.Internal("complaint.Histories", err)
	}
	if err := scanEntries(rows, out); err != nil {
		return nil, fenfu.Internal("complaint.Histories", err)
	}
	return out, nil
}

const entryColumns = `complaint_id, log_id, operator, operate_type, details, jump_url, jump_url_text, created_at`

// scanEntries appends the entries of rows to their complaints' in out,
// and closes rows.
func scanEntries(rows *sql.Rows, out map[string][]Entry) error {
	defer rows.Close()
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ComplaintID, &e.LogID, &e.Operator, &e.OperateType, &e.Details, &e.JumpURL, &e.JumpURLText, &at); err != nil {
			return err
		}
		e.At = db.Time(at)
		out[e.ComplaintID] = append(out[e.ComplaintID], e)
	}
	return rows.Err()
}

// Page reads a page's limit and offset from a query as WeChat's complaint
// APIs take them: limit from 1 to max, def when it is not given; offset
// from 0. A list of complaints pages by at most MaxListLimit (default
// DefaultListLimit), a history by MaxHistoryLimit (DefaultHistoryLimit).
func Page(q url.Values, max, def int) (limit, offset int, err error) {
	limit = def
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return 0, 0, fenfu.FieldError("limit", "limit must be a whole number from 1 to %d", max)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || len(v) > 9 {
			return 0, 0, fenfu.FieldError("offset", "offset must be a whole number from 0")
		}
		offset = n
	}
	return limit, offset, nil
}
