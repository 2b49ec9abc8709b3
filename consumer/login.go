package consumer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// LoginLimits bounds wrong logins. A phone with PhoneFailures wrong PINs,
// each within PhoneLockout of the one before, is locked until PhoneLockout
// after the last; a source address with SourceFailures failed logins, each
// within SourceWindow of the one before, is refused until SourceWindow
// after the last. A right PIN clears its phone's count and does not count
// against its address. Zero fields take the defaults.
type LoginLimits struct {
	PhoneFailures  int
	PhoneLockout   time.Duration
	SourceFailures int
	SourceWindow   time.Duration
}

// DefaultLoginLimits returns the limits of a new Service: 5 wrong PINs
// lock a phone for 15 minutes; 20 failed logins from one address (one
// /64 for IPv6) refuse it for 15 minutes.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{PhoneFailures: 5, PhoneLockout: 15 * time.Minute, SourceFailures: 20, SourceWindow: 15 * time.Minute}
}

func (l LoginLimits) orDefaults() LoginLimits {
	d := DefaultLoginLimits()
	if l.PhoneFailures <= 0 {
		l.PhoneFailures = d.PhoneFailures
	}
	if l.PhoneLockout <= 0 {
		l.PhoneLockout = d.PhoneLockout
	}
	if l.SourceFailures <= 0 {
		l.SourceFailures = d.SourceFailures
	}
	if l.SourceWindow <= 0 {
		l.SourceWindow = d.SourceWindow
	}
	return l
}

// dummyHash is what the PIN of a phone with no consumer is checked
// against, so that a wrong login costs the same whether or not the phone
// is registered. Its PIN is random and forgotten; it has today's
// parameters (TestDummyHash).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$JSERdOBc42L6pawecwkbxQ$9AjTZrNoRqWLLdYNLGkxnVbSnPHQwGSGs9Dj0iiSpXA"

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
// unknown phone is UNAUTHENTICATED; a locked phone or address is
// FREQUENCY_LIMITED. Every failure is logged at Warn.
func (s *Service) Login(ctx context.Context, phone, pin, source string) (string, error) {
	// A malformed phone is refused before it is looked up or counted.
	if err := checkPhone(phone); err != nil {
		return "", err
	}
	lim := s.Limits.orDefaults()
	src := fenfu.Source(source)
	log := s.Log.With("phone", MaskPhone(phone), "source", src)
	s.sweep(ctx, s.Clock.Now())

	var srcTry *try
	if src != "" {
		t, err := s.take(ctx, "source:"+src, lim.SourceFailures, lim.SourceWindow)
		if err != nil {
			return "", err
		}
		if t.locked {
			log.Warn("consumer login refused", "reason", "source locked", "until", t.until)
			e := fenfu.Errorf(fenfu.FrequencyLimited, "too many failed logins from this network; try again after %s", hhmm(t.until))
			e.Remedy = fmt.Sprintf("Wait until %s (Beijing time) and log in again, or log in from another network.", hhmm(t.until))
			return "", e
		}
		srcTry = &t
	}
	index := s.phoneIndex(phone)
	phoneTry, err := s.take(ctx, "phone:"+index, lim.PhoneFailures, lim.PhoneLockout)
	if err != nil {
		s.settle(ctx, srcTry, false, false)
		return "", err
	}
	if phoneTry.locked {
		s.settle(ctx, srcTry, false, false) // no PIN was checked
		log.Warn("consumer login refused", "reason", "phone locked", "until", phoneTry.until)
		e := fenfu.Errorf(fenfu.FrequencyLimited, "too many wrong PINs; try again after %s", hhmm(phoneTry.until))
		e.Remedy = fmt.Sprintf("Wait until %s (Beijing time) and log in again with the right PIN.", hhmm(phoneTry.until))
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
		hash = dummyHash
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
		return "", e
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

// try is a try taken from a subject's count: an attempt in flight, until
// settle says how it went.
type try struct {
	subject string
	window  time.Duration
	locked  bool      // no try was taken: the count is at its limit
	until   time.Time // when a locked count's window ends
}

// takeWaits bounds how often take waits for attempts in flight to finish
// before it gives up.
const takeWaits = 30

// take takes a try from subject's count. In one statement it starts a new
// window if the last has ended (only a new window, or a wrong login in
// settle, moves the window's end: right logins do not keep old failures
// alive), or counts one more attempt in flight if
// the wrong logins and the attempts in flight are under limit. When the
// wrong logins alone have reached the limit it reports locked, changing
// nothing: a refused attempt does not make the lock longer. When it is
// the attempts in flight that fill the count, as when a consumer's
// program logs in for many payments at once, it waits for them to finish.
func (s *Service) take(ctx context.Context, subject string, limit int, window time.Duration) (try, error) {
	t := try{subject: subject, window: window}
	for wait := 0; ; wait++ {
		var taken bool
		var failures int
		var until int64
		err := s.Core.Update(ctx, func(tx *db.Tx) error {
			var n int
			err := tx.QueryRowContext(ctx, `INSERT INTO login_attempts (subject, failures, pending, expires_at) VALUES ($1, 0, 1, $2)
				ON CONFLICT (subject) DO UPDATE SET
					failures = CASE WHEN login_attempts.expires_at <= $3 THEN 0 ELSE login_attempts.failures END,
					pending = CASE WHEN login_attempts.expires_at <= $3 THEN 1 ELSE login_attempts.pending + 1 END,
					expires_at = CASE WHEN login_attempts.expires_at <= $3 THEN EXCLUDED.expires_at ELSE login_attempts.expires_at END
				WHERE login_attempts.expires_at <= $3 OR login_attempts.failures + login_attempts.pending < $4
				RETURNING pending`, subject, db.Micros(tx.Now.Add(window)), db.Micros(tx.Now), limit).Scan(&n)
			if err == nil {
				taken = true
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT failures, expires_at FROM login_attempts WHERE subject = $1`, subject).Scan(&failures, &until)
		})
		if err != nil {
			return t, fenfu.Internal("consumer.Login", err)
		}
		if taken {
			return t, nil
		}
		if failures >= limit || wait == takeWaits {
			t.locked, t.until = true, db.Time(until)
			return t, nil
		}
		select {
		case <-time.After(time.Duration(10+10*min(wait, 9)) * time.Millisecond):
		case <-ctx.Done():
			return t, fenfu.Internal("consumer.Login", ctx.Err())
		}
	}
}

// settle ends an attempt in flight: a wrong login adds to the count and
// starts its window again; a right PIN on a phone (clear) starts its
// count over. It runs even if ctx has ended, so a try is not left taken;
// if it fails, the count keeps the attempt until its window ends.
func (s *Service) settle(ctx context.Context, t *try, wrong, clear bool) {
	if t == nil || t.locked {
		return
	}
	ctx = context.WithoutCancel(ctx)
	q := `UPDATE login_attempts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END WHERE subject = $1`
	args := []any{t.subject}
	switch {
	case wrong:
		q = `UPDATE login_attempts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END,
			failures = failures + 1, expires_at = $2 WHERE subject = $1`
		args = append(args, db.Micros(s.Clock.Now().Add(t.window)))
	case clear:
		q = `UPDATE login_attempts SET pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END, failures = 0 WHERE subject = $1`
	}
	if _, err := s.Core.Exec(ctx, q, args...); err != nil {
		s.Log.Warn("consumer login count not settled", "subject", t.subject, "error", err)
	}
}

// check checks a PIN against a hash, waiting for a free hashing slot so
// that concurrent logins cannot take more memory than the slots' share.
func (s *Service) check(ctx context.Context, hash, pin string) (ok, stale bool, err error) {
	select {
	case s.hashing <- struct{}{}:
		defer func() { <-s.hashing }()
	case <-ctx.Done():
		return false, false, fenfu.Internal("consumer.Login", ctx.Err())
	}
	ok, stale = s.checkPIN(hash, pin)
	return ok, stale, nil
}

// sweep deletes expired login counts and sessions about once a minute,
// so the tables hold only the current windows and sessions.
func (s *Service) sweep(ctx context.Context, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.lastSweep) > time.Minute
	if due {
		s.lastSweep = now
	}
	s.mu.Unlock()
	if due {
		for _, q := range []string{`DELETE FROM login_attempts WHERE expires_at <= $1`, `DELETE FROM consumer_sessions WHERE expires_at <= $1`} {
			if _, err := s.Core.Exec(ctx, q, db.Micros(now)); err != nil {
				s.Log.Warn("consumer logins not swept", "error", err)
			}
		}
	}
}

// MaskPhone hides the middle of a phone number, 138****1234, for pages and
// logs.
func MaskPhone(p string) string {
	if len(p) != 11 {
		return "***"
	}
	return p[:3] + "****" + p[7:]
}

func hhmm(t time.Time) string { return t.In(fenfu.Shanghai).Format("15:04") }

func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
