package login

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/seal"
)

// Door is where one kind of account — the platform's staff, a merchant's
// users of the portal — logs in with a name, a password and a TOTP code,
// and where its sessions are then issued, checked and ended. The tables
// stay their owner's: the package that owns the accounts and their
// sessions reads an account (Attempt.Find) and writes every statement on
// its tables (Accounts, Sessions), and the door runs them in the order
// every login keeps: the failed logins counted (Counter) of the address
// and of the account, the password checked by argon2id in the Gate, the
// TOTP code's step taken once, the login or refusal recorded in the core
// store's audit log, the session issued.
//
// Its owner builds it for each call from its own settings, so that
// DB, Clock, Log, Sealer and Limits are the owner's as they are then;
// Counter and Gate are kept across calls.
type Door struct {
	DB    *db.DB
	Clock fenfu.Clock
	// Log gets a Warn for every failed or refused login, never a secret.
	Log *slog.Logger
	// Sealer opens the sealed TOTP secrets (seal.OpenWith).
	Sealer *seal.Sealer
	// Limits bound the sessions and wrong logins; zero fields take
	// DefaultLimits'.
	Limits  Limits
	Counter *Counter
	Gate    Gate

	// Kind names the accounts in the audit log (audit.Login's kind) and
	// in the log's messages: "staff", "merchant user".
	Kind string
	// Owner is the package that owns the tables, which an internal
	// error's operation names: "access", "merchantuser".
	Owner string
	// Unknown is the log's reason for a login of an account that does
	// not exist: "unknown name".
	Unknown string
	// Wrong is the answer to every wrong login, whatever was wrong:
	// UNAUTHENTICATED, saying what to check and the limits.
	Wrong func(Limits) error
	// LockedRemedy is the remedy of the refusal of a locked account
	// (Try.Refusal).
	LockedRemedy string
	Accounts     Accounts
	Sessions     Sessions
}

// Accounts are the statements on the table of accounts that a login
// writes, each with the account's key (Account.Key) as $2.
type Accounts struct {
	// TakeStep takes the step of an accepted TOTP code, $1, only if it
	// is above the last one taken, so a code logs in once even when sent
	// to two nodes at the same moment.
	TakeStep string
	// Rehash replaces a stale password hash, $3, with a new one, $1.
	Rehash string
}

// Sessions are the statements on the table of sessions. A session is
// kept by its token's hash (TokenHash), with an id, its account and when
// it expires; it ends when revoked_at is set.
type Sessions struct {
	// IDPrefix starts a session's id: "tok_".
	IDPrefix string
	// TokenPrefix starts the token of a session a login starts: "fss_".
	TokenPrefix string
	// Issue inserts a session: $1 its token's hash, $2 its id, $3 its
	// account's key, $4 when it expires, $5 now, and then Issue's args.
	Issue string
	// Account selects the account of a session that is neither ended nor
	// expired, of an account not disabled: $1 the token's hash, $2 now.
	Account string
	// End ends a session: $1 now, $2 the token's hash.
	End string
	// Sweep deletes the sessions that expired before $1.
	Sweep string
}

// Account is what a login checks of an account, as its owner reads it.
type Account struct {
	// Key is the account's key in the statements: its name, or its id.
	Key      any
	Hash     string // the password's hash (Hash)
	Disabled bool
	// TOTP is whether the account has a TOTP second factor, whose
	// secret is Secret, sealed in SecretContext, and Step the step of
	// its last accepted code.
	TOTP          bool
	Secret        string
	SecretContext string
	Step          int64
}

// Attempt is one login as the owner of its accounts names it.
type Attempt struct {
	// Subject names the account in its count of wrong logins and in the
	// audit log: "staff:<name>".
	Subject string
	// Name is the account as the refusal of a locked one names it.
	Name string
	// LogAs is the log's attribute naming the account.
	LogAs slog.Attr
	// Malformed is set when the name is not one any account can have:
	// the attempt is logged without it (it may be a password typed in
	// the wrong field), and not counted.
	Malformed bool
	Password  string
	Code      string
	// Source is the connection's address.
	Source string
	// Find reads the account; found is false if there is none.
	Find func(ctx context.Context) (a Account, found bool, err error)
	// Args are the session's values after the fifth (Sessions.Issue).
	Args []any
}

// Session is a session as it is handed out, once: Token is the secret,
// which the store keeps only the hash of.
type Session struct {
	ID        string
	Token     string
	ExpiresAt time.Time
}

// Login checks an attempt's password and, if the account has a second
// factor, its TOTP code, and starts a session lasting Limits.SessionTTL.
// Every login and refused login of an account that exists is recorded in
// the core store's audit log, with why it was refused; a login that
// cannot be recorded starts no session. Wrong logins of an account are
// counted in the store (Counter): LockoutFailures of them lock it on
// every node until LockoutWindow after the last. Failed logins from the
// attempt's address, of any accounts, known or not, are counted too
// (Sources), on the door's own count of the address: SourceFailures of
// them refuse the address until SourceWindow after the last, and the
// failed login that reaches the limit is recorded in the audit log. A
// wrong name, password or code, or a disabled account, is Wrong, all
// alike; a locked account or address is FREQUENCY_LIMITED, saying when
// to try again.
func (d *Door) Login(ctx context.Context, a Attempt) (Session, error) {
	lim := d.Limits.OrDefaults()
	src := fenfu.Source(a.Source)
	if a.Malformed || len(a.Password) > 256 || len(a.Code) > 16 {
		d.Log.Warn(d.Kind+" login failed", "reason", "malformed", "source", src)
		return Session{}, d.Wrong(lim)
	}
	log := d.Log.With(a.LogAs, "source", src)
	if due, err := d.Counter.Sweep(ctx, d.Clock.Now()); err != nil {
		log.Warn(d.Kind+" logins not swept", "error", err)
	} else if due {
		_, _ = d.DB.Exec(ctx, d.Sessions.Sweep, db.Micros(d.Clock.Now().Add(-24*time.Hour)))
	}
	// The address first: one refused for its failed logins checks no
	// password, whichever account it names.
	var from *Try
	if src != "" {
		st, err := d.Counter.Take(ctx, sourceSubject(a.Subject, src), lim.SourceFailures, lim.SourceWindow)
		if err != nil {
			return Session{}, err
		}
		if st.Locked {
			// The failed login that locked it is in the audit log; the
			// refusals while it is locked, which anyone can send, are not.
			log.Warn(d.Kind+" login refused", "reason", "source locked", "until", st.Until)
			return Session{}, st.SourceRefusal()
		}
		from = &st
	}
	t, err := d.Counter.Take(ctx, a.Subject, lim.LockoutFailures, lim.LockoutWindow)
	if err != nil {
		d.settle(ctx, from, false, false)
		return Session{}, err
	}
	if t.Locked {
		// The wrong logins that locked it are in the audit log; the
		// refusals while it is locked, which anyone can send, are not.
		d.settle(ctx, from, false, false) // nothing was checked
		log.Warn(d.Kind+" login refused", "reason", "locked", "until", t.Until)
		return Session{}, t.Refusal(a.Name, d.LockedRemedy)
	}
	acct, reason, err := d.check(ctx, a)
	if err != nil {
		d.settle(ctx, from, false, false)
		d.settle(ctx, &t, false, false)
		return Session{}, err
	}
	if reason != "" {
		d.settle(ctx, from, true, false)
		d.settle(ctx, &t, true, false)
		log.Warn(d.Kind+" login failed", "reason", reason)
		if from != nil && from.Failures == lim.SourceFailures {
			d.sourceLocked(ctx, src, lim)
		}
		if reason != d.Unknown { // an account was tried: at most the lockout's count per window
			if err := audit.Login(context.WithoutCancel(ctx), d.DB, d.Kind, a.Subject, src, false, reason); err != nil {
				d.Log.Error(d.Kind+" login not recorded in the audit log", "actor", a.Subject, "error", err)
			}
		}
		return Session{}, d.Wrong(lim)
	}
	// The right login: the account's count starts over; the address keeps
	// its count of failed logins, which this one does not add to.
	d.settle(ctx, from, false, false)
	d.settle(ctx, &t, false, true)
	// A login no one can trace starts no session.
	if err := audit.Login(ctx, d.DB, d.Kind, a.Subject, src, true, ""); err != nil {
		return Session{}, err
	}
	sess, err := d.Issue(ctx, d.Sessions.TokenPrefix, acct.Key, lim.SessionTTL, a.Args...)
	if err == nil {
		log.Info(d.Kind+" login", "session", sess.ID, "expires_at", sess.ExpiresAt)
	}
	return sess, err
}

// sourceSubject is the count of an address's failed logins at the door
// whose accounts' subjects are like subject: "staff-source:<address>",
// "merchant_user-source:<address>", each door's its own, and none the
// consumers' ("source:<address>").
func sourceSubject(subject, src string) string {
	kind, _, _ := strings.Cut(subject, ":")
	return kind + "-source:" + src
}

// sourceLocked records in the audit log that src's failed logins reached
// the limit, once for each time they do.
func (d *Door) sourceLocked(ctx context.Context, src string, lim Limits) {
	until := d.Clock.Now().Add(lim.SourceWindow).In(fenfu.Shanghai).Format("15:04")
	d.Log.Warn(d.Kind+" logins from an address refused", "source", src, "failures", lim.SourceFailures, "until", until)
	_, err := audit.Record(context.WithoutCancel(ctx), d.DB, audit.Entry{Actor: "unauthenticated", Action: audit.ActionLoginRefused,
		Target: audit.Target{Kind: "login source", ID: src},
		Reason: fmt.Sprintf("%d failed %s logins from the address: it is refused until %s", lim.SourceFailures, d.Kind, until),
		Detail: audit.Detail(map[string]string{"source": src, "kind": d.Kind})})
	if err != nil {
		d.Log.Error(d.Kind+" address's lock not recorded in the audit log", "source", src, "error", err)
	}
}

func (d *Door) settle(ctx context.Context, t *Try, wrong, clear bool) {
	if err := d.Counter.Settle(ctx, t, wrong, clear); err != nil {
		d.Log.Warn(d.Kind+" login count not settled", "error", err)
	}
}

// check checks a password and, for an account with a second factor, a
// TOTP code; an account that does not exist costs the same password
// check. It says why a login fails, for the logs only: "" when it
// succeeds.
func (d *Door) check(ctx context.Context, a Attempt) (Account, string, error) {
	acct, known, err := a.Find(ctx)
	if err != nil {
		return acct, "", fenfu.Op(d.Owner+".Login", err)
	}
	if !known {
		acct.Hash = DummyHash
	}
	match, stale, err := d.Gate.Check(ctx, Check, acct.Hash, a.Password)
	switch {
	case err != nil:
		return acct, "", err
	case !known:
		return acct, d.Unknown, nil
	case !match:
		return acct, "wrong password", nil
	case acct.Disabled:
		return acct, "disabled", nil
	}
	if acct.TOTP {
		secret, err := seal.OpenWith(d.Sealer, acct.Secret, acct.SecretContext)
		if err != nil {
			return acct, "", fenfu.Internal(d.Owner+".Login", err)
		}
		at, ok := TOTPStep(secret, a.Code, d.Clock.Now(), acct.Step)
		if !ok {
			return acct, "wrong or reused TOTP code", nil
		}
		res, err := d.DB.Exec(ctx, d.Accounts.TakeStep, at, acct.Key)
		if err != nil {
			return acct, "", fenfu.Internal(d.Owner+".Login", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return acct, "reused TOTP code", nil
		}
	}
	if stale {
		_, _ = d.DB.Exec(ctx, d.Accounts.Rehash, Hash(a.Password), acct.Key, acct.Hash)
	}
	return acct, "", nil
}

// Issue records a new session of the account whose key is key, lasting
// ttl, with args as its further values (Sessions.Issue), and returns it
// with its token: prefix and 256 random bits in base32.
func (d *Door) Issue(ctx context.Context, prefix string, key any, ttl time.Duration, args ...any) (Session, error) {
	now := d.Clock.Now()
	s := Session{ID: d.Sessions.IDPrefix + strings.ToLower(rand.Text()[:16]), Token: prefix + rand.Text() + rand.Text(),
		ExpiresAt: now.Add(ttl).Truncate(time.Microsecond)}
	if _, err := d.DB.Exec(ctx, d.Sessions.Issue, append([]any{TokenHash(s.Token), s.ID, key, db.Micros(s.ExpiresAt), db.Micros(now)}, args...)...); err != nil {
		return Session{}, fenfu.Internal(d.Owner+".issue", err)
	}
	return s, nil
}

// Account scans the account of token's session with scan (the row of
// Sessions.Account), reporting false, with no error, for a token that
// names no session, one that has ended or expired, or one of an account
// that is disabled.
func (d *Door) Account(ctx context.Context, token string, scan func(row *sql.Row) error) (bool, error) {
	if token == "" || len(token) > 200 {
		return false, nil
	}
	err := scan(d.DB.QueryRowContext(ctx, d.Sessions.Account, TokenHash(token), db.Micros(d.Clock.Now())))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fenfu.Internal(d.Owner+".Authenticate", err)
	}
	return true, nil
}

// End ends the session of token on every node. Ending one that has ended
// is not an error.
func (d *Door) End(ctx context.Context, token string) error {
	if _, err := d.DB.Exec(ctx, d.Sessions.End, db.Micros(d.Clock.Now()), TokenHash(token)); err != nil {
		return fenfu.Internal(d.Owner+".Logout", err)
	}
	return nil
}
