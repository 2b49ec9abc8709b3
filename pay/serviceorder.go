package pay

// Service orders: pre-authorization for hotels, car rental and power-bank
// rental, modelled on WeChat Pay Score's 支付分服务订单. The merchant
// creates a service order with the most the service may cost (its risk
// fund); the consumer confirms it in the cashier, which freezes that much
// of its credit line (a hold in the credit store under the service
// order's id); the merchant completes it with what the service cost, and
// fenfu captures that at once, without the consumer, as an ordinary credit
// payment — an order of trade_type PAYSCORE, through payCredit with the
// hold named — releasing the rest of the hold in the same credit
// transaction. A cancelled service order, or one not completed by its end
// time and the grace period (ExpireServiceOrders), releases all of it.
//
// The capture spans the stores as every credit payment does: the PAYSCORE
// order is claimed PAYING with an attempt, the credit store captures the
// hold, and the core store marks the order paid and the service order
// DONE in one transaction (complete). Recover settles an attempt
// interrupted in between: a captured one ends DONE; a voided one leaves
// the hold FROZEN and the service order DOING, so the merchant's complete
// can be retried.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/risk"
)

// ServiceState is a service order's state, as WeChat Pay Score names it.
type ServiceState string

// Service order states.
const (
	ServiceCreated ServiceState = "CREATED" // created by the merchant, not yet confirmed
	ServiceDoing   ServiceState = "DOING"   // confirmed by the consumer: its credit is frozen
	ServiceDone    ServiceState = "DONE"    // completed by the merchant and paid
	ServiceRevoked ServiceState = "REVOKED" // cancelled by the merchant
	ServiceExpired ServiceState = "EXPIRED" // not completed in time: released by the expiry job
)

var serviceOrders = db.Machine[ServiceState]{Table: "service_orders", Column: "state", Allowed: map[ServiceState][]ServiceState{
	ServiceCreated: {ServiceDoing, ServiceRevoked, ServiceExpired},
	ServiceDoing:   {ServiceDone, ServiceRevoked, ServiceExpired},
}}

// TradePayScore is the trade_type of the order a completed service order
// is paid by.
const TradePayScore = "PAYSCORE"

// PayScoreOutTradeNo is the out_trade_no of the PAYSCORE order that pays
// service order id: "PS@" and the order_id. A merchant's out_trade_no may
// not hold "@" (outTradeNoRE), so no order of the merchant's can take it
// and keep the service order from being completed.
func PayScoreOutTradeNo(id string) string { return "PS@" + id }

// Service order limits.
const (
	// DefaultServiceGrace is how long after a service order's end time
	// its frozen credit is kept for the merchant to complete it.
	DefaultServiceGrace = 24 * time.Hour
	// MaxServiceDuration is how far ahead a service order may end.
	MaxServiceDuration = 90 * 24 * time.Hour
	// PackageTTL is how long a service order's package can be confirmed,
	// as WeChat's (one hour).
	PackageTTL = time.Hour
	// ServiceTimeLayout is the wire format of time_range's times,
	// Asia/Shanghai.
	ServiceTimeLayout = "20060102150405"
)

// RiskFundNames are WeChat's names of what a risk fund is.
var RiskFundNames = []string{"DEPOSIT", "ADVANCE", "CASH_DEPOSIT", "ESTIMATE_ORDER_COST"}

// RiskFund is the most a service may cost: what the consumer's
// confirmation freezes.
type RiskFund struct {
	Name        string
	Description string
	Amount      fenfu.Fen
}

// ServiceOrder is a merchant's service order.
type ServiceOrder struct {
	ID                  string // WeChat's order_id
	MchID               string
	OutOrderNo          string
	AppID               string
	ServiceID           string
	ServiceIntroduction string
	RiskFund            RiskFund
	StartTime, EndTime  string // time_range as sent
	EndAt               time.Time
	Attach              string
	NotifyURL           string
	State               ServiceState
	ConsumerID          string
	// Installments is the count the consumer chose at confirmation (0 or
	// 1: in full).
	Installments int
	// PaymentID is the PAYSCORE order the completion is paid by;
	// TotalAmount and PostPayments (JSON as the merchant sent them) what
	// the completion said.
	PaymentID    string
	TotalAmount  fenfu.Fen
	PostPayments string
	CancelReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ConfirmedAt  time.Time
	// Package is the signed token the consumer confirms with; set by
	// CreateServiceOrder only (derived, not stored).
	Package string
}

// StateDescription is WeChat's state_description: USER_CONFIRM for a
// confirmed order, USER_PAID for a completed one (fenfu captures on
// completion, so a completed order is a paid one); empty otherwise.
func (so ServiceOrder) StateDescription() string {
	switch so.State {
	case ServiceDoing:
		return "USER_CONFIRM"
	case ServiceDone:
		return "USER_PAID"
	}
	return ""
}

// NewServiceOrder is a merchant's request to create a service order.
type NewServiceOrder struct {
	MchID, AppID, OutOrderNo, ServiceID, ServiceIntroduction string
	RiskFund                                                 RiskFund
	StartTime, EndTime                                       string
	Attach, NotifyURL                                        string
}

var (
	outOrderNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,32}$`)
	serviceIDRE  = regexp.MustCompile(`^[0-9A-Za-z_\-]{1,32}$`)
)

func (r *NewServiceOrder) validate(now time.Time) (time.Time, error) {
	if err := texts([][2]string{{"appid", r.AppID}, {"out_order_no", r.OutOrderNo}, {"service_id", r.ServiceID},
		{"service_introduction", r.ServiceIntroduction}, {"risk_fund.name", r.RiskFund.Name}, {"risk_fund.description", r.RiskFund.Description},
		{"time_range.start_time", r.StartTime}, {"time_range.end_time", r.EndTime}, {"attach", r.Attach}, {"notify_url", r.NotifyURL}}); err != nil {
		return time.Time{}, err
	}
	switch {
	case r.AppID == "":
		return time.Time{}, fenfu.FieldError("appid", "appid is required")
	case !outOrderNoRE.MatchString(r.OutOrderNo):
		return time.Time{}, fenfu.FieldError("out_order_no", "out_order_no must be 1 to 32 characters of 0-9, A-Z, a-z, _, -, |, *, @")
	case !serviceIDRE.MatchString(r.ServiceID):
		return time.Time{}, fenfu.FieldError("service_id", "service_id must be 1 to 32 letters, digits, _ or -")
	case r.ServiceIntroduction == "" || utf8.RuneCountInString(r.ServiceIntroduction) > 20:
		return time.Time{}, fenfu.FieldError("service_introduction", "service_introduction must be 1 to 20 characters")
	case !validFundName(r.RiskFund.Name):
		return time.Time{}, fenfu.FieldError("risk_fund.name", "risk_fund.name must be one of %s", strings.Join(RiskFundNames, ", "))
	case utf8.RuneCountInString(r.RiskFund.Description) > 30:
		return time.Time{}, fenfu.FieldError("risk_fund.description", "risk_fund.description must be at most 30 characters")
	case r.RiskFund.Amount <= 0 || r.RiskFund.Amount > MaxTotal:
		return time.Time{}, fenfu.FieldError("risk_fund.amount", "risk_fund.amount must be a positive number of fen, at most %d", int64(MaxTotal))
	case utf8.RuneCountInString(r.Attach) > 256:
		return time.Time{}, fenfu.FieldError("attach", "attach must be at most 256 characters")
	}
	if err := merchant.CheckNotifyURL("notify_url", r.NotifyURL); err != nil {
		return time.Time{}, err
	}
	start := now
	if r.StartTime != "OnAccept" {
		var err error
		if start, err = time.ParseInLocation(ServiceTimeLayout, r.StartTime, fenfu.Shanghai); err != nil {
			return time.Time{}, fenfu.FieldError("time_range.start_time", "time_range.start_time must be yyyyMMddHHmmss or OnAccept")
		}
		// WeChat refuses a start before the call; fenfu counts by the day
		// (Asia/Shanghai), so a clock a little behind, or the same
		// request sent again later that day, is not refused.
		y, m, d := now.In(fenfu.Shanghai).Date()
		if start.Before(time.Date(y, m, d, 0, 0, 0, 0, fenfu.Shanghai)) {
			e := fenfu.FieldError("time_range.start_time", "time_range.start_time %s is in the past", r.StartTime)
			e.Remedy = "Send the time the service starts, today or later, or OnAccept for when the consumer confirms."
			return time.Time{}, e
		}
	}
	end, err := time.ParseInLocation(ServiceTimeLayout, r.EndTime, fenfu.Shanghai)
	if err != nil {
		e := fenfu.FieldError("time_range.end_time", "time_range.end_time must be yyyyMMddHHmmss, Asia/Shanghai")
		e.Remedy = "fenfu needs the service's end: the frozen credit is released if the order is not completed by then and the grace period."
		return time.Time{}, e
	}
	if !end.After(now) || end.After(now.Add(MaxServiceDuration)) {
		return time.Time{}, fenfu.FieldError("time_range.end_time", "time_range.end_time must be in the future, within 90 days")
	}
	if !end.After(start) {
		return time.Time{}, fenfu.FieldError("time_range.end_time", "time_range.end_time %s must be after time_range.start_time %s", r.EndTime, r.StartTime)
	}
	return end, nil
}

func validFundName(n string) bool {
	for _, x := range RiskFundNames {
		if n == x {
			return true
		}
	}
	return false
}

func (r *NewServiceOrder) hash() string {
	h := sha256.New()
	for _, f := range []string{r.AppID, r.ServiceID, r.ServiceIntroduction, r.RiskFund.Name, r.RiskFund.Description,
		fmt.Sprint(r.RiskFund.Amount), r.StartTime, r.EndTime, r.Attach, r.NotifyURL} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// servicePrefix keeps a package apart from an order's QR token: the
// cashier's order page finds no order by it, nor the confirm page a
// service order by a QR token.
const servicePrefix = "serviceorder:"

func (s *Service) servicePackage(so ServiceOrder) string {
	return s.Tokens.Token(qr.Payload{OrderID: servicePrefix + so.ID, MchID: so.MchID, Total: so.RiskFund.Amount,
		Expires: so.CreatedAt.Add(PackageTTL)})
}

// CreateServiceOrder creates a service order in state CREATED with its
// package, or returns the existing one when the same out_order_no is sent
// again with the same parameters (with a new package while it is still
// CREATED). The same out_order_no with different parameters fails with
// INVALID_REQUEST.
func (s *Service) CreateServiceOrder(ctx context.Context, r NewServiceOrder) (ServiceOrder, error) {
	now := s.Clock.Now()
	end, err := r.validate(now)
	if err != nil {
		return ServiceOrder{}, err
	}
	m, err := s.Merchants.Get(ctx, r.MchID)
	if err != nil {
		return ServiceOrder{}, err
	}
	if m.AppID != r.AppID {
		return ServiceOrder{}, fenfu.FieldError("appid", "appid %s is not bound to merchant %s", r.AppID, r.MchID)
	}
	if err := m.CreditAllowed(); err != nil {
		return ServiceOrder{}, err
	}
	hash := r.hash()
	id := s.IDs.New(fenfu.TransactionID, now)
	at := db.Micros(now)
	res, err := s.Core.Exec(ctx, `INSERT INTO service_orders (id, mchid, out_order_no, appid, service_id, service_introduction,
		risk_fund_name, risk_fund_description, risk_amount, start_time, end_time, end_at, attach, notify_url, params_hash, state, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) ON CONFLICT (mchid, out_order_no) DO NOTHING`,
		id, r.MchID, r.OutOrderNo, r.AppID, r.ServiceID, r.ServiceIntroduction, r.RiskFund.Name, r.RiskFund.Description, r.RiskFund.Amount,
		r.StartTime, r.EndTime, db.Micros(end), r.Attach, r.NotifyURL, hash, string(ServiceCreated), at)
	if err != nil {
		return ServiceOrder{}, fenfu.Internal("pay.CreateServiceOrder", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var stored string
		if err := s.Core.QueryRowContext(ctx, `SELECT params_hash FROM service_orders WHERE mchid = $1 AND out_order_no = $2`,
			r.MchID, r.OutOrderNo).Scan(&stored); err != nil {
			return ServiceOrder{}, fenfu.Internal("pay.CreateServiceOrder", err)
		}
		if stored != hash {
			e := fenfu.Errorf(fenfu.InvalidRequest, "out_order_no %s was already used with different parameters", r.OutOrderNo)
			e.Remedy = "Use a new out_order_no for a new service order."
			return ServiceOrder{}, e
		}
	}
	so, err := s.ServiceOrderOf(ctx, r.MchID, r.OutOrderNo)
	if err != nil {
		return so, err
	}
	if so.State == ServiceCreated {
		if n, _ := res.RowsAffected(); n == 0 {
			so.CreatedAt = now // a package for an hour from the request that asked again
		}
		so.Package = s.servicePackage(so)
	}
	return so, nil
}

const serviceCols = `id, mchid, out_order_no, appid, service_id, service_introduction, risk_fund_name, risk_fund_description, risk_amount,
	start_time, end_time, end_at, attach, notify_url, state, consumer_id, installments, payment_id, total_amount, post_payments, cancel_reason,
	created_at, updated_at, confirmed_at`

func serviceOrderBy(ctx context.Context, q queryer, where string, args ...any) (ServiceOrder, error) {
	var so ServiceOrder
	var end, created, updated, confirmed int64
	err := q.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM service_orders WHERE `+where, args...).Scan(&so.ID, &so.MchID, &so.OutOrderNo,
		&so.AppID, &so.ServiceID, &so.ServiceIntroduction, &so.RiskFund.Name, &so.RiskFund.Description, &so.RiskFund.Amount, &so.StartTime,
		&so.EndTime, &end, &so.Attach, &so.NotifyURL, &so.State, &so.ConsumerID, &so.Installments, &so.PaymentID, &so.TotalAmount,
		&so.PostPayments, &so.CancelReason, &created, &updated, &confirmed)
	if errors.Is(err, sql.ErrNoRows) {
		e := fenfu.Errorf(fenfu.OrderNotExist, "service order does not exist")
		e.Remedy = "Check out_order_no, and that the order was created by this merchant."
		return so, e
	}
	if err != nil {
		return so, fenfu.Internal("pay.serviceOrderBy", err)
	}
	so.EndAt, so.CreatedAt, so.UpdatedAt = db.Time(end), db.Time(created), db.Time(updated)
	if confirmed > 0 {
		so.ConfirmedAt = db.Time(confirmed)
	}
	return so, nil
}

// ServiceOrderOf returns a merchant's service order by out_order_no.
func (s *Service) ServiceOrderOf(ctx context.Context, mchid, outOrderNo string) (ServiceOrder, error) {
	return serviceOrderBy(ctx, s.Core, `mchid = $1 AND out_order_no = $2`, mchid, outOrderNo)
}

// ServiceOrder returns a service order by its id.
func (s *Service) ServiceOrder(ctx context.Context, id string) (ServiceOrder, error) {
	return serviceOrderBy(ctx, s.Core, `id = $1`, id)
}

// ServiceOrderForPackage checks a package and returns its service order.
func (s *Service) ServiceOrderForPackage(ctx context.Context, pkg string) (ServiceOrder, error) {
	p, err := s.Tokens.Parse(pkg, s.Clock.Now())
	if err != nil {
		return ServiceOrder{}, err
	}
	id, ok := strings.CutPrefix(p.OrderID, servicePrefix)
	if !ok {
		return ServiceOrder{}, fenfu.Errorf(fenfu.ParamError, "the package is not a service order's")
	}
	so, err := s.ServiceOrder(ctx, id)
	if err != nil {
		return so, err
	}
	if so.MchID != p.MchID || so.RiskFund.Amount != p.Total {
		return ServiceOrder{}, fenfu.Errorf(fenfu.ParamError, "the package does not match its service order")
	}
	return so, nil
}

// serviceStateError explains why a service order in its state cannot do
// what was asked.
func serviceStateError(so ServiceOrder, what string) error {
	e := fenfu.Errorf(fenfu.InvalidOrderState, "service order %s is %s: it cannot be %s", so.OutOrderNo, so.State, what)
	switch so.State {
	case ServiceDone:
		e.Remedy = "The order was completed and paid; refund the payment (its transaction_id is in the query) to return money."
	case ServiceRevoked, ServiceExpired:
		e.Remedy = "Create a new service order."
	case ServiceCreated:
		e.Remedy = "The consumer must confirm the order first."
	}
	return e
}

func (s *Service) serviceGrace() time.Duration {
	if s.ServiceGrace > 0 {
		return s.ServiceGrace
	}
	return DefaultServiceGrace
}

// ServiceChoices are the ways a consumer can repay a service order's
// capture: in full, or in 3, 6 or 12 installments at the consumer's cost,
// priced on its risk fund.
func (s *Service) ServiceChoices(so ServiceOrder) []Choice {
	return s.Choices(Order{Total: so.RiskFund.Amount, Offers: serviceOffers})
}

var serviceOffers = []Offer{{Count: 3}, {Count: 6}, {Count: 12}}

// ConfirmServiceOrder confirms the service order behind a package as the
// consumer, repaid in n installments (0 or 1: in full; else 3, 6 or 12,
// the consumer bearing the fee): the risk rules evaluate it as a credit
// payment of the risk fund (a rejection refuses it with the rule's
// message), its risk fund is frozen on the consumer's line, and the
// order moves to DOING with its PAYSCORE.USER_CONFIRM notification due.
// Confirming again as the same consumer returns the order.
func (s *Service) ConfirmServiceOrder(ctx context.Context, pkg, consumerID string, c Client, n int) (ServiceOrder, error) {
	if err := c.Check(); err != nil {
		return ServiceOrder{}, err
	}
	so, err := s.ServiceOrderForPackage(ctx, pkg)
	if err != nil {
		return so, err
	}
	if so.State == ServiceDoing && so.ConsumerID == consumerID {
		return so, nil
	}
	if so.State != ServiceCreated {
		return so, serviceStateError(so, "confirmed")
	}
	if n != 0 && n != 1 && !credit.ValidCount(n) {
		return so, fenfu.FieldError("installment_number", "installment_number must be 1 (in full), 3, 6 or 12, not %d", n)
	}
	now := s.Clock.Now()
	if !now.Before(so.EndAt) {
		return so, fenfu.Errorf(fenfu.OrderClosed, "the service order ended at %s", so.EndAt.In(fenfu.Shanghai).Format(time.DateTime))
	}
	m, err := s.Merchants.Get(ctx, so.MchID)
	if err != nil {
		return so, err
	}
	if err := m.CreditAllowed(); err != nil {
		return so, err
	}
	if m.Cohort(consumerID) != merchant.CohortCredit {
		e := fenfu.Errorf(fenfu.RuleLimit, "this merchant does not offer you credit pay yet")
		e.Remedy = "Ask the merchant for another way to pay; it is rolling credit pay out gradually."
		return so, e
	}
	o := Order{ID: so.ID, MchID: so.MchID, Total: so.RiskFund.Amount}
	var f risk.Features
	if s.Risk != nil {
		if f, err = s.features(ctx, o, m, consumerID, ChannelCredit, c); err != nil {
			return so, fenfu.Op("pay.ConfirmServiceOrder", err)
		}
	}
	h := credit.Hold{ID: so.ID, ConsumerID: consumerID, MchID: so.MchID, Amount: so.RiskFund.Amount,
		ReleaseAfter: so.EndAt.Add(s.serviceGrace())}
	var out risk.Outcome
	inserted := false
	err = s.Credit.Update(ctx, func(tx *db.Tx) error {
		out, inserted = risk.Outcome{}, false
		if s.Risk != nil {
			var err error
			p := credit.Payment{AttemptID: s.IDs.New(fenfu.AttemptID, now), OrderID: so.ID, MchID: so.MchID, ConsumerID: consumerID, Amount: h.Amount}
			if out, err = s.decideCredit(ctx, tx, p, f); err != nil || out.Decision == risk.Reject {
				return err // a rejection stays on record, and nothing is frozen
			}
		}
		var err error
		inserted, err = credit.Freeze(ctx, tx, h)
		return err
	})
	if err != nil {
		return so, fenfu.Op("pay.ConfirmServiceOrder", err)
	}
	if out.Decision == risk.Reject {
		e := fenfu.Errorf(fenfu.RuleLimit, "%s", out.Message)
		e.Remedy = "Ask the merchant for another way to pay."
		return so, e
	}
	moved := false
	var cur ServiceOrder
	err = s.Core.Update(ctx, func(tx *db.Tx) error {
		moved = false
		q, args, err := serviceOrders.SQL(db.Move[ServiceState]{From: []ServiceState{ServiceCreated}, To: ServiceDoing,
			Set:   ", consumer_id = $1, installments = $2, confirmed_at = $3, updated_at = $3",
			Where: "id = $4", Args: []any{consumerID, max(n, 1), db.Micros(tx.Now), so.ID}})
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k > 0 {
			moved = true
			if err := notify.Enqueue(ctx, tx, serviceEvent(so, EventUserConfirm)); err != nil {
				return err
			}
		}
		// Read as the writer sees it: a reader may not see yet the move
		// of another confirmation committed in the same batch.
		cur, err = serviceOrderBy(ctx, tx, `id = $1`, so.ID)
		return err
	})
	if err != nil {
		return so, fenfu.Op("pay.ConfirmServiceOrder", err)
	}
	if !moved {
		if cur.State == ServiceDoing && cur.ConsumerID == consumerID {
			// The same consumer's other confirmation (a double tap, a
			// second tab) moved it first: the hold is that order's.
			return cur, nil
		}
		// Cancelled or expired meanwhile: what this confirmation froze
		// goes back, and only that; a freeze another call made is that
		// call's to undo. Should this fail, the expiry job releases it
		// after the order's end.
		if inserted {
			if _, err := s.releaseHold(ctx, so.ID); err != nil {
				return so, fenfu.Internal("pay.ConfirmServiceOrder", err)
			}
		}
		return cur, serviceStateError(cur, "confirmed")
	}
	return cur, nil
}

// Service order events, as WeChat Pay Score names them.
const (
	EventUserConfirm = "USER_CONFIRM" // PAYSCORE.USER_CONFIRM: the consumer confirmed
	EventUserPaid    = "USER_PAID"    // PAYSCORE.USER_PAID: the completion was paid
)

// serviceEvent is the notification of a service order's event: its ref
// is the order's id and the event.
func serviceEvent(so ServiceOrder, event string) notify.Subject {
	return notify.Subject{Kind: notify.PayScore, ID: so.ID + "-" + event, MchID: so.MchID, NotifyURL: so.NotifyURL}
}

// ServiceEventOf splits a PayScore notification's ref into the service
// order's id and the event.
func ServiceEventOf(ref string) (id, event string) {
	i := strings.LastIndexByte(ref, '-')
	if i < 0 {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// releaseHold releases a service order's hold in the credit store and
// returns its final state; "" if it never had one.
func (s *Service) releaseHold(ctx context.Context, id string) (credit.HoldState, error) {
	var state credit.HoldState
	err := s.Credit.Update(ctx, func(tx *db.Tx) error {
		var err error
		state, err = credit.Release(ctx, tx, id)
		if errors.Is(err, credit.ErrNoHold) {
			state, err = "", nil
		}
		return err
	})
	return state, err
}

// releaseUncaptured releases a service order's hold before the order
// ends without a payment, and returns the hold's state ("" if it has
// none). A hold a completion captured meanwhile is left alone:
// USERPAYING, and the completion (or Recover) finishes the order.
func (s *Service) releaseUncaptured(ctx context.Context, so ServiceOrder, op string) (credit.HoldState, error) {
	state, err := s.releaseHold(ctx, so.ID)
	if err != nil {
		return state, fenfu.Internal(op, err)
	}
	if state == credit.HoldCaptured {
		return state, fenfu.Errorf(fenfu.UserPaying, "service order %s is being completed", so.OutOrderNo)
	}
	return state, nil
}

// CancelServiceOrder cancels a service order not yet completed: its
// frozen credit, if any, is released and it becomes REVOKED. Cancelling a
// cancelled order returns it; a completed, expired or completing one
// fails with INVALID_REQUEST (or USERPAYING while its payment is in
// flight).
func (s *Service) CancelServiceOrder(ctx context.Context, mchid, outOrderNo, reason string) (ServiceOrder, error) {
	if err := fenfu.Text("reason", reason); err != nil {
		return ServiceOrder{}, err
	}
	if reason == "" || utf8.RuneCountInString(reason) > 50 {
		return ServiceOrder{}, fenfu.FieldError("reason", "reason must be 1 to 50 characters")
	}
	so, err := s.ServiceOrderOf(ctx, mchid, outOrderNo)
	if err != nil {
		return so, err
	}
	if so.State == ServiceRevoked {
		return so, nil
	}
	return s.endServiceOrder(ctx, so, ServiceRevoked, reason)
}

// endServiceOrder releases a service order's hold and moves it to to
// (REVOKED or EXPIRED), closing its PAYSCORE order if it has one still
// unpaid. An order whose hold was captured is being completed: it fails
// with USERPAYING and is left for the completion (or Recover) to finish.
// The move is made only from the states the release covered: an order
// with no hold yet moves only from CREATED, so a confirmation that froze
// and moved it to DOING after the release looked is not ended with its
// freeze kept; the order is read again and its new hold released.
func (s *Service) endServiceOrder(ctx context.Context, so ServiceOrder, to ServiceState, reason string) (ServiceOrder, error) {
	for try := 0; ; try++ {
		if so.State != ServiceCreated && so.State != ServiceDoing {
			if so.State == to && try > 0 {
				return so, nil // ended by another call meanwhile
			}
			return so, serviceStateError(so, "ended")
		}
		if so.PaymentID != "" {
			o, err := s.Get(ctx, so.PaymentID)
			if err != nil {
				return so, err
			}
			if o.State != NotPay && o.State != Closed {
				return so, fenfu.Errorf(fenfu.UserPaying, "service order %s is being completed", so.OutOrderNo)
			}
		}
		state, err := s.releaseUncaptured(ctx, so, "pay.endServiceOrder")
		if err != nil {
			return so, err
		}
		from := []ServiceState{ServiceCreated, ServiceDoing}
		if state == "" {
			from = from[:1] // nothing was frozen: only a CREATED order ends
		}
		moved, cur, err := s.moveServiceOrder(ctx, db.Move[ServiceState]{From: from, To: to,
			Set: ", cancel_reason = $1, updated_at = $2", Where: "id = $3"}, so.ID, reason)
		if err != nil {
			return so, fenfu.Op("pay.endServiceOrder", err)
		}
		if moved {
			return cur, nil
		}
		if try == 2 {
			return cur, fenfu.Errorf(fenfu.UserPaying, "service order %s is being confirmed or completed", so.OutOrderNo)
		}
		so = cur
	}
}

// moveServiceOrder makes m, whose Set and Where take $1 (text), $2 (now)
// and $3 (the service order's id), in one core transaction with the close
// of the service order's PAYSCORE order if it has one unpaid (as it is
// then, not as the caller read it). It reports whether the service order
// moved, and the order as that transaction left it (a reader may not see
// yet what another writer of the same batch committed); nothing changes
// if it did not move.
func (s *Service) moveServiceOrder(ctx context.Context, m db.Move[ServiceState], id, text string) (bool, ServiceOrder, error) {
	moved := false
	var cur ServiceOrder
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		moved = false
		m.Args = []any{text, db.Micros(tx.Now), id}
		q, args, err := serviceOrders.SQL(m)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			moved = true
			q, args, err = orders.SQL(db.Move[State]{From: []State{NotPay}, To: Closed, Set: ", closed_at = $1, updated_at = $1",
				Where: "id = (SELECT payment_id FROM service_orders WHERE id = $2)", Args: []any{db.Micros(tx.Now), id}})
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		cur, err = serviceOrderBy(ctx, tx, `id = $1`, id)
		return err
	})
	return moved, cur, err
}

// CompleteServiceOrder completes a confirmed service order with what the
// service cost, total (≤ the frozen risk fund), and captures it at once:
// an order of trade_type PAYSCORE is paid on the consumer's credit out of
// the hold, in the installments chosen at confirmation, and the rest of
// the hold is released; the service order becomes DONE and its
// PAYSCORE.USER_PAID notification due. A total of 0 releases all and pays
// nothing. Completing a DONE order with the same total returns it; two
// completions at once capture once (the other fails with USERPAYING, or
// returns the order if it finished first). A risk rule that would reject
// the capture holds the payment for review instead: the service was
// delivered on a commitment the consumer made.
func (s *Service) CompleteServiceOrder(ctx context.Context, mchid, outOrderNo string, total fenfu.Fen, postPayments string) (ServiceOrder, error) {
	so, err := s.ServiceOrderOf(ctx, mchid, outOrderNo)
	if err != nil {
		return so, err
	}
	if so.State == ServiceDone && so.TotalAmount == total {
		return so, nil
	}
	if so.State != ServiceDoing {
		return so, serviceStateError(so, "completed")
	}
	if total < 0 || total > so.RiskFund.Amount {
		e := fenfu.FieldError("total_amount", "total_amount %s yuan exceeds the %s yuan risk_fund.amount the consumer froze",
			fenfu.Yuan(total), fenfu.Yuan(so.RiskFund.Amount))
		e.Remedy = "Complete with at most risk_fund.amount; charge anything beyond it by another order."
		return so, e
	}
	if total == 0 {
		return s.completeFree(ctx, so, postPayments)
	}
	id, err := s.servicePayment(ctx, so, total, postPayments)
	if err != nil {
		return so, err
	}
	o, err := s.Get(ctx, id)
	if err != nil {
		return so, err
	}
	switch o.State {
	case Success, Refund:
		// Completed first by another call, or by Recover.
		return s.completedElsewhere(ctx, so, total)
	case NotPay:
		if o.Total != total {
			return so, totalChanged(o, total)
		}
	default:
		return so, stateError(o, s.Clock.Now(), Success)
	}
	m, err := s.Merchants.Get(ctx, so.MchID)
	if err != nil {
		return so, err
	}
	t := s.plans().terms(Offer{Count: so.Installments})
	if _, err := s.payCredit(ctx, o, m, so.ConsumerID, Client{}, t, so.ID); err != nil {
		if fenfu.ErrorCode(err) == fenfu.OrderPaid {
			// Another call paid it between the read above and this
			// claim: the completion is done, as on a retry after it.
			return s.completedElsewhere(ctx, so, total)
		}
		return so, err
	}
	return s.ServiceOrder(ctx, so.ID)
}

// completedElsewhere answers a completion whose payment another call (or
// Recover) made: the service order as it is now, or, if that call
// completed it with another total, an error saying so.
func (s *Service) completedElsewhere(ctx context.Context, so ServiceOrder, total fenfu.Fen) (ServiceOrder, error) {
	cur, err := s.ServiceOrder(ctx, so.ID)
	if err == nil && cur.TotalAmount != total {
		e := fenfu.Errorf(fenfu.InvalidOrderState, "service order %s was completed with %s yuan, not %s", so.OutOrderNo,
			fenfu.Yuan(cur.TotalAmount), fenfu.Yuan(total))
		e.Remedy = "The order was paid; refund the difference with the payment's transaction_id (collection.details)."
		return cur, e
	}
	return cur, err
}

// servicePayment returns the PAYSCORE order that pays a service order's
// completion, creating it on the first completion; a completion retried
// after its capture failed sets the order's total (and the service
// order's) anew while the order is unpaid, and changes nothing once it is
// being paid. A payment claims the order only at the total it read, so a
// capture never disagrees with its order.
func (s *Service) servicePayment(ctx context.Context, so ServiceOrder, total fenfu.Fen, postPayments string) (string, error) {
	id := so.PaymentID
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		now := db.Micros(tx.Now)
		expires := db.Micros(tx.Now.Add(DefaultExpiry))
		if so.PaymentID != "" {
			id = so.PaymentID
			res, err := tx.ExecContext(ctx, `UPDATE orders SET total = $1, expires_at = $2, updated_at = $3 WHERE id = $4 AND state = $5`,
				total, expires, now, id, string(NotPay))
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // being paid, or paid: the caller answers by its state
			}
			_, err = tx.ExecContext(ctx, `UPDATE service_orders SET total_amount = $1, post_payments = $2, updated_at = $3
				WHERE id = $4 AND state = $5`, total, postPayments, now, so.ID, string(ServiceDoing))
			return err
		}
		id = s.IDs.New(fenfu.TransactionID, tx.Now)
		res, err := tx.ExecContext(ctx, `UPDATE service_orders SET payment_id = $1, total_amount = $2, post_payments = $3, updated_at = $4
			WHERE id = $5 AND state = $6 AND payment_id = ''`, id, total, postPayments, now, so.ID, string(ServiceDoing))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errRaced
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach,
			notify_url, limit_pay, total, currency, params_hash, state, created_at, expires_at, updated_at, api, scene_device, scene_ip,
			installment_offer, preselect_credit)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, 'CNY', '', $10, $11, $12, $11, 'v3', '', '', '', $13)`,
			id, so.MchID, PayScoreOutTradeNo(so.ID), so.AppID, TradePayScore, so.ServiceIntroduction, so.Attach, so.NotifyURL, total,
			string(NotPay), now, expires, db.Flag(false))
		return err
	})
	if errors.Is(err, errRaced) {
		// Another completion made the order first: pay that one.
		cur, err := s.ServiceOrder(ctx, so.ID)
		if err != nil {
			return "", err
		}
		if cur.PaymentID == "" {
			return "", serviceStateError(cur, "completed")
		}
		return cur.PaymentID, nil
	}
	if err != nil {
		return "", fenfu.Internal("pay.servicePayment", err)
	}
	return id, nil
}

// completeFree completes a service order that cost nothing: all of its
// hold is released and no payment is made. Once the hold is released no
// capture can follow, so the order ends DONE even if a completion for an
// amount made its PAYSCORE order meanwhile (that order is closed with
// it); an order that moved on otherwise is answered with its state.
func (s *Service) completeFree(ctx context.Context, so ServiceOrder, postPayments string) (ServiceOrder, error) {
	if so.PaymentID != "" {
		return so, fenfu.Errorf(fenfu.InvalidOrderState, "service order %s was completed with an amount before", so.OutOrderNo)
	}
	if _, err := s.releaseUncaptured(ctx, so, "pay.completeFree"); err != nil {
		return so, err
	}
	moved, cur, err := s.moveServiceOrder(ctx, db.Move[ServiceState]{From: []ServiceState{ServiceDoing}, To: ServiceDone,
		Set: ", total_amount = 0, post_payments = $1, updated_at = $2", Where: "id = $3"}, so.ID, postPayments)
	if err != nil {
		return so, fenfu.Op("pay.completeFree", err)
	}
	if !moved && (cur.State != ServiceDone || cur.TotalAmount != 0) {
		return cur, serviceStateError(cur, "completed")
	}
	return cur, nil
}

// servicePaid marks the service order a PAYSCORE order pays DONE and
// makes its PAYSCORE.USER_PAID notification due, in the transaction that
// marks the order paid (complete).
func servicePaid(ctx context.Context, tx *db.Tx, orderID string) error {
	q, args, err := serviceOrders.SQL(db.Move[ServiceState]{From: []ServiceState{ServiceDoing}, To: ServiceDone,
		Set: ", updated_at = $1", Where: "payment_id = $2", Returning: "id, mchid, notify_url", Args: []any{db.Micros(tx.Now), orderID}})
	if err != nil {
		return err
	}
	var so ServiceOrder
	err = tx.QueryRowContext(ctx, q, args...).Scan(&so.ID, &so.MchID, &so.NotifyURL)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("pay: PAYSCORE order %s has no service order in DOING", orderID)
	}
	if err != nil {
		return err
	}
	return notify.Enqueue(ctx, tx, serviceEvent(so, EventUserPaid))
}

// ExpireServiceOrders releases what service orders not completed in time
// keep frozen: every hold still frozen past its release time (the order's
// end and the grace period), and every CREATED or DOING service order
// past the same moves to EXPIRED. It reports how many service orders it
// expired. It is safe to run on any number of nodes at once.
func (s *Service) ExpireServiceOrders(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	due, err := credit.DueHolds(ctx, s.Credit, now, 1000)
	if err != nil {
		return 0, err
	}
	for _, id := range due {
		if _, err := s.releaseHold(ctx, id); err != nil {
			return 0, err
		}
	}
	ids, err := s.Core.Strings(ctx, `SELECT id FROM service_orders WHERE state IN ($1, $2) AND end_at <= $3 ORDER BY end_at LIMIT 1000`,
		string(ServiceCreated), string(ServiceDoing), db.Micros(now.Add(-s.serviceGrace())))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		so, err := s.ServiceOrder(ctx, id)
		if err != nil {
			return n, err
		}
		_, err = s.endServiceOrder(ctx, so, ServiceExpired, "")
		if fenfu.ErrorCode(err) == fenfu.UserPaying || fenfu.ErrorCode(err) == fenfu.InvalidOrderState {
			continue // being completed, or moved on meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ModifyServiceOrder is WeChat's modify of a completed service order's
// amount, which WeChat allows only while the completion is unpaid. fenfu
// captures on completion, so there is never such a moment: a DONE order
// is paid and the difference is refunded instead; an order not completed
// is completed with its final amount. Both fail with INVALID_ORDER_STATE.
func (s *Service) ModifyServiceOrder(ctx context.Context, mchid, outOrderNo string) (ServiceOrder, error) {
	so, err := s.ServiceOrderOf(ctx, mchid, outOrderNo)
	if err != nil {
		return so, err
	}
	if so.State == ServiceDone {
		e := fenfu.Errorf(fenfu.InvalidOrderState, "service order %s was paid when it was completed: a paid order's amount is not modified", outOrderNo)
		e.Remedy = "Refund the difference with POST /v3/refund/domestic/refunds and the payment's transaction_id (collection.details)."
		return so, e
	}
	e := fenfu.Errorf(fenfu.InvalidOrderState, "service order %s is %s: only a completed order's amount is modified", outOrderNo, so.State)
	e.Remedy = "fenfu pays a service order when it is completed: complete it with the final total_amount."
	return so, e
}

// verifyServiceOrders proves the service orders against the credit
// store's holds, merged in id byte order: every confirmed (DOING) or paid
// (DONE, for more than 0) service order has its hold, of its consumer and
// risk fund; a paid one's hold was captured; a captured hold's service
// order is completed or being completed (DOING, its payment in flight);
// and every hold has its service order; a confirmed order's hold was not
// released; and an order ended without a payment (REVOKED, EXPIRED, DONE
// for 0) has no hold still frozen once the hold's release time has
// passed. A hold frozen while its order is CREATED or ended is a
// confirmation or an end between its two commits, which the confirmation
// undoes or else the expiry job releases by that time.
func (s *Service) verifyServiceOrders(ctx context.Context) error {
	bad := func(store, what, detail string) error {
		return &ledger.Problem{Store: store, What: what, Detail: detail}
	}
	now := s.Clock.Now()
	rows, err := s.Core.QueryContext(ctx, `SELECT id, state, consumer_id, risk_amount, total_amount FROM service_orders
		ORDER BY `+s.Core.ByteOrder("id"))
	if err != nil {
		return err
	}
	defer rows.Close()
	var so ServiceOrder
	more := false
	next := func() error {
		if more = rows.Next(); more {
			return rows.Scan(&so.ID, &so.State, &so.ConsumerID, &so.RiskFund.Amount, &so.TotalAmount)
		}
		return rows.Err()
	}
	confirmed := func() bool { return so.State == ServiceDoing || (so.State == ServiceDone && so.TotalAmount > 0) }
	if err := next(); err != nil {
		return err
	}
	err = credit.ScanHolds(ctx, s.Credit, func(h credit.Hold) error {
		for more && so.ID < h.ID {
			if confirmed() {
				return bad(s.Credit.Name, "confirmed service order without its hold", so.ID)
			}
			if err := next(); err != nil {
				return err
			}
		}
		if !more || so.ID != h.ID {
			return bad(s.Core.Name, "hold without its service order", h.ID)
		}
		switch {
		case so.ConsumerID != "" && so.ConsumerID != h.ConsumerID, h.Amount != so.RiskFund.Amount:
			return bad(s.Credit.Name, "hold differs from its service order", h.ID)
		case h.State == credit.HoldCaptured && so.State != ServiceDone && so.State != ServiceDoing:
			return bad(s.Core.Name, "captured hold of a service order that was not completed", h.ID)
		case so.State == ServiceDone && so.TotalAmount > 0 && h.State != credit.HoldCaptured:
			return bad(s.Credit.Name, "paid service order whose hold was not captured", h.ID)
		case so.State == ServiceDoing && h.State == credit.HoldReleased:
			return bad(s.Credit.Name, "confirmed service order whose hold was released", h.ID)
		case !confirmed() && so.State != ServiceCreated && h.State == credit.HoldFrozen && !now.Before(h.ReleaseAfter):
			return bad(s.Credit.Name, "ended service order whose hold is still frozen past its release", h.ID)
		}
		return next()
	})
	if err != nil {
		return err
	}
	for ; more; err = next() {
		if err != nil {
			return err
		}
		if confirmed() {
			return bad(s.Credit.Name, "confirmed service order without its hold", so.ID)
		}
	}
	return rows.Err()
}
