// Package aggregate owns merchants' aggregate codes (聚合码) in the core
// store: static codes for a till or a table that a merchant prints once.
// A consumer scans one, logs in, enters the amount, and gets a Native
// order of the merchant made through pay's one create path, which it then
// pays on credit or from balance on the order's cashier page. The code
// carries a token signed over its id and merchant (qr.CodeSigner), so it
// cannot be altered to pay another merchant; the store says whether it
// is still active.
package aggregate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
)

// Limits of a code's texts.
const (
	MaxLabel       = 32  // characters of a label, one line of plain text
	MaxDescription = 127 // characters of a description: an order's description
)

// Paging of the lists.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// State is an aggregate code's state.
type State string

// Code states: an active code makes orders; a revoked one never again.
const (
	Active  State = "active"
	Revoked State = "revoked"
)

// codes is the code state machine.
var codes = db.Machine[State]{Table: "aggregate_codes", Column: "state", Allowed: map[State][]State{
	Active: {Revoked},
}}

// Code is a merchant's aggregate code.
type Code struct {
	ID          string    `json:"code_id"`
	MchID       string    `json:"mchid"`
	Label       string    `json:"label"`
	Description string    `json:"description,omitempty"`
	NotifyURL   string    `json:"notify_url,omitempty"`
	State       State     `json:"state"`
	CreatedAt   time.Time `json:"-"`
	RevokedAt   time.Time `json:"-"`
	// Token is the signed token the printed code carries (derived, not
	// stored): the code's URL is PUBLIC_URL/a/{token}.
	Token string `json:"-"`
}

// Service keeps aggregate codes and makes their orders.
type Service struct {
	DB        *db.DB // the core store
	Pay       *pay.Service
	Merchants *merchant.Service
	Tokens    *qr.CodeSigner
	IDs       fenfu.IDs
	Clock     fenfu.Clock
}

// NewCode is a request for a code.
type NewCode struct {
	MchID       string
	Label       string // what the consumer sees: "Till 3", "Table 12"
	Description string // optional: the orders' description
	NotifyURL   string // optional: the orders' notify_url, else the merchant's
}

func (n NewCode) validate() error {
	if strings.TrimSpace(n.Label) == "" {
		return fenfu.FieldError("label", "label is required: what the consumer sees, such as \"Till 3\" or \"Table 12\"")
	}
	if err := merchant.Line("label", n.Label, MaxLabel); err != nil {
		return err
	}
	if err := merchant.Line("description", n.Description, MaxDescription); err != nil {
		return err
	}
	if n.NotifyURL != "" {
		if err := fenfu.Text("notify_url", n.NotifyURL); err != nil {
			return err
		}
		return merchant.CheckNotifyURL("notify_url", n.NotifyURL)
	}
	return nil
}

// Create makes an active code for the merchant.
func (s *Service) Create(ctx context.Context, n NewCode) (Code, error) {
	if err := n.validate(); err != nil {
		return Code{}, err
	}
	if _, err := s.Merchants.Get(ctx, n.MchID); err != nil {
		return Code{}, err
	}
	now := s.Clock.Now()
	c := Code{ID: s.IDs.New(fenfu.AggregateCodeID, now), MchID: n.MchID, Label: n.Label, Description: n.Description,
		NotifyURL: n.NotifyURL, State: Active, CreatedAt: db.Time(db.Micros(now))}
	if _, err := s.DB.Exec(ctx, `INSERT INTO aggregate_codes (id, mchid, label, description, notify_url, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.MchID, c.Label, c.Description, c.NotifyURL, c.State, db.Micros(now)); err != nil {
		return Code{}, fenfu.Internal("aggregate.Create", err)
	}
	return s.signed(c), nil
}

func (s *Service) signed(c Code) Code {
	c.Token = s.Tokens.Token(qr.CodePayload{CodeID: c.ID, MchID: c.MchID})
	return c
}

const codeCols = `id, mchid, label, description, notify_url, state, created_at, revoked_at`

func scanCode(row interface{ Scan(...any) error }) (Code, error) {
	var c Code
	var created, revoked int64
	if err := row.Scan(&c.ID, &c.MchID, &c.Label, &c.Description, &c.NotifyURL, &c.State, &created, &revoked); err != nil {
		return c, err
	}
	c.CreatedAt = db.Time(created)
	if revoked > 0 {
		c.RevokedAt = db.Time(revoked)
	}
	return c, nil
}

// notFound is the answer for a code that is not the merchant's.
func notFound(id string) error {
	e := fenfu.Errorf(fenfu.ResourceNotExists, "aggregate code %s does not exist", id)
	e.Remedy = "Check code_id; a merchant sees only its own aggregate codes (GET /v3/fenfu/aggregate-codes lists them)."
	return e
}

// Get returns the merchant's code, or RESOURCE_NOT_EXISTS if it has none
// by that id.
func (s *Service) Get(ctx context.Context, mchid, id string) (Code, error) {
	c, err := scanCode(s.DB.QueryRowContext(ctx, `SELECT `+codeCols+` FROM aggregate_codes WHERE id = $1 AND mchid = $2`, id, mchid))
	if errors.Is(err, sql.ErrNoRows) {
		return Code{}, notFound(id)
	}
	if err != nil {
		return Code{}, fenfu.Internal("aggregate.Get", err)
	}
	return s.signed(c), nil
}

// List returns a page of the merchant's codes, newest first, and how many
// it has in all.
func (s *Service) List(ctx context.Context, mchid string, limit, offset int) ([]Code, int, error) {
	var total int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM aggregate_codes WHERE mchid = $1`, mchid).Scan(&total); err != nil {
		return nil, 0, fenfu.Internal("aggregate.List", err)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+codeCols+` FROM aggregate_codes WHERE mchid = $1
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, mchid, limit, offset)
	if err != nil {
		return nil, 0, fenfu.Internal("aggregate.List", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (Code, error) {
		c, err := scanCode(r)
		return s.signed(c), err
	})
	if err != nil {
		return nil, 0, fenfu.Internal("aggregate.List", err)
	}
	return out, total, nil
}

// Revoke stops the merchant's code for good: from now on every scan of it
// is refused. Revoking a revoked code answers it as it is.
func (s *Service) Revoke(ctx context.Context, mchid, id string) (Code, error) {
	q, args, err := codes.SQL(db.Move[State]{From: []State{Active}, To: Revoked, Set: ", revoked_at = $1",
		Where: "id = $2 AND mchid = $3", Args: []any{db.Micros(s.Clock.Now()), id, mchid}})
	if err != nil {
		return Code{}, fenfu.Internal("aggregate.Revoke", err)
	}
	if _, err := s.DB.Exec(ctx, q, args...); err != nil {
		return Code{}, fenfu.Internal("aggregate.Revoke", err)
	}
	return s.Get(ctx, mchid, id)
}

// withdrawn is the answer for a scan of a revoked code.
func withdrawn(c Code) error {
	e := fenfu.Errorf(fenfu.InvalidRequest, "the merchant has withdrawn this code (%s); it takes no more payments", c.Label)
	e.Remedy = "Ask the merchant for the code it uses now, or to pay another way."
	return e
}

// Open returns the active code behind a scanned token and its merchant.
// A token that was altered or not issued here fails with PARAM_ERROR; a
// revoked code with INVALID_REQUEST.
func (s *Service) Open(ctx context.Context, token string) (Code, merchant.Merchant, error) {
	p, err := s.Tokens.Parse(token)
	if err != nil {
		return Code{}, merchant.Merchant{}, err
	}
	c, err := s.Get(ctx, p.MchID, p.CodeID)
	if fenfu.ErrorCode(err) == fenfu.ResourceNotExists {
		// Signed here, yet not in the store: another deployment's secret
		// or a store restored from before the code. Either way, no code.
		e := fenfu.Errorf(fenfu.ParamError, "this code is not a payment code of this platform")
		e.Remedy = "Ask the merchant to pay another way, or for its current code."
		return Code{}, merchant.Merchant{}, e
	}
	if err != nil {
		return Code{}, merchant.Merchant{}, err
	}
	if c.State != Active {
		return c, merchant.Merchant{}, withdrawn(c)
	}
	m, err := s.Merchants.Get(ctx, c.MchID)
	if err != nil {
		return c, m, err
	}
	return c, m, nil
}

// MaxAmount is the most a consumer may enter on a code: the most a Native
// order accepts.
const MaxAmount fenfu.Fen = pay.MaxTotal

// ParseAmount reads the amount a consumer entered on a code's page: yuan
// with at most two decimals ("23.45", "23.4", "23"), optionally after a
// "¥", more than nothing and at most MaxAmount. Anything else, an
// exponent or a sign included, fails with PARAM_ERROR on field amount,
// saying what to enter.
func ParseAmount(s string) (fenfu.Fen, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(s, "¥"), "￥"))
	f, err := fenfu.ParseYuan(s)
	if err != nil || strings.HasPrefix(s, "-") {
		e := fenfu.FieldError("amount", "enter the amount in yuan, like 23.45: digits and at most two decimals")
		e.Remedy = "Enter the amount the merchant asks for, in yuan."
		return 0, e
	}
	if err := checkAmount(f); err != nil {
		return 0, err
	}
	return f, nil
}

// checkAmount refuses an amount of nothing or less, or above MaxAmount.
func checkAmount(f fenfu.Fen) error {
	if f <= 0 {
		e := fenfu.FieldError("amount", "the amount must be more than ¥0.00")
		e.Remedy = "Enter the amount the merchant asks for, in yuan."
		return e
	}
	if f > MaxAmount {
		e := fenfu.FieldError("amount", "the amount must be at most ¥%s", fenfu.Yuan(MaxAmount))
		e.Remedy = "Check the amount; a larger sum is paid in several orders."
		return e
	}
	return nil
}

// NonceTTL is how long an amount form may be sent after the page showed
// it: the nonce it carries names when.
const NonceTTL = time.Hour

// Nonce returns a fresh nonce for an amount form: the time it was issued
// and random characters. The same nonce sent twice makes one order.
func (s *Service) Nonce() string {
	return strconv.FormatInt(s.Clock.Now().Unix(), 10) + "." + s.IDs.Nonce(20)
}

var nonceRE = regexp.MustCompile(`^([0-9]{1,12})\.[0-9A-Za-z]{16,40}$`)

// OutTradeNo is the out_trade_no of the order a consumer makes on a code
// with a form's nonce: "AGG", the form's time (yyMMddHHmmss, Asia/Shanghai)
// and 17 hexadecimal digits of a hash of the code, the consumer and the
// nonce, 32 characters in all. The same form sent twice names the same
// order; another consumer's, or another form, another.
func OutTradeNo(codeID, consumerID, nonce string, issued time.Time) string {
	h := sha256.Sum256([]byte(codeID + "|" + consumerID + "|" + nonce))
	return "AGG" + issued.In(fenfu.Shanghai).Format("060102150405") + strings.ToUpper(hex.EncodeToString(h[:])[:17])
}

// issued reads when a form's nonce was issued, refusing a malformed one,
// one from the future, or one older than NonceTTL.
func (s *Service) issued(nonce string) (time.Time, error) {
	m := nonceRE.FindStringSubmatch(nonce)
	bad := func() error {
		e := fenfu.FieldError("nonce", "the amount form is not one this page issued, or it is more than %s old", NonceTTL)
		e.Remedy = "Scan the merchant's code again and enter the amount on the new page."
		return e
	}
	if m == nil {
		return time.Time{}, bad()
	}
	sec, _ := strconv.ParseInt(m[1], 10, 64)
	t, now := time.Unix(sec, 0), s.Clock.Now()
	if t.After(now.Add(time.Minute)) || now.Sub(t) > NonceTTL {
		return time.Time{}, bad()
	}
	return t, nil
}

// Order makes the order a consumer asks for on the code behind token: the
// amount it entered, to the code's merchant, through pay's create path.
// The order's description is the code's, or "label · merchant"; its
// notify_url the code's, or the merchant's; its attach the code's id.
// The same form (nonce) sent again by the same consumer answers the same
// order; once that is paid, with ORDERPAID beside it. made says whether
// this call made the order, rather than answering the one the form made
// before or refusing.
//
// admit, if not nil, is asked before a form that has no order yet makes
// one (a caller's limit of the orders a consumer starts); its error
// refuses the form. A form sent again answers its order without asking.
// Two copies of a form sent at once may both be admitted; one makes the
// order, and made says which.
//
// A code revoked while its order is written makes none: once the order
// is written the code is read again, and if the revoke came first the
// order made is closed (pay.Service.Close) and the form refused as a
// scan of a revoked code is. An order whose code was still active after
// it was written was made before the revoke answered, and stays
// payable.
func (s *Service) Order(ctx context.Context, token, consumerID, nonce string, amount fenfu.Fen, admit func() error) (o pay.Order, made bool, err error) {
	if consumerID == "" {
		return pay.Order{}, false, fenfu.Errorf(fenfu.Unauthenticated, "log in to pay the merchant")
	}
	c, m, err := s.Open(ctx, token)
	if err != nil {
		return pay.Order{}, false, err
	}
	if err := checkAmount(amount); err != nil {
		return pay.Order{}, false, err
	}
	issued, err := s.issued(nonce)
	if err != nil {
		return pay.Order{}, false, err
	}
	desc := c.Description
	if desc == "" {
		desc = c.Label + " · " + m.Name
	}
	notifyURL := c.NotifyURL
	if notifyURL == "" {
		notifyURL = m.NotifyURL
	}
	no := OutTradeNo(c.ID, consumerID, nonce, issued)
	if admit != nil {
		if _, err := s.Pay.QueryByOutTradeNo(ctx, c.MchID, no); fenfu.ErrorCode(err) == fenfu.OrderNotExist {
			if err := admit(); err != nil {
				return pay.Order{}, false, err
			}
		} else if err != nil {
			return pay.Order{}, false, err
		}
	}
	o, made, err = s.Pay.CreateOrLoadNative(ctx, pay.NativeOrder{MchID: c.MchID, AppID: m.AppID, Description: desc,
		OutTradeNo: no, Attach: c.ID, NotifyURL: notifyURL, Total: amount, AggregateCode: c.ID})
	if err != nil {
		return o, made, err
	}
	now, err := s.Get(ctx, c.MchID, c.ID)
	if err != nil {
		return pay.Order{}, made, err
	}
	if now.State == Active {
		return o, made, nil
	}
	if made {
		if err := s.Pay.Close(ctx, o.MchID, o.OutTradeNo); err != nil {
			return pay.Order{}, made, err
		}
	}
	return pay.Order{}, false, withdrawn(now)
}

// Orders returns a page of the orders made from the merchant's code,
// newest first, and how many there are.
func (s *Service) Orders(ctx context.Context, mchid, id string, limit, offset int) ([]pay.Order, int, error) {
	if _, err := s.Get(ctx, mchid, id); err != nil {
		return nil, 0, err
	}
	return s.Pay.OrdersOfCode(ctx, mchid, id, limit, offset)
}
