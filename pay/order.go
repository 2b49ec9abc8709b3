// Package pay owns the order lifecycle: creating Native (QR) orders,
// paying them on credit or from balance, closing, refunding, querying, the
// recovery of payments interrupted between the two stores, and the proof
// that every order's money matches its state.
//
// An order lives in the core store. A balance payment is one core
// transaction (order state and ledger postings). A credit payment spans the
// stores without a distributed transaction: the order is claimed in core
// (PAYING, naming an attempt), the credit line is drawn and posted in the
// credit store, then the order is marked paid in core. If the process dies
// in between, Recover settles the attempt: it writes a VOID fence for the
// attempt in the credit store, which either loses to a capture that already
// committed (the order is completed) or stops the attempt forever (the
// order is released).
package pay

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/metrics"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/qr"
)

// State is an order's state as stored. The protocol's trade_state is
// derived by Order.TradeState.
type State string

// Order states.
const (
	NotPay  State = "NOTPAY"
	Paying  State = "PAYING"
	Success State = "SUCCESS"
	Refund  State = "REFUND"
	Closed  State = "CLOSED"

	// Revoked is an unpaid code-payment order the merchant reversed
	// (撤销); it can never be paid. A paid one reversed is refunded in
	// full, keeps REFUND, and answers REVOKED (Order.ReversedAt).
	Revoked State = "REVOKED"
	// PayError is a code-payment order whose payment failed after its
	// code was spent (NOT_ENOUGH, RULE_LIMIT), or that its consumer did
	// not confirm in time: the till needs a new code and a new
	// out_trade_no.
	PayError State = "PAYERROR"
	// UserPaying is never stored: it is the trade_state of a code-payment
	// order waiting for its consumer to confirm, or being paid.
	UserPaying State = "USERPAYING"
)

// orders is the order state machine: every change of an order's state
// goes through it, and a transition not listed here is an error.
var orders = db.Machine[State]{Table: "orders", Column: "state", Allowed: map[State][]State{
	NotPay:   {Paying, Success, Closed, Revoked, PayError},
	Paying:   {Success, NotPay},
	Success:  {Refund},
	Refund:   {Refund},
	Closed:   nil,
	PayError: {Revoked},
	Revoked:  nil,
}}

// CanTransition reports whether the order state machine allows from → to.
func CanTransition(from, to State) bool { return orders.Can(from, to) }

// Channel is what a consumer pays with.
type Channel string

// Channels a consumer can pay with.
const (
	ChannelCredit  Channel = "credit"
	ChannelBalance Channel = "balance"
)

// Channels lists the payment channels, credit first.
var Channels = []Channel{ChannelCredit, ChannelBalance}

// Name is the name a channel goes by outside fenfu's stores: credit, or
// ordinary for balance payments.
func (c Channel) Name() string {
	if c == ChannelBalance {
		return "ordinary"
	}
	return string(c)
}

// ParseChannel accepts credit or ordinary (or balance), in either case.
func ParseChannel(s string) (Channel, error) {
	switch strings.ToLower(s) {
	case string(ChannelCredit):
		return ChannelCredit, nil
	case "ordinary", string(ChannelBalance):
		return ChannelBalance, nil
	}
	return "", fenfu.FieldError("channel", "channel must be credit or ordinary, not %q", s)
}

// Limits from the WeChat Pay protocol.
const (
	CodeURLTTL          = 2 * time.Hour // a code_url is valid for 2 hours
	MaxRefunds          = 50            // partial refunds per order
	RefundWindow        = 365 * 24 * time.Hour
	MaxTotal            = 100_000_000_00 // ¥100,000,000 in fen
	DefaultExpiry       = 2 * time.Hour
	MaxExpiry           = 15 * 24 * time.Hour
	DefaultRecoverAfter = 30 * time.Second
)

// Order is a merchant's order.
type Order struct {
	ID          string // transaction_id
	MchID       string
	OutTradeNo  string
	AppID       string
	TradeType   string
	Description string
	Attach      string
	NotifyURL   string
	LimitPay    []string
	Total       fenfu.Fen
	Currency    string
	State       State
	Channel     Channel
	ConsumerID  string
	AttemptID   string
	Refunded    fenfu.Fen
	RefundCount int
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UpdatedAt   time.Time
	PaidAt      time.Time
	ClosedAt    time.Time
	API         string // "v3" or "v2"
	// Fee is what the payment was charged, once paid.
	Fee fee.Quote
	// HoldUntil, when set, holds the payment out of settlement until then
	// (a risk hold); HoldReason says why.
	HoldUntil    time.Time
	HoldReason   string
	SettlementID string // the settlement that paid the merchant, once settled
	Scene        Scene  // the v3 request's scene_info
	// Offers are the installment counts the merchant offers; Installments
	// the count the consumer chose when it paid on credit (1: in full).
	Offers       []Offer
	Installments int
	// PreselectCredit asks the cashier to open on credit with the
	// installment choices: the merchant's "pay with credit" box.
	PreselectCredit bool
	// PlanFee is the installment fee the merchant bears (subsidy_percent
	// 100), taken from its settlement beside Fee.
	PlanFee fenfu.Fen
	// ReversedAt is when the merchant reversed the paid code-payment
	// order (refunding it in full); zero if it did not.
	ReversedAt time.Time
	// AggregateCode is the merchant's aggregate code (聚合码) the order
	// was made from, when a consumer scanned one and entered the amount;
	// "" for every other order.
	AggregateCode string
	Token         string // the signed QR token; set by CreateNative only (derived, not stored)
}

// TradeState returns the protocol's trade_state: an order being paid is
// still NOTPAY to the merchant, and a paid order with any refund is REFUND.
func (o Order) TradeState() State {
	switch o.State {
	case NotPay:
		if o.AwaitingConfirmation() {
			return UserPaying
		}
	case Paying:
		if o.TradeType == Micropay {
			return UserPaying
		}
		return NotPay
	case Success, Refund:
		if !o.ReversedAt.IsZero() {
			return Revoked
		}
		if o.Refunded > 0 {
			return Refund
		}
	}
	return o.State
}

// TradeStateDesc describes the trade state in the protocol's words.
func (o Order) TradeStateDesc() string { return o.TradeState().Text().ZH }

// tradeStateText names each trade state: in Chinese the protocol's
// trade_state_desc, in English the same said plainly.
var tradeStateText = map[State]catalog.Text{
	Success:    {ZH: "支付成功", EN: "Paid"},
	Refund:     {ZH: "转入退款", EN: "Refunded"},
	Closed:     {ZH: "已关闭", EN: "Closed"},
	Revoked:    {ZH: "已撤销（付款码支付）", EN: "Reversed (code payment)"},
	UserPaying: {ZH: "用户支付中（付款码支付）", EN: "Payer paying (code payment)"},
	PayError:   {ZH: "支付失败", EN: "Payment failed"},
	NotPay:     {ZH: "未支付", EN: "Not paid"},
}

// Text is the trade state as a page names it (Order.TradeState); any
// other state, not one a merchant sees, is not paid.
func (s State) Text() catalog.Text {
	if t, ok := tradeStateText[s]; ok {
		return t
	}
	return tradeStateText[NotPay]
}

// Service runs the order lifecycle over the two stores.
type Service struct {
	Core, Credit *db.DB
	Merchants    *merchant.Service
	Tokens       *qr.Signer
	IDs          fenfu.IDs
	Clock        fenfu.Clock
	// RecoverAfter is how old an interrupted payment or refund must be
	// before Recover settles it, so a node never settles another node's
	// payment while it is still in flight.
	RecoverAfter time.Duration
	// Fees prices payments; the zero value uses fee.CreditPay and
	// fee.Ordinary.
	Fees Fees
	// Plans are the installment settings; the zero value is
	// DefaultPlans.
	Plans Plans
	// Counter are the code-payment settings; the zero value uses the
	// defaults.
	Counter Counter
	// afterCreditCommit, set by tests (export_test.go), runs after a credit
	// payment or refund commits in the credit store and before the core
	// store is updated; an error simulates the process dying there.
	afterCreditCommit func(orderID string) error
	// beforeCapture, likewise, runs after a credit payment's order is
	// claimed and before the credit store is written.
	beforeCapture func(orderID string) error
	// Log receives what the service recovers from on its own; nil discards.
	Log *slog.Logger
	// Risk evaluates every payment against the risk rules; nil evaluates
	// none.
	Risk *Risk
	// ServiceGrace is how long after a service order's end its frozen
	// credit is kept for the merchant to complete it (default
	// DefaultServiceGrace).
	ServiceGrace time.Duration
	// OpenID is the consumer's openid under an appid (wxpay.OpenID under
	// the platform secret), stored on the orders it pays so the exposure
	// API resolves an openid back to its consumer; nil stores none.
	OpenID func(appid, consumerID string) string
	// Codes redeems the consumers' payment codes code payments carry; nil
	// is a paycode.Service on Core without a secret (tests).
	Codes *paycode.Service
	// Metrics counts payment attempts by channel and outcome
	// (fenfu_payments_total); nil counts nothing.
	Metrics *metrics.Registry
}

func (s *Service) openID(appid, consumerID string) string {
	if s.OpenID == nil {
		return ""
	}
	return s.OpenID(appid, consumerID)
}

func (s *Service) codes() *paycode.Service {
	if s.Codes != nil {
		return s.Codes
	}
	return &paycode.Service{Core: s.Core, Clock: s.Clock}
}

// Fees are the schedules payments are priced by.
type Fees struct {
	Credit   fee.Schedule // credit-pay, by month-to-date volume
	Ordinary fee.Schedule // ordinary (balance) payments
}

func (f Fees) credit() fee.Schedule {
	if f.Credit == nil {
		return fee.CreditPay
	}
	return f.Credit
}

func (f Fees) ordinary() fee.Schedule {
	if f.Ordinary == nil {
		return fee.Ordinary
	}
	return f.Ordinary
}

func (s *Service) logf(format string, args ...any) {
	if s.Log != nil {
		s.Log.Warn(fmt.Sprintf(format, args...))
	}
}

// NativeOrder is a request to create a Native (QR) order.
type NativeOrder struct {
	MchID       string
	AppID       string
	Description string
	OutTradeNo  string
	TimeExpire  time.Time // zero for the default
	Attach      string
	NotifyURL   string
	GoodsTag    string
	LimitPay    []string
	Total       fenfu.Fen
	Currency    string
	// API is the protocol the order came through, "v3" (default) or
	// "v2"; its notification is sent in that protocol.
	API string
	// Scene is the v3 request's scene_info, when it has one.
	Scene Scene
	// Offers are the installment counts offered besides paying in full.
	Offers []Offer
	// PreselectCredit asks the cashier to open on credit with the
	// installment choices (fenfu's preselect_credit).
	PreselectCredit bool
	// AggregateCode is the aggregate code (聚合码) the order is made
	// from (package aggregate). Such an order's notify_url is optional:
	// without one the merchant queries it.
	AggregateCode string
	// counter: a code payment's order (CodeOrder), whose notify_url is
	// optional.
	counter bool
}

// Scene is an order's scene_info: the merchant's terminal and the payer's
// address as the merchant saw it. Risk rules read them.
type Scene struct {
	DeviceID      string // scene_info.device_id
	PayerClientIP string // scene_info.payer_client_ip
}

var (
	// outTradeNoRE is WeChat's out_trade_no. "@", which it leaves out, is
	// fenfu's own: PayScoreOutTradeNo.
	outTradeNoRE  = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)
	outRefundNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)
	limitPayOK    = map[string]bool{"no_balance": true, "no_credit": true, "no_debit": true, "balance_only": true}
)

func (r *NativeOrder) validate(now time.Time) error {
	if err := texts([][2]string{{"appid", r.AppID}, {"description", r.Description}, {"out_trade_no", r.OutTradeNo},
		{"attach", r.Attach}, {"notify_url", r.NotifyURL}, {"goods_tag", r.GoodsTag}, {"amount.currency", r.Currency}}, r.LimitPay...); err != nil {
		return err
	}
	switch {
	case r.AppID == "":
		return fenfu.FieldError("appid", "appid is required")
	case r.Description == "" || utf8.RuneCountInString(r.Description) > 127:
		return fenfu.FieldError("description", "description must be 1 to 127 characters")
	case !outTradeNoRE.MatchString(r.OutTradeNo):
		return fenfu.FieldError("out_trade_no", "out_trade_no must be 6 to 32 characters of 0-9, A-Z, a-z, _, -, |, *")
	case utf8.RuneCountInString(r.Attach) > 128:
		return fenfu.FieldError("attach", "attach must be at most 128 characters")
	case r.Total <= 0 || r.Total > MaxTotal:
		return fenfu.FieldError("amount.total", "amount.total must be a positive number of fen, at most %d", int64(MaxTotal))
	case r.Currency != "" && r.Currency != "CNY":
		return fenfu.FieldError("amount.currency", "amount.currency must be CNY")
	}
	if (r.counter || r.AggregateCode != "") && r.NotifyURL == "" {
		// a code payment has no notification, nor an aggregate code's
		// order without a notify_url
	} else if err := merchant.CheckNotifyURL("notify_url", r.NotifyURL); err != nil {
		return err
	}
	for _, l := range r.LimitPay {
		if !limitPayOK[l] {
			return fenfu.FieldError("limit_pay", "limit_pay value %q is not one of no_balance, no_credit, no_debit, balance_only", l)
		}
	}
	if err := checkPayer("scene_info.payer_client_ip", r.Scene.PayerClientIP, "scene_info.device_id", r.Scene.DeviceID); err != nil {
		return err
	}
	if err := checkOffers(r.Offers); err != nil {
		return err
	}
	if r.PreselectCredit && !(Order{LimitPay: r.LimitPay}).Allowed(ChannelCredit) {
		return fenfu.FieldError("preselect_credit", "preselect_credit asks for 分付, which this order's limit_pay %s rules out; drop one of them",
			strings.Join(r.LimitPay, ","))
	}
	if !r.TimeExpire.IsZero() {
		if !r.TimeExpire.After(now) {
			return fenfu.FieldError("time_expire", "time_expire must be in the future")
		}
		if r.TimeExpire.After(now.Add(MaxExpiry)) {
			return fenfu.FieldError("time_expire", "time_expire must be within 15 days")
		}
	}
	return nil
}

// texts checks every text field of a request, given as name and value,
// with fenfu.Text, and then the limit_pay values, before anything else
// looks at them.
func texts(fields [][2]string, limitPay ...string) error {
	for _, f := range fields {
		if err := fenfu.Text(f[0], f[1]); err != nil {
			return err
		}
	}
	for _, l := range limitPay {
		if err := fenfu.Text("limit_pay", l); err != nil {
			return err
		}
	}
	return nil
}

func (r *NativeOrder) hash() string {
	h := sha256.New()
	exp := ""
	if !r.TimeExpire.IsZero() {
		exp = r.TimeExpire.UTC().Format(time.RFC3339)
	}
	fields := []string{r.AppID, r.Description, r.Attach, r.NotifyURL, r.GoodsTag,
		strings.Join(r.LimitPay, ","), fmt.Sprint(r.Total), r.Currency, exp}
	if r.Scene != (Scene{}) { // so an order without one keeps the hash it always had
		fields = append(fields, r.Scene.DeviceID, r.Scene.PayerClientIP)
	}
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	if len(r.Offers) > 0 { // orders without offers hash as they always did
		h.Write([]byte(formatOffers(r.Offers)))
		h.Write([]byte{0})
	}
	if r.PreselectCredit { // and so do orders that preselect nothing
		h.Write([]byte("preselect_credit\x00"))
	}
	if r.AggregateCode != "" { // and orders of no aggregate code
		h.Write([]byte("aggregate_code\x00" + r.AggregateCode + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// CreateNative creates a Native order, or returns the existing one when
// the same out_trade_no is sent again with the same parameters. The same
// out_trade_no with different parameters fails with OUT_TRADE_NO_USED.
func (s *Service) CreateNative(ctx context.Context, r NativeOrder) (Order, error) {
	o, _, err := s.CreateOrLoadNative(ctx, r)
	return o, err
}

// CreateOrLoadNative is CreateNative that also says whether this call
// wrote the order (true) or answered the one the same request made
// before (false), for a caller that counts the orders it makes or undoes
// one it should not have made.
func (s *Service) CreateOrLoadNative(ctx context.Context, r NativeOrder) (Order, bool, error) {
	now := s.Clock.Now()
	if err := s.admit(ctx, &r, now); err != nil {
		return Order{}, false, err
	}
	hash := r.hash()
	expires := now.Add(DefaultExpiry)
	if !r.TimeExpire.IsZero() {
		expires = r.TimeExpire
	}
	id := s.IDs.New(fenfu.TransactionID, now)
	createdAt := now
	if r.API == "" {
		r.API = "v3"
	}
	res, err := s.Core.Exec(ctx, `INSERT INTO orders (id, mchid, out_trade_no, appid, trade_type, description, attach,
		notify_url, limit_pay, total, currency, params_hash, state, created_at, expires_at, updated_at, api, scene_device, scene_ip,
		installment_offer, preselect_credit, aggregate_code)
		VALUES ($1, $2, $3, $4, 'NATIVE', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $13, $15, $16, $17, $18, $19, $20)
		ON CONFLICT (mchid, out_trade_no) DO NOTHING`,
		id, r.MchID, r.OutTradeNo, r.AppID, r.Description, r.Attach, r.NotifyURL, strings.Join(r.LimitPay, ","),
		r.Total, r.Currency, hash, NotPay, db.Micros(createdAt), db.Micros(expires), r.API, r.Scene.DeviceID, r.Scene.PayerClientIP,
		formatOffers(r.Offers), db.Flag(r.PreselectCredit), r.AggregateCode)
	if err != nil {
		return Order{}, false, fenfu.Internal("pay.CreateNative", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		// The order is exactly what was written; no need to read it back.
		o := Order{ID: id, MchID: r.MchID, OutTradeNo: r.OutTradeNo, AppID: r.AppID, TradeType: "NATIVE",
			Description: r.Description, Attach: r.Attach, NotifyURL: r.NotifyURL, LimitPay: r.LimitPay, Total: r.Total,
			Currency: r.Currency, State: NotPay, API: r.API, Scene: r.Scene, Offers: parseOffers(formatOffers(r.Offers)), PreselectCredit: r.PreselectCredit,
			CreatedAt: db.Time(db.Micros(createdAt)), ExpiresAt: db.Time(db.Micros(expires)),
			UpdatedAt: db.Time(db.Micros(createdAt)), AggregateCode: r.AggregateCode}
		o.Token = s.token(o)
		return o, true, nil
	}
	o, err := getBy(ctx, s.Core, `mchid = $1 AND out_trade_no = $2`, r.MchID, r.OutTradeNo)
	if err != nil {
		return Order{}, false, err
	}
	o.Token = s.token(o)
	{
		var stored string
		if err := s.Core.QueryRowContext(ctx, `SELECT params_hash FROM orders WHERE id = $1`, o.ID).Scan(&stored); err != nil {
			return Order{}, false, fenfu.Internal("pay.CreateNative", err)
		}
		if stored != hash {
			return Order{}, false, fenfu.Errorf(fenfu.OutTradeNoUsed, "out_trade_no %s was already used with different parameters", r.OutTradeNo)
		}
		switch o.State {
		case Success, Refund:
			return o, false, fenfu.Errorf(fenfu.OrderPaid, "order %s is already paid", r.OutTradeNo)
		case Closed:
			return o, false, fenfu.Errorf(fenfu.OrderClosed, "order %s is closed", r.OutTradeNo)
		}
	}
	return o, false, nil
}

// admit defaults an order request's currency and checks it, and that its
// appid is its merchant's.
func (s *Service) admit(ctx context.Context, r *NativeOrder, now time.Time) error {
	if r.Currency == "" {
		r.Currency = "CNY"
	}
	if err := r.validate(now); err != nil {
		return err
	}
	m, err := s.Merchants.Get(ctx, r.MchID)
	if err != nil {
		return err
	}
	if m.AppID != r.AppID {
		return fenfu.FieldError("appid", "appid %s is not bound to merchant %s", r.AppID, r.MchID)
	}
	return nil
}

func (s *Service) token(o Order) string {
	exp := o.CreatedAt.Add(CodeURLTTL)
	if o.ExpiresAt.Before(exp) {
		exp = o.ExpiresAt
	}
	return s.Tokens.Token(qr.Payload{OrderID: o.ID, MchID: o.MchID, Total: o.Total, Expires: exp})
}

const orderCols = `id, mchid, out_trade_no, appid, trade_type, description, attach, notify_url, limit_pay, total, currency,
	state, channel, consumer_id, attempt_id, refunded, refund_count, created_at, expires_at, updated_at, paid_at, closed_at, api,
	fee, fee_rate, fee_tier, hold_until, hold_reason, settlement_id, scene_device, scene_ip, installment_offer, installments, plan_fee, preselect_credit, reversed_at,
	aggregate_code`

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getBy(ctx context.Context, q queryer, where string, args ...any) (Order, error) {
	o, err := scanOrder(q.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return o, fenfu.Errorf(fenfu.OrderNotExist, "order does not exist")
	}
	if err != nil {
		return o, fenfu.Internal("pay.getBy", err)
	}
	return o, nil
}

// scanOrder reads an order of orderCols from a row.
func scanOrder(row interface{ Scan(dest ...any) error }) (Order, error) {
	var o Order
	var limit, offers string
	var created, expires, updated, paid, closed, rate, hold, reversed int64
	err := row.Scan(
		&o.ID, &o.MchID, &o.OutTradeNo, &o.AppID, &o.TradeType, &o.Description, &o.Attach, &o.NotifyURL, &limit,
		&o.Total, &o.Currency, &o.State, &o.Channel, &o.ConsumerID, &o.AttemptID, &o.Refunded, &o.RefundCount,
		&created, &expires, &updated, &paid, &closed, &o.API, &o.Fee.Fee, &rate, &o.Fee.Tier, &hold, &o.HoldReason, &o.SettlementID,
		&o.Scene.DeviceID, &o.Scene.PayerClientIP, &offers, &o.Installments, &o.PlanFee, &o.PreselectCredit, &reversed, &o.AggregateCode)
	if err != nil {
		return o, err
	}
	if limit != "" {
		o.LimitPay = strings.Split(limit, ",")
	}
	o.Offers = parseOffers(offers)
	o.CreatedAt, o.ExpiresAt, o.UpdatedAt = db.Time(created), db.Time(expires), db.Time(updated)
	o.PaidAt, o.ClosedAt = db.Time(paid), db.Time(closed)
	o.Fee.Rate = fee.PPM(rate)
	if hold > 0 {
		o.HoldUntil = db.Time(hold)
	}
	if reversed > 0 {
		o.ReversedAt = db.Time(reversed)
	}
	return o, nil
}

// ofCode selects a merchant's ($1) orders made from its aggregate code
// $2. The index of a code's orders (core 0038) is partial, of the orders
// whose aggregate_code is not empty, so that the many orders made
// otherwise cost it nothing; neither SQLite nor a generic PostgreSQL plan
// can tell that aggregate_code = $2 implies that, so the query says it.
// On SQLite the query also names the index: the orders table is stored by
// (mchid, created_at, id) (core 0058), and without statistics the planner
// would rather walk the merchant's rows in the table's own order, newest
// first, than look each row of the index up, which reads every order a
// merchant ever had to find a code's few.
func ofCode(e db.Engine) string {
	from := "orders"
	if e == db.SQLite {
		from = "orders INDEXED BY orders_aggregate_code"
	}
	return `FROM ` + from + ` WHERE mchid = $1 AND aggregate_code = $2 AND aggregate_code <> ''`
}

// The queries of OrdersOfCode on each engine: how many orders a code has,
// and a page of them ($3 of them after the first $4), newest first.
var countOfCode, ordersOfCode = map[db.Engine]string{}, map[db.Engine]string{}

func init() {
	for _, e := range []db.Engine{db.SQLite, db.Postgres} {
		countOfCode[e] = `SELECT COUNT(*) ` + ofCode(e)
		ordersOfCode[e] = `SELECT ` + orderCols + ` ` + ofCode(e) + ` ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4`
	}
}

// OrdersOfCode returns a page of the merchant's orders made from one of
// its aggregate codes, newest first, and how many there are in all.
func (s *Service) OrdersOfCode(ctx context.Context, mchid, code string, limit, offset int) ([]Order, int, error) {
	var total int
	if err := s.Core.QueryRowContext(ctx, countOfCode[s.Core.Engine], mchid, code).Scan(&total); err != nil {
		return nil, 0, fenfu.Internal("pay.OrdersOfCode", err)
	}
	out, err := db.All(ctx, s.Core, scanOrder, ordersOfCode[s.Core.Engine], mchid, code, limit, offset)
	if err != nil {
		return nil, 0, fenfu.Internal("pay.OrdersOfCode", err)
	}
	return out, total, nil
}

// Get returns an order by id without checking its merchant; for the
// cashier, which reaches it through a signed token.
func (s *Service) Get(ctx context.Context, id string) (Order, error) {
	return getBy(ctx, s.Core, `id = $1`, id)
}

// GetMany returns the orders of these ids that exist, by id, in one read.
// The statement names a power of two of ids (db.Padded), so that reads
// of rounds of any size share a few prepared statements.
func (s *Service) GetMany(ctx context.Context, ids []string) (map[string]Order, error) {
	out := make(map[string]Order, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ph, args := db.In(db.Padded(ids), 0)
	rows, err := s.Core.QueryContext(ctx, `SELECT `+orderCols+` FROM orders WHERE id IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fenfu.Internal("pay.GetMany", err)
	}
	err = db.Each(rows, scanOrder, func(o Order) error {
		out[o.ID] = o
		return nil
	})
	if err != nil {
		return nil, fenfu.Internal("pay.GetMany", err)
	}
	return out, nil
}

// QueryByOutTradeNo returns a merchant's order by out_trade_no. A
// code-payment order whose consumer did not confirm it in time is read as
// what it became, PAYERROR.
func (s *Service) QueryByOutTradeNo(ctx context.Context, mchid, outTradeNo string) (Order, error) {
	return s.lapse(ctx)(getBy(ctx, s.Core, `mchid = $1 AND out_trade_no = $2`, mchid, outTradeNo))
}

// QueryByID returns a merchant's order by transaction_id, as
// QueryByOutTradeNo does.
func (s *Service) QueryByID(ctx context.Context, mchid, id string) (Order, error) {
	return s.lapse(ctx)(getBy(ctx, s.Core, `id = $1 AND mchid = $2`, id, mchid))
}

// Close closes an unpaid order. Closing a closed order succeeds; a paid
// order fails with ORDERPAID and one being paid with USERPAYING. A code
// payment is reversed, not closed (TRADE_ERROR).
func (s *Service) Close(ctx context.Context, mchid, outTradeNo string) error {
	q, args, err := orders.SQL(db.Move[State]{From: []State{NotPay}, To: Closed, Set: ", closed_at = $1, updated_at = $1",
		Where: "mchid = $2 AND out_trade_no = $3 AND trade_type NOT IN ($4, $5)",
		Args:  []any{db.Micros(s.Clock.Now()), mchid, outTradeNo, Micropay, TradePayScore}})
	if err != nil {
		return fenfu.Internal("pay.Close", err)
	}
	res, err := s.Core.Exec(ctx, q, args...)
	if err != nil {
		return fenfu.Internal("pay.Close", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	o, err := s.QueryByOutTradeNo(ctx, mchid, outTradeNo)
	if err != nil {
		return err
	}
	if err := s.unclosable(ctx, o); err != nil {
		return err
	}
	return stateError(o, s.Clock.Now(), Closed)
}

// unclosable refuses the close route an order that another route ends:
// a code payment is reversed; a service order's PAYSCORE order is closed
// by the service order's cancel, which also releases the consumer's
// frozen credit (closing the order alone would leave the service order
// confirmed, its credit frozen, and no completion able to pay it).
func (s *Service) unclosable(ctx context.Context, o Order) error {
	switch o.TradeType {
	case Micropay:
		e := fenfu.Errorf(fenfu.TradeError, "order %s is a code payment, which is reversed rather than closed", o.OutTradeNo)
		e.Remedy = "Reverse it (/secapi/pay/reverse, or POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse)."
		return e
	case TradePayScore:
		e := fenfu.Errorf(fenfu.TradeError, "order %s pays a service order, which is cancelled rather than its payment closed", o.OutTradeNo)
		e.Remedy = "Cancel the service order (POST /v3/payscore/serviceorder/{out_order_no}/cancel), or complete it again."
		if so, err := serviceOrderBy(ctx, s.Core, `payment_id = $1`, o.ID); err == nil {
			e.Remedy = "Cancel service order " + so.OutOrderNo + " (POST /v3/payscore/serviceorder/" + so.OutOrderNo +
				"/cancel), or complete it again."
		}
		return e
	}
	return nil
}

// stateError explains why an order in its current state cannot move on.
func stateError(o Order, now time.Time, wanted State) error {
	switch o.State {
	case Success, Refund:
		return fenfu.Errorf(fenfu.OrderPaid, "order %s is already paid", o.OutTradeNo)
	case Closed:
		if wanted == Closed {
			return nil
		}
		return fenfu.Errorf(fenfu.OrderClosed, "order %s is closed", o.OutTradeNo)
	case Paying:
		return fenfu.Errorf(fenfu.UserPaying, "order %s is being paid", o.OutTradeNo)
	}
	if !now.Before(o.ExpiresAt) {
		return fenfu.Errorf(fenfu.OrderClosed, "order %s expired at %s", o.OutTradeNo, o.ExpiresAt.In(fenfu.Shanghai).Format(time.DateTime))
	}
	// The change was refused, yet the order still reads as unpaid: another
	// payment holds it and has not committed yet (with SQLite's group
	// commit, later transactions of a batch see an earlier one's claim
	// before readers do). It is being paid.
	return fenfu.Errorf(fenfu.UserPaying, "order %s is being paid", o.OutTradeNo)
}
