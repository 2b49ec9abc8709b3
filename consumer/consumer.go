// Package consumer owns the people who pay: their identity and login (phone
// and PIN) and their balance, in the core store, and the opening of their
// credit line in the credit store. A consumer's phone is stored sealed,
// with a keyed blind index that login finds it by.
package consumer

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"regexp"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/mask"
	"github.com/fenfu/fenfu/seal"
)

// Consumer is a consumer with its balance and credit line.
type Consumer struct {
	ID      string      `json:"id"`
	Phone   string      `json:"phone"`
	Balance fenfu.Fen   `json:"balance"`
	Credit  credit.Line `json:"credit"`
}

// BalanceAccount returns the ledger account of a consumer's balance.
func BalanceAccount(id string) ledger.Account { return ledger.AccountOf(ledger.ConsumerBalance, id) }

// Service manages consumers across the two stores.
type Service struct {
	Core, Credit *db.DB
	IDs          fenfu.IDs
	Clock        fenfu.Clock
	// Log gets a Warn for every failed or refused login, with the phone
	// masked and the source address; never the PIN.
	Log *slog.Logger
	// Limits bounds wrong logins per phone and per source address.
	Limits LoginLimits
	// Sealer seals phone numbers at rest and computes their blind index;
	// every command sets it. Left nil (in tests of other packages), phones
	// are stored as given and indexed by themselves.
	Sealer *seal.Sealer

	checkPIN func(stored, pin string) (ok, stale bool) // login.Check, or a test's counter
	hashing  login.Gate
	attempts *login.Counter
}

// New returns a Service with the default login limits. Its log discards
// until Log is set.
func New(core, creditDB *db.DB, ids fenfu.IDs, clock fenfu.Clock) *Service {
	return &Service{Core: core, Credit: creditDB, IDs: ids, Clock: clock,
		Log: slog.New(slog.DiscardHandler), Limits: DefaultLoginLimits(),
		checkPIN: login.Check, hashing: login.NewGate(), attempts: &login.Counter{DB: core, Clock: clock}}
}

// NewConsumer describes a consumer to create.
type NewConsumer struct {
	Phone       string // 11 digits; generated when empty
	PIN         string // 6 digits; generated when empty
	CreditLimit fenfu.Fen
	Rating      string
	Balance     fenfu.Fen
}

var (
	phoneRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	pinRE   = regexp.MustCompile(`^[0-9]{6}$`)
)

// checkPhone refuses a phone that is not a mainland mobile number.
func checkPhone(phone string) error {
	if !phoneRE.MatchString(phone) {
		e := fenfu.FieldError("phone", "phone must be an 11-digit mainland mobile number")
		e.Remedy = "Enter the 11-digit mobile number, starting 13 to 19, without spaces or country code."
		return e
	}
	return nil
}

// Create creates a consumer with an opening balance (posted as a top-up)
// and a credit line. It returns the consumer and the PIN (generated if none
// was given).
func (s *Service) Create(ctx context.Context, n NewConsumer) (Consumer, string, error) {
	if n.Phone == "" {
		n.Phone = "17" + digitsOnly(s.IDs.Nonce(9))
	}
	if err := checkPhone(n.Phone); err != nil {
		return Consumer{}, "", err
	}
	if n.PIN == "" {
		n.PIN = digitsOnly(s.IDs.Nonce(6))
	}
	if !pinRE.MatchString(n.PIN) {
		return Consumer{}, "", fenfu.FieldError("pin", "PIN must be 6 digits")
	}
	if n.CreditLimit < 0 || n.Balance < 0 {
		return Consumer{}, "", fenfu.FieldError("credit_limit", "credit limit and balance must not be negative")
	}
	if !credit.ValidRating(n.Rating) {
		return Consumer{}, "", fenfu.FieldError("rating", "rating must be one of A, B, C, D")
	}
	now := s.Clock.Now()
	id := s.IDs.New(fenfu.ConsumerID, now)
	sealed, err := s.sealPhone(id, n.Phone)
	if err != nil {
		return Consumer{}, "", fenfu.Internal("consumer.Create", err)
	}
	err = s.Core.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO consumers (id, phone, phone_index, pin_hash, created_at, phone_hash_index)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, id, sealed, s.phoneIndex(n.Phone), login.Hash(n.PIN), db.Micros(tx.Now),
			s.phoneHashIndex(PhoneHash(n.Phone)))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fenfu.FieldError("phone", "a consumer with phone %s already exists", mask.Phone(n.Phone))
		}
		if err := ledger.Open(ctx, tx, BalanceAccount(id)); err != nil {
			return err
		}
		if n.Balance > 0 {
			return topUp(ctx, tx, id, "open:"+id, n.Balance)
		}
		return nil
	})
	if err != nil {
		return Consumer{}, "", err
	}
	if err := s.Credit.Update(ctx, func(tx *db.Tx) error {
		return credit.Open(ctx, tx, id, n.CreditLimit, n.Rating)
	}); err != nil {
		return Consumer{}, "", err
	}
	c, err := s.Get(ctx, id)
	return c, n.PIN, err
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteByte(byte('0' + r%10))
	}
	return b.String()
}

// TopUp adds money to a consumer's balance. ref makes it idempotent.
func (s *Service) TopUp(ctx context.Context, id, ref string, amount fenfu.Fen) error {
	if amount <= 0 {
		return fenfu.FieldError("amount", "top-up amount must be positive")
	}
	return s.Core.Update(ctx, func(tx *db.Tx) error { return topUp(ctx, tx, id, ref, amount) })
}

// topUpTxn is the ledger transaction of a top-up: the platform's funding
// pays amount into the consumer's balance.
func topUpTxn(id, ref string, amount fenfu.Fen) ledger.Txn {
	return ledger.Txn{Kind: "topup", Ref: ref, Entries: []ledger.Entry{
		ledger.Debit(ledger.AccountOf(ledger.PlatformFunding, "topup"), amount),
		ledger.Credit(BalanceAccount(id), amount),
	}}
}

func topUp(ctx context.Context, tx *db.Tx, id, ref string, amount fenfu.Fen) error {
	err := ledger.Post(ctx, tx, topUpTxn(id, ref, amount))
	if errors.Is(err, ledger.ErrNoAccount) {
		return fenfu.Errorf(fenfu.ResourceNotExists, "no consumer %s", id)
	}
	if errors.Is(err, ledger.ErrDuplicate) {
		return nil
	}
	return err
}

// Get returns a consumer with its balance and credit line.
func (s *Service) Get(ctx context.Context, id string) (Consumer, error) {
	c := Consumer{ID: id}
	var stored string
	err := s.Core.QueryRowContext(ctx, `SELECT phone FROM consumers WHERE id = $1`, id).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fenfu.Errorf(fenfu.ResourceNotExists, "no consumer %s", id)
	}
	if err != nil {
		return c, fenfu.Internal("consumer.Get", err)
	}
	if c.Phone, err = s.openPhone(id, stored); err != nil {
		return c, fenfu.Internal("consumer.Get", err)
	}
	// The balance account opens with the consumer, in one transaction.
	// This page read is off the payment path, so a second read is cheap.
	c.Balance, err = ledger.Balance(ctx, s.Core, BalanceAccount(id))
	if err != nil {
		return c, fenfu.Internal("consumer.Get", err)
	}
	c.Credit, err = credit.Get(ctx, s.Credit, id)
	if err != nil && !errors.Is(err, credit.ErrNoLine) {
		return c, fenfu.Internal("consumer.Get", err)
	}
	return c, nil
}

// rehash replaces a stale PIN hash with one of today's scheme, once the
// PIN is known to be right. The login does not depend on it: if it fails,
// the old hash still verifies and the next login tries again.
func (s *Service) rehash(ctx context.Context, id, old, pin string) {
	_, _ = s.Core.Exec(ctx, `UPDATE consumers SET pin_hash = $1 WHERE id = $2 AND pin_hash = $3`, login.Hash(pin), id, old)
}

// ByPhone returns the consumer whose phone is phone, as staff look one
// up: found by the phone's blind index, never by reading phones.
func (s *Service) ByPhone(ctx context.Context, phone string) (Consumer, error) {
	if err := checkPhone(phone); err != nil {
		return Consumer{}, err
	}
	var id string
	err := s.Core.QueryRowContext(ctx, `SELECT id FROM consumers WHERE phone_index = $1`, s.phoneIndex(phone)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Consumer{}, fenfu.Errorf(fenfu.ResourceNotExists, "no consumer has the phone %s", mask.Phone(phone))
	}
	if err != nil {
		return Consumer{}, fenfu.Internal("consumer.ByPhone", err)
	}
	return s.Get(ctx, id)
}
