package consumer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/mask"
)

// LoginLimits bounds wrong logins. A phone with PhoneFailures wrong PINs,
// each within PhoneLockout of the one before, is locked until PhoneLockout
// after the last; a source address with SourceFailures failed logins, each
// within SourceWindow of the one before, is refused until SourceWindow
// after the last (login.Sources, as staff's and merchant users' logins
// count theirs). A right PIN clears its phone's count and does not count
// against its address. Zero fields take the defaults.
type LoginLimits struct {
	PhoneFailures int
	PhoneLockout  time.Duration
	login.Sources
}

// DefaultLoginLimits returns the limits of a new Service: 5 wrong PINs
// lock a phone for 15 minutes; 20 failed logins from one address (one
// /64 for IPv6) refuse it for 15 minutes (login.DefaultLimits).
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{PhoneFailures: 5, PhoneLockout: 15 * time.Minute, Sources: login.DefaultLimits().Sources}
}

func (l LoginLimits) orDefaults() LoginLimits {
	d := DefaultLoginLimits()
	if l.PhoneFailures <= 0 {
		l.PhoneFailures = d.PhoneFailures
	}
	if l.PhoneLockout <= 0 {
		l.PhoneLockout = d.PhoneLockout
	}
	l.Sources = l.Sources.OrDefaults()
	return l
}

// NetworkLocked is Login's refusal of an attempt from an address that
// had too many failed logins: FREQUENCY_LIMITED, as a locked phone's, but
// no PIN was checked and the phone is not locked.
type NetworkLocked struct{ Err *fenfu.Error }

func (n *NetworkLocked) Error() string { return n.Err.Error() }
func (n *NetworkLocked) Unwrap() error { return n.Err }

// Busy is Login's refusal of an attempt while the phone's or the
// address's count is full of attempts still being checked:
// FREQUENCY_LIMITED, with nothing wrong and nothing locked.
type Busy struct{ Err *fenfu.Error }

func (b *Busy) Error() string { return b.Err.Error() }
func (b *Busy) Unwrap() error { return b.Err }

// WrongPIN is Login's refusal of a wrong PIN (or an unknown phone): an
// UNAUTHENTICATED error, with how many more wrong PINs the phone may take
// before it is locked.
type WrongPIN struct {
	Err  *fenfu.Error
	Left int
}

func (w *WrongPIN) Error() string { return w.Err.Error() }
func (w *WrongPIN) Unwrap() error { return w.Err }

// LoginLimits are the limits Login keeps, defaults filled in.
func (s *Service) LoginLimits() LoginLimits { return s.Limits.orDefaults() }

// Login checks a phone and PIN and returns the consumer's id. source is
// the address the attempt comes from (the connection's host:port, never
// a header the client writes); it may be empty only for callers that are
// not serving a network request.
//
// Before its PIN is checked, an attempt takes a try from its phone and
// from its source in the store, each in one statement that refuses once
// the wrong logins and the attempts in flight reach the limit, so
// concurrent attempts on any number of nodes never check more PINs than
// the limits allow. A malformed phone is a PARAM_ERROR; a wrong PIN or
// unknown phone is UNAUTHENTICATED (a *WrongPIN); a locked phone or
// address is FREQUENCY_LIMITED (for an address, a *NetworkLocked). Every failure is logged at Warn.
func (s *Service) Login(ctx context.Context, phone, pin, source string) (string, error) {
	// A malformed phone is refused before it is looked up or counted.
	if err := checkPhone(phone); err != nil {
		return "", err
	}
	lim := s.Limits.orDefaults()
	src := fenfu.Source(source)
	log := s.Log.With("phone", mask.Phone(phone), "source", src)
	s.sweep(ctx, s.Clock.Now())

	var srcTry *login.Try
	if src != "" {
		t, err := s.take(ctx, "source:"+src, lim.SourceFailures, lim.SourceWindow)
		if err != nil {
			return "", err
		}
		if t.Locked {
			log.Warn("consumer login refused", "reason", "source locked", "until", t.Until)
			return "", &NetworkLocked{Err: t.SourceRefusal()}
		}
		srcTry = &t
	}
	index := s.phoneIndex(phone)
	phoneTry, err := s.take(ctx, "phone:"+index, lim.PhoneFailures, lim.PhoneLockout)
	if err != nil {
		s.settle(ctx, srcTry, false, false)
		return "", err
	}
	if phoneTry.Locked {
		s.settle(ctx, srcTry, false, false) // no PIN was checked
		log.Warn("consumer login refused", "reason", "phone locked", "until", phoneTry.Until)
		e := fenfu.Errorf(fenfu.FrequencyLimited, "too many wrong PINs; try again after %s", hhmm(phoneTry.Until))
		e.Remedy = fmt.Sprintf("Wait until %s (Beijing time) and log in again with the right PIN.", hhmm(phoneTry.Until))
		return "", e
	}

	var id, hash string
	err = s.Core.QueryRowContext(ctx, `SELECT id, pin_hash FROM consumers WHERE phone_index = $1`, index).Scan(&id, &hash)
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		s.settle(ctx, srcTry, false, false)
		s.settle(ctx, &phoneTry, false, false)
		return "", fenfu.Internal("consumer.Login", err)
	}
	if !known {
		hash = login.DummyHash
	}
	match, stale, err := s.check(ctx, hash, pin)
	if err != nil {
		s.settle(ctx, srcTry, false, false)
		s.settle(ctx, &phoneTry, false, false)
		return "", err
	}
	if !known || !match {
		s.settle(ctx, srcTry, true, false)
		s.settle(ctx, &phoneTry, true, false)
		reason := "wrong PIN"
		if !known {
			reason = "unknown phone"
		}
		log.Warn("consumer login failed", "reason", reason)
		e := fenfu.Errorf(fenfu.Unauthenticated, "wrong phone number or PIN")
		e.Remedy = fmt.Sprintf("Check the phone number and PIN and log in again; after %d wrong PINs the phone is locked for %s.",
			lim.PhoneFailures, minutes(lim.PhoneLockout))
		return "", &WrongPIN{Err: e, Left: max(lim.PhoneFailures-phoneTry.Failures, 0)}
	}
	// The right PIN: the phone's count starts over; the address keeps
	// its count of wrong logins, which this one does not add to.
	s.settle(ctx, srcTry, false, false)
	s.settle(ctx, &phoneTry, false, true)
	if stale {
		s.rehash(ctx, id, hash, pin)
	}
	return id, nil
}

// take takes a try from subject's count (login.Counter.Take).
func (s *Service) take(ctx context.Context, subject string, limit int, window time.Duration) (login.Try, error) {
	t, err := s.attempts.Take(ctx, subject, limit, window)
	if fenfu.ErrorCode(err) == fenfu.FrequencyLimited {
		// Too many logins at once: the consumer's to try again in a few
		// seconds, not a system error, nor a lock.
		return t, &Busy{Err: fenfu.AsError(err)}
	}
	return t, fenfu.Op("consumer.Login", err)
}

// settle ends an attempt in flight (login.Counter.Settle), logging a count
// left unsettled.
func (s *Service) settle(ctx context.Context, t *login.Try, wrong, clear bool) {
	if err := s.attempts.Settle(ctx, t, wrong, clear); err != nil {
		s.Log.Warn("consumer login count not settled", "error", err)
	}
}

// check checks a PIN against a hash, waiting for a free hashing slot.
func (s *Service) check(ctx context.Context, hash, pin string) (ok, stale bool, err error) {
	return s.hashing.Check(ctx, s.checkPIN, hash, pin)
}

// Start names the node that takes this service's logins (login.Counter's
// Node) and forgets the attempts in flight its previous process left
// (login.Counter.Start), reporting how many. serve calls it before it
// serves.
func (s *Service) Start(ctx context.Context, node string) (forgotten int, err error) {
	s.attempts.Node = node
	return s.attempts.Start(ctx)
}

// sweep deletes expired login counts and sessions about once a minute,
// so the tables hold only the current windows and sessions.
func (s *Service) sweep(ctx context.Context, now time.Time) {
	due, err := s.attempts.Sweep(ctx, now)
	if err == nil && due {
		_, err = s.Core.Exec(ctx, `DELETE FROM consumer_sessions WHERE expires_at <= $1`, db.Micros(now))
	}
	if err != nil {
		s.Log.Warn("consumer logins not swept", "error", err)
	}
}

func hhmm(t time.Time) string { return t.In(fenfu.Shanghai).Format("15:04") }

func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
