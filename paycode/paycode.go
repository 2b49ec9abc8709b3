// Package paycode issues consumers' payment codes (付款码) and redeems
// them. A payment code is 18 digits beginning 10 to 15, as WeChat Pay's
// are, shown on the consumer's phone as a barcode and a QR code for a
// merchant's till to scan. It is bound to its consumer and to the channel
// the consumer chose (credit or balance), lives for a short window, pays
// one order, and issuing the consumer a new code cuts the earlier ones short.
// The store keeps only a keyed hash of each code.
package paycode

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Length is the number of digits of a payment code.
const Length = 18

// DefaultTTL is how long a code pays after it is issued. The consumer's
// page shows a new code every Refresh; a code shown just before a
// refresh still pays at a slow till.
const DefaultTTL = 2 * time.Minute

// Refresh is how often the consumer's page shows a new code.
const Refresh = time.Minute

// Overlap is how long a code still pays after the consumer is issued the
// next one: the page refreshes every minute, and a code a till scanned
// just before a refresh reaches fenfu a moment after it.
const Overlap = 30 * time.Second

// DefaultGap is the least time between two codes of a consumer that the
// cashier allows: a page refreshes once a minute, and a consumer
// switching channels waits no longer than this.
const DefaultGap = 3 * time.Second

// keep is how long a code's row is kept after it expires, so that a till
// sending it is told it expired rather than that it never existed.
const keep = 24 * time.Hour

// Channels a code pays with; the same words as pay's channels.
const (
	Credit  = "credit"
	Balance = "balance"
)

// Code is a payment code as the consumer's page shows it.
type Code struct {
	// Code is the 18 digits; set only by Issue (the store keeps a hash).
	Code       string    `json:"code,omitempty"`
	ConsumerID string    `json:"-"`
	Channel    string    `json:"channel"`
	IssuedAt   time.Time `json:"issued_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	// OrderID is the order the code paid (or is paying), "" while unused.
	OrderID string `json:"transaction_id,omitempty"`
}

// Service issues codes in the core store.
type Service struct {
	Core  *db.DB
	Clock fenfu.Clock
	// Secret is the platform secret codes are hashed under (keyring's
	// Secret): a code has only some 56 bits, which an unkeyed hash would
	// give up to whoever reads the table within the code's lifetime.
	// Every node issuing and redeeming codes must hold the same one.
	Secret []byte
	// TTL is how long a code pays; zero is DefaultTTL.
	TTL time.Duration
	// Gap, if set, is the least time between two codes of a consumer:
	// Issue refuses a code sooner with FREQUENCY_LIMITED. It holds on
	// every node, since it is read from the store.
	Gap time.Duration
}

// Hash is what the store keeps of a code, and what the order a code
// pays keeps to name it: an HMAC-SHA256 under a key derived from the
// platform secret for payment codes alone.
func (s *Service) Hash(code string) string {
	k := hmac.New(sha256.New, s.Secret)
	k.Write([]byte("fenfu payment code v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

// Valid reports whether code has the form of a payment code: 18 digits
// beginning 10 to 15.
func Valid(code string) bool {
	if len(code) != Length {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return code[0] == '1' && code[1] >= '0' && code[1] <= '5'
}

// first is the smallest code, 10 followed by 16 zeros; codes are first
// plus a number below span, so they begin 10 to 15.
var first, span = big.NewInt(100_000_000_000_000_000), big.NewInt(60_000_000_000_000_000)

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, span)
	if err != nil {
		return "", err
	}
	return n.Add(n, first).String(), nil
}

// Issue gives the consumer a new code for channel, valid for the TTL,
// and cuts the consumer's earlier codes that have not paid to at most
// Overlap more. It also
// forgets the consumer's codes that expired more than a day ago. With a
// Gap, a code sooner than Gap after the consumer's last is refused with
// FREQUENCY_LIMITED.
func (s *Service) Issue(ctx context.Context, consumerID, channel string) (Code, error) {
	if channel != Credit && channel != Balance {
		return Code{}, fenfu.FieldError("channel", "channel must be credit or balance")
	}
	if consumerID == "" {
		return Code{}, fenfu.Errorf(fenfu.Unauthenticated, "log in to show a payment code")
	}
	var c Code
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		now := db.Micros(tx.Now)
		if s.Gap > 0 {
			if s.Core.Engine == db.Postgres {
				// Under READ COMMITTED two of the consumer's requests at
				// once would both find no recent code; the lock makes the
				// second wait for the first and then see its code. (A
				// SQLite store has one writer at a time already.)
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "payment_codes/"+consumerID); err != nil {
					return err
				}
			}
			var last sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT MAX(issued_at) FROM payment_codes WHERE consumer_id = $1`, consumerID).Scan(&last); err != nil {
				return err
			}
			if wait := last.Int64 + s.Gap.Microseconds() - now; last.Valid && wait > 0 {
				return tooSoon(time.Duration(wait) * time.Microsecond)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM payment_codes WHERE consumer_id = $1 AND expires_at < $2`,
			consumerID, now-keep.Microseconds()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment_codes SET expires_at = $1 WHERE consumer_id = $2 AND order_id = '' AND expires_at > $1`,
			now+Overlap.Microseconds(), consumerID); err != nil {
			return err
		}
		for range 3 { // a clash of 18 random digits with a kept code is all but impossible; still, draw again
			code, err := newCode()
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO payment_codes (code_hash, consumer_id, channel, issued_at, expires_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code_hash) DO NOTHING`,
				s.Hash(code), consumerID, channel, now, now+s.ttl().Microseconds())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				c = Code{Code: code, ConsumerID: consumerID, Channel: channel, IssuedAt: db.Time(now), ExpiresAt: db.Time(now + s.ttl().Microseconds())}
				return nil
			}
		}
		return errors.New("paycode: no free code after three draws")
	})
	if err != nil {
		return Code{}, fenfu.Op("paycode.Issue", err)
	}
	return c, nil
}

// tooSoon is Issue's refusal of a code wait before the consumer may have
// the next.
func tooSoon(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	e := fenfu.Errorf(fenfu.FrequencyLimited, "a payment code was issued to you a moment ago; the next can be issued in %d s", secs)
	e.Remedy = fmt.Sprintf("Wait %d seconds and refresh the payment code; the page shows a new code every minute by itself.", secs)
	return e
}

// Redeem uses a code for an order in the caller's transaction and returns
// its consumer and channel. A code pays one order: of two tills sending
// the same code at once, one redeems it and the other is refused. A code
// that is malformed fails with AUTH_CODE_ERROR, unknown or used with
// AUTH_CODE_INVALID, expired or replaced with AUTHCODEEXPIRE. A used
// code's refusal comes with the Code's OrderID the order it paid, so a
// till resending its own request is answered with that order.
func (s *Service) Redeem(ctx context.Context, tx *db.Tx, code, orderID string) (Code, error) {
	if !Valid(code) {
		return Code{}, authCodeError()
	}
	now := db.Micros(tx.Now)
	c := Code{OrderID: orderID}
	var issued, expires int64
	err := tx.QueryRowContext(ctx, `UPDATE payment_codes SET order_id = $1, used_at = $2
		WHERE code_hash = $3 AND order_id = '' AND expires_at > $2 RETURNING consumer_id, channel, issued_at, expires_at`,
		orderID, now, s.Hash(code)).Scan(&c.ConsumerID, &c.Channel, &issued, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		used, err := s.refusal(ctx, tx, code)
		return Code{OrderID: used}, err
	}
	if err != nil {
		return Code{}, fmt.Errorf("paycode: redeem: %w", err)
	}
	c.IssuedAt, c.ExpiresAt = db.Time(issued), db.Time(expires)
	return c, nil
}

// refusal explains a code Redeem could not use, and names the order a
// used code paid.
func (s *Service) refusal(ctx context.Context, tx *db.Tx, code string) (string, error) {
	var used string
	err := tx.QueryRowContext(ctx, `SELECT order_id FROM payment_codes WHERE code_hash = $1`, s.Hash(code)).Scan(&used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e := fenfu.Errorf(fenfu.AuthCodeInvalid, "the payment code is not one fenfu issued")
		e.Remedy = "Scan the code again; if it is refused again, ask the consumer to refresh the payment code on their phone."
		return "", e
	case err != nil:
		return "", fmt.Errorf("paycode: redeem: %w", err)
	case used != "":
		e := fenfu.Errorf(fenfu.AuthCodeInvalid, "the payment code was already used")
		e.Remedy = "A payment code pays once; ask the consumer to show the new code on their phone."
		return used, e
	}
	// Not when it expired: that tells whoever holds the code when its
	// consumer opened the page.
	e := fenfu.Errorf(fenfu.AuthCodeExpire, "the payment code expired")
	e.Remedy = "Ask the consumer to refresh the payment code on their phone and scan the new one."
	return "", e
}

func authCodeError() error {
	e := fenfu.Errorf(fenfu.AuthCodeError, "auth_code must be the 18 digits of a payment code, beginning 10 to 15")
	e.Field = "auth_code"
	return e
}

// Status returns what became of a code the consumer was issued: whether
// it paid an order, and which. Codes of other consumers read as
// RESOURCE_NOT_EXISTS.
func (s *Service) Status(ctx context.Context, consumerID, code string) (Code, error) {
	if !Valid(code) {
		return Code{}, authCodeError()
	}
	c := Code{ConsumerID: consumerID}
	var issued, expires int64
	err := s.Core.QueryRowContext(ctx, `SELECT channel, issued_at, expires_at, order_id FROM payment_codes
		WHERE code_hash = $1 AND consumer_id = $2`, s.Hash(code), consumerID).Scan(&c.Channel, &issued, &expires, &c.OrderID)
	if errors.Is(err, sql.ErrNoRows) {
		e := fenfu.Errorf(fenfu.ResourceNotExists, "no such payment code of yours")
		e.Remedy = "Open the payment code page again for a new code; codes are forgotten a day after they expire."
		return Code{}, e
	}
	if err != nil {
		return Code{}, fenfu.Internal("paycode.Status", err)
	}
	c.IssuedAt, c.ExpiresAt = db.Time(issued), db.Time(expires)
	return c, nil
}

// Link is a used code as fenfu verify reads it: its hash and the order
// it paid.
type Link struct {
	Hash    string
	OrderID string
}

// Used returns up to limit used codes whose hashes sort after after, in
// hash order.
func (s *Service) Used(ctx context.Context, after string, limit int) ([]Link, error) {
	rows, err := s.Core.R.QueryContext(ctx, `SELECT code_hash, order_id FROM payment_codes WHERE order_id <> '' AND code_hash > $1
		ORDER BY code_hash LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("paycode: used codes: %w", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (l Link, err error) {
		err = r.Scan(&l.Hash, &l.OrderID)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("paycode: used codes: %w", err)
	}
	return out, nil
}

// Orders returns the order each kept code of hashes names, "" for one
// unused; a hash whose row was forgotten is not in the map.
func (s *Service) Orders(ctx context.Context, hashes []string) (map[string]string, error) {
	out := map[string]string{}
	if len(hashes) == 0 {
		return out, nil
	}
	args := make([]any, len(hashes))
	ph := make([]string, len(hashes))
	for i, h := range hashes {
		args[i], ph[i] = h, fmt.Sprintf("$%d", i+1)
	}
	rows, err := s.Core.R.QueryContext(ctx, `SELECT code_hash, order_id FROM payment_codes WHERE code_hash IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("paycode: codes' orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, order string
		if err := rows.Scan(&h, &order); err != nil {
			return nil, fmt.Errorf("paycode: codes' orders: %w", err)
		}
		out[h] = order
	}
	return out, rows.Err()
}

// Oldest returns when the oldest kept code was issued; zero when no code
// is kept. No order made before it can name a kept code.
func (s *Service) Oldest(ctx context.Context) (time.Time, error) {
	var issued sql.NullInt64
	if err := s.Core.R.QueryRowContext(ctx, `SELECT MIN(issued_at) FROM payment_codes`).Scan(&issued); err != nil {
		return time.Time{}, fmt.Errorf("paycode: oldest code: %w", err)
	}
	if !issued.Valid {
		return time.Time{}, nil
	}
	return db.Time(issued.Int64), nil
}

// Sweep forgets codes that expired more than a day ago, in batches, and
// returns how many.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	cutoff := db.Micros(s.Clock.Now().Add(-keep))
	total := 0
	for {
		res, err := s.Core.Exec(ctx, `DELETE FROM payment_codes WHERE code_hash IN
			(SELECT code_hash FROM payment_codes WHERE expires_at < $1 LIMIT 1000)`, cutoff)
		if err != nil {
			return total, fenfu.Internal("paycode.Sweep", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
		if n < 1000 {
			return total, nil
		}
	}
}

// SweepEvery is how often serve forgets old codes.
const SweepEvery = time.Hour
