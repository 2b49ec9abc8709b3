// Package merchantuser owns merchants' own users of the merchant portal,
// apart from the platform's staff (package access): each belongs to one
// merchant and has a role (owner, finance, developer, support) that says
// what it may do (Role.Can), an argon2id password and a TOTP second
// factor (required of owners and developers, optional for the others),
// and portal sessions that expire. Platform staff make a merchant's
// first owner; owners add the others. Wrong logins are counted in the
// store (login.Counter), logins and every portal action are recorded in
// the core store's audit log naming the user. Tables merchant_users and
// merchant_user_sessions in the core store.
package merchantuser

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/seal"
)

// Role is what a merchant's user does for it.
type Role string

// The roles.
const (
	Owner     Role = "owner"     // runs the merchant's account: everything, and its users
	Finance   Role = "finance"   // money: refunds, bills, settlements, fee statements
	Developer Role = "developer" // the integration: keys, notify_url, notifications, the sandbox
	Support   Role = "support"   // consumers: orders, complaints, the delivery log
)

// Roles lists the roles.
var Roles = []Role{Owner, Finance, Developer, Support}

// ParseRole checks a role's name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fenfu.FieldError("role", "role must be one of owner, finance, developer, support")
}

// NeedsTOTP reports whether users of the role must have a TOTP second
// factor: owners and developers, who hold the merchant's keys.
func (r Role) NeedsTOTP() bool { return r == Owner || r == Developer }

// Permission names what a portal page or action needs.
type Permission string

// The permissions, each with what it allows.
const (
	Orders        Permission = "orders"        // orders with their refunds, and their CSV
	Refund        Permission = "refund"        // issuing a refund
	Bills         Permission = "bills"         // the trade and fund-flow bills of a day
	Settlements   Permission = "settlements"   // settlements, their CSV, and fee statements
	Notifications Permission = "notifications" // the notification delivery log
	Resend        Permission = "resend"        // sending a notification again
	Keys          Permission = "keys"          // public keys, the API v3 key and the notify_url
	Sandbox       Permission = "sandbox"       // the sandbox test report
	Rollout       Permission = "rollout"       // the gray-release percentage
	ABReport      Permission = "ab_report"     // the gray release's A/B report
	Complaints    Permission = "complaints"    // consumers' complaints and the merchant's answers
	Tickets       Permission = "tickets"       // tickets to the platform
	Users         Permission = "users"         // the merchant's users
)

// Grants is the table of who may do what: for each permission, what it
// allows and the roles that hold it. Owners hold every one. The README's
// table of roles is this table.
var Grants = []struct {
	Permission Permission
	What       string
	Roles      []Role
}{
	{Orders, "orders with search, an order's refunds, the orders' CSV", Roles},
	{Refund, "issue a refund", []Role{Owner, Finance}},
	{Bills, "download a day's trade and fund-flow bills", []Role{Owner, Finance, Developer}},
	{Settlements, "settlements, their CSV, fee statements", []Role{Owner, Finance}},
	{Notifications, "the notification delivery log", []Role{Owner, Developer, Support}},
	{Resend, "send a notification again", []Role{Owner, Developer}},
	{Keys, "public keys (register, retire), the API v3 key (rotate), the notify URL, the integration check (fenfu doctor)", []Role{Owner, Developer}},
	{Sandbox, "the sandbox test report", []Role{Owner, Developer}},
	{Rollout, "change the gray release's percentage", []Role{Owner}},
	{ABReport, "the gray release and its A/B report", []Role{Owner, Finance, Developer}},
	{Complaints, "consumers' complaints: read, answer, mark handled", []Role{Owner, Support}},
	{Tickets, "tickets to the platform: open, follow, answer", Roles},
	{Users, "the merchant's users: add, change the role, reset the password or the second factor, disable", []Role{Owner}},
}

// Can reports whether users of role r hold p.
func (r Role) Can(p Permission) bool {
	for _, g := range Grants {
		if g.Permission == p {
			return slices.Contains(g.Roles, r)
		}
	}
	return false
}

// Holders names the roles that hold p, for a refusal's remedy.
func Holders(p Permission) []Role {
	for _, g := range Grants {
		if g.Permission == p {
			return g.Roles
		}
	}
	return nil
}

// User is a merchant's user as others see it: never a secret.
type User struct {
	ID       string `json:"id"`
	MchID    string `json:"mchid"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	TOTP     bool   `json:"totp"` // has a TOTP second factor
	Disabled bool   `json:"disabled"`
	// PasswordChange is set while the user logs in with a temporary
	// password an owner set (ResetPassword), and TOTPEnrol while it must
	// enrol a second factor (ResetTOTP, or a role that needs one): the
	// portal serves it only its account page until both are done.
	PasswordChange bool      `json:"password_change,omitempty"`
	TOTPEnrol      bool      `json:"totp_enrol,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	CreatedBy      string    `json:"created_by"`
}

// Actor is how recorded actions name the user:
// "merchant_user:<mchid>/<name>".
func (u User) Actor() string { return "merchant_user:" + u.MchID + "/" + u.Name }

// Can reports whether the user may do what p allows.
func (u User) Can(p Permission) bool { return !u.Disabled && u.Role.Can(p) }

// Setup reports whether the user must choose its password or enrol a
// second factor before it does anything else.
func (u User) Setup() bool { return u.PasswordChange || u.TOTPEnrol }

// Forbidden is the refusal of a user without p: it names the permission
// and the roles that hold it.
func (u User) Forbidden(p Permission) error {
	var roles []string
	for _, r := range Holders(p) {
		roles = append(roles, string(r))
	}
	e := fenfu.Errorf(fenfu.Forbidden, "%s's role %s does not allow %s", u.Name, u.Role, p)
	e.Remedy = fmt.Sprintf("It is allowed to the roles %s; ask an owner of the merchant to do it, or to add a user of such a role.",
		strings.Join(roles, ", "))
	return e
}

// Service manages merchants' users in the core store.
type Service struct {
	DB    *db.DB
	Clock fenfu.Clock
	// Limits bound the users' sessions and wrong logins; zero fields take
	// login.DefaultLimits'.
	Limits login.Limits
	// Sealer seals TOTP secrets at rest; every command sets it. Left nil
	// (in tests of other packages) they are stored as given.
	Sealer *seal.Sealer
	// Log gets a Warn for every failed or refused login, never a secret.
	Log *slog.Logger

	attempts *login.Counter
	hashing  login.Gate
}

// New returns a Service with the default limits. Its log discards until
// Log is set.
func New(core *db.DB, clock fenfu.Clock) *Service {
	return &Service{DB: core, Clock: clock, Limits: login.DefaultLimits(), Log: slog.New(slog.DiscardHandler),
		attempts: &login.Counter{DB: core, Clock: clock}, hashing: login.NewGate()}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return fenfu.FieldError("name", "a user's name is 2 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter")
	}
	return nil
}

var mchidRE = regexp.MustCompile(`^[0-9]{6,32}$`)

func checkMchID(mchid string) error {
	if !mchidRE.MatchString(mchid) {
		return fenfu.FieldError("mchid", "a merchant number (mchid) is 6 to 32 digits")
	}
	return nil
}

// NewUser describes a user to add.
type NewUser struct {
	MchID    string
	Name     string
	Role     Role
	Password string // login.MinPassword characters or more
	// TOTP gives the user a second factor; owners and developers always
	// have one.
	TOTP bool
}

// Enrollment is what a new user needs to log in, shown once: the TOTP
// secret and its otpauth:// URL for an authenticator app, if it has one.
type Enrollment struct {
	User       User   `json:"user"`
	TOTPSecret string `json:"totp_secret,omitempty"`
	TOTPURL    string `json:"totp_url,omitempty"`
}

// AddOwner adds an owner of a merchant, recorded as added by actor (a
// platform staff member, or the command line). It is how a merchant gets
// its first owner, and a new one if it has lost every owner it had; it is
// refused while the merchant has an owner who may log in, whose business
// adding users then is.
func (s *Service) AddOwner(ctx context.Context, actor string, n NewUser) (Enrollment, error) {
	n.Role = Owner
	return s.add(ctx, actor, n, true)
}

// Add adds a user to by's merchant, by an owner.
func (s *Service) Add(ctx context.Context, by User, n NewUser) (Enrollment, error) {
	if !by.Can(Users) {
		return Enrollment{}, by.Forbidden(Users)
	}
	n.MchID = by.MchID
	return s.add(ctx, by.Actor(), n, false)
}

func (s *Service) add(ctx context.Context, actor string, n NewUser, firstOwner bool) (Enrollment, error) {
	if err := checkMchID(n.MchID); err != nil {
		return Enrollment{}, err
	}
	if err := checkName(n.Name); err != nil {
		return Enrollment{}, err
	}
	if _, err := ParseRole(string(n.Role)); err != nil {
		return Enrollment{}, err
	}
	if err := login.CheckPassword(n.Password); err != nil {
		return Enrollment{}, err
	}
	id := "mu_" + strings.ToLower(rand.Text()[:20])
	en := Enrollment{User: User{ID: id, MchID: n.MchID, Name: n.Name, Role: n.Role, CreatedBy: actor}}
	stored := ""
	if n.TOTP || n.Role.NeedsTOTP() {
		secret, url, err := login.NewTOTP(n.MchID + "/" + n.Name)
		if err != nil {
			return Enrollment{}, fenfu.Internal("merchantuser.Add", err)
		}
		if stored, err = seal.SealWith(s.Sealer, secret, totpContext(id)); err != nil {
			return Enrollment{}, fenfu.Internal("merchantuser.Add", err)
		}
		en.TOTPSecret, en.TOTPURL, en.User.TOTP = secret, url, true
	}
	hash := login.Hash(n.Password)
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		// The merchant's row is taken first, so two owners made at once
		// for a merchant without one are made one after the other, and
		// the second sees the first.
		if err := merchant.Lock(ctx, tx, n.MchID); err != nil {
			return err
		}
		if firstOwner {
			k, err := owners(ctx, tx, n.MchID)
			if err != nil {
				return err
			}
			if k > 0 {
				e := fenfu.Errorf(fenfu.InvalidRequest, "merchant %s already has an owner who can log in; its owners add its users", n.MchID)
				e.Remedy = "Ask an owner of the merchant to add the user in the merchant portal (Users); platform staff make an owner only for a merchant that has none."
				return e
			}
		}
		en.User.CreatedAt = tx.Now.Truncate(time.Microsecond)
		res, err := tx.ExecContext(ctx, `INSERT INTO merchant_users (id, mchid, name, role, password_hash, totp_secret, created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`, id, n.MchID, n.Name, string(n.Role), hash, stored,
			db.Micros(tx.Now), actor)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return fenfu.Errorf(fenfu.InvalidRequest, "merchant %s already has a user named %s", n.MchID, n.Name)
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: actor, Action: ActionAdd, Target: audit.Target{Kind: TargetKind, ID: en.User.Actor()},
			Detail: audit.Detail(map[string]any{"role": n.Role, "totp": en.User.TOTP})})
		return err
	})
	if err != nil {
		return Enrollment{}, fenfu.Op("merchantuser.Add", err)
	}
	return en, nil
}

// What the audit log records of merchant users besides their logins.
const (
	TargetKind    = "merchant user"         // the kind of target a merchant user is
	ActionAdd     = "merchant user add"     // a user added, by staff or an owner
	ActionDisable = "merchant user disable" // a user disabled, by an owner or staff
	ActionRole    = "merchant user role"    // a user's role changed, by an owner or staff
	// ActionResetPassword is a temporary password set, by an owner or
	// staff; ActionResetTOTP a second factor cleared for enrolment anew.
	ActionResetPassword = "merchant user password reset"
	ActionResetTOTP     = "merchant user totp reset"
	// ActionPassword is a user's own new password; ActionEnrolTOTP its
	// new second factor confirmed.
	ActionPassword  = "merchant user password change"
	ActionEnrolTOTP = "merchant user totp enrol"
)

const userCols = `id, mchid, name, role, totp_secret, disabled_at, created_at, created_by, password_change, totp_enrol`

// scanUser scans a row of userCols, and into extra the columns after
// them.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (User, error) {
	var u User
	var totp string
	var disabled, created, change, enrol int64
	err := row.Scan(append([]any{&u.ID, &u.MchID, &u.Name, &u.Role, &totp, &disabled, &created, &u.CreatedBy, &change, &enrol}, extra...)...)
	// A secret kept while the user enrols is no second factor yet: its
	// logins take the password alone until a code of it is confirmed.
	u.TOTP, u.Disabled, u.CreatedAt = totp != "" && enrol == 0, disabled != 0, db.Time(created)
	u.PasswordChange, u.TOTPEnrol = change != 0, enrol != 0
	return u, err
}

// Get returns a merchant's user.
func (s *Service) Get(ctx context.Context, mchid, name string) (User, error) {
	u, err := scanUser(s.DB.QueryRowContext(ctx, `SELECT `+userCols+` FROM merchant_users WHERE mchid = $1 AND name = $2`, mchid, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fenfu.Errorf(fenfu.ResourceNotExists, "merchant %s has no user named %s", mchid, name)
	}
	if err != nil {
		return u, fenfu.Internal("merchantuser.Get", err)
	}
	return u, nil
}

// List returns a merchant's users, by name.
func (s *Service) List(ctx context.Context, mchid string) ([]User, error) {
	out, err := db.All(ctx, s.DB, func(r db.Scanner) (User, error) { return scanUser(r) }, `SELECT `+userCols+` FROM merchant_users WHERE mchid = $1 ORDER BY name`, mchid)
	if err != nil {
		return nil, fenfu.Internal("merchantuser.List", err)
	}
	return out, nil
}

// Disable stops one of by's merchant's users logging in and ends its
// sessions on every node, by an owner. The merchant's last owner who can
// log in is not disabled: platform staff would have to make a new one.
func (s *Service) Disable(ctx context.Context, by User, name string) error {
	if !by.Can(Users) {
		return by.Forbidden(Users)
	}
	return s.disable(ctx, by.Actor(), by.MchID, name, true)
}

// DisableByStaff stops a merchant's user logging in and ends its
// sessions, by platform staff (actor). It may disable a merchant's last
// owner — one who lost the phone with the second factor, or left —
// after which staff make the merchant a new owner (AddOwner).
func (s *Service) DisableByStaff(ctx context.Context, actor, mchid, name string) error {
	return s.disable(ctx, actor, mchid, name, false)
}

// disable disables a merchant's user, recorded as done by actor; with
// keepOwner, not the merchant's last owner who can log in.
func (s *Service) disable(ctx context.Context, actor, mchid, name string, keepOwner bool) error {
	return s.change(ctx, "merchantuser.Disable", ActionDisable, actor, mchid, name, func(tx *db.Tx, t target) (map[string]any, error) {
		if t.Role == Owner && keepOwner {
			if err := lastOwner(ctx, tx, mchid, name, "Add another owner first, then disable this one."); err != nil {
				return nil, err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE merchant_users SET disabled_at = $1, disabled_by = $2 WHERE id = $3`,
			db.Micros(tx.Now), actor, t.ID)
		return nil, err
	})
}

// Session is a portal session as it is handed out, once: Token is the
// secret, which the store keeps only the hash of.
type Session struct {
	ID        string    `json:"id"`
	Token     string    `json:"-"`
	User      User      `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Login checks a user's merchant, name, password and, if the user has a
// second factor, its TOTP code, and starts a session lasting
// Limits.SessionTTL (login.Door.Login). source is the connection's
// address, for the log and the audit log, which records every login and
// refused login of a user that exists, with why it was refused. Wrong
// logins of a user are counted in the store (login.Counter):
// LockoutFailures of them lock it on every node until LockoutWindow
// after the last. A wrong merchant, name, password or code, or a
// disabled user, is UNAUTHENTICATED, all alike; a locked user is
// FREQUENCY_LIMITED.
func (s *Service) Login(ctx context.Context, mchid, name, password, code, source string) (Session, error) {
	who := User{MchID: mchid, Name: name}
	var u User
	t, err := s.door().Login(ctx, login.Attempt{Subject: who.Actor(), Name: name, LogAs: slog.String("merchant_user", who.Actor()),
		Malformed: checkMchID(mchid) != nil || checkName(name) != nil, Password: password, Code: code, Source: source,
		Find: func(ctx context.Context) (login.Account, bool, error) {
			var a login.Account
			// totp_secret again, after the user's columns: the user's
			// says only whether it has one.
			row := s.DB.QueryRowContext(ctx, `SELECT `+userCols+`, password_hash, totp_secret, totp_step FROM merchant_users WHERE mchid = $1 AND name = $2`,
				mchid, name)
			var err error
			u, err = scanUser(row, &a.Hash, &a.Secret, &a.Step)
			a.Key, a.Disabled, a.TOTP, a.SecretContext = u.ID, u.Disabled, u.TOTP, totpContext(u.ID)
			if errors.Is(err, sql.ErrNoRows) {
				return a, false, nil
			}
			return a, err == nil, err
		}})
	if err != nil {
		return Session{}, err
	}
	return Session{ID: t.ID, Token: t.Token, User: u, ExpiresAt: t.ExpiresAt}, nil
}

// Start names the node that takes merchant users' logins
// (login.Counter's Node) and forgets the attempts in flight its previous
// process left (login.Counter.Start), reporting how many. serve calls it
// before it serves.
func (s *Service) Start(ctx context.Context, node string) (forgotten int, err error) {
	s.attempts.Node = node
	return s.attempts.Start(ctx)
}

// door is where merchants' users log in and their sessions are issued,
// checked and ended, with the service's settings as they are now.
func (s *Service) door() *login.Door {
	return &login.Door{DB: s.DB, Clock: s.Clock, Log: s.Log, Sealer: s.Sealer, Limits: s.Limits,
		Counter: s.attempts, Gate: s.hashing, Kind: TargetKind, Owner: "merchantuser", Unknown: "unknown user",
		Wrong: wrongLogin, LockedRemedy: "Wait until the lock ends (Beijing time), or ask an owner of the merchant to check the account.",
		Accounts: userAccounts, Sessions: userSessions}
}

// The statements a login and a session run on the tables of merchants'
// users and of their sessions.
var (
	userAccounts = login.Accounts{
		TakeStep: `UPDATE merchant_users SET totp_step = $1 WHERE id = $2 AND totp_step < $1`,
		Rehash:   `UPDATE merchant_users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`,
	}
	userSessions = login.Sessions{
		IDPrefix: "mus_",
		Issue: `INSERT INTO merchant_user_sessions (token_hash, id, user_id, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5)`,
		Account: `SELECT u.id, u.mchid, u.name, u.role, u.totp_secret, u.disabled_at, u.created_at, u.created_by, u.password_change, u.totp_enrol
			FROM merchant_user_sessions t JOIN merchant_users u ON u.id = t.user_id
			WHERE t.token_hash = $1 AND t.revoked_at = 0 AND t.expires_at > $2 AND u.disabled_at = 0`,
		End:   `UPDATE merchant_user_sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at = 0`,
		Sweep: `DELETE FROM merchant_user_sessions WHERE expires_at <= $1`,
	}
)

func wrongLogin(l login.Limits) error {
	e := fenfu.Errorf(fenfu.Unauthenticated, "wrong merchant number, name, password or TOTP code")
	e.Remedy = fmt.Sprintf("Check the merchant number, the name, the password and the current code of the authenticator app and log in again; after %d wrong logins the user is locked for %d minutes.",
		l.LockoutFailures, l.LockoutWindow/time.Minute)
	return e
}

// Authenticate returns the user of a session token that is neither
// revoked nor expired, of a user not disabled. Any other token is
// UNAUTHENTICATED.
func (s *Service) Authenticate(ctx context.Context, token string) (User, error) {
	var u User
	ok, err := s.door().Account(ctx, token, func(row *sql.Row) (err error) {
		u, err = scanUser(row)
		return err
	})
	if err != nil {
		return User{}, err
	}
	if ok {
		return u, nil
	}
	e := fenfu.Errorf(fenfu.Unauthenticated, "the merchant portal needs a session that has neither expired nor ended")
	e.Remedy = "Log in to the merchant portal again."
	return User{}, e
}

// Logout ends the session of a token. Ending one that has ended is not an
// error.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.door().End(ctx, token)
}

// Record appends what a user did in the portal to the core store's audit
// log: action (the portal's route), the target and a small detail.
func (s *Service) Record(ctx context.Context, u User, action string, target audit.Target, detail map[string]any) error {
	_, err := audit.Record(context.WithoutCancel(ctx), s.DB, audit.Entry{Actor: u.Actor(), Action: action, Target: target,
		Detail: audit.Detail(detail)})
	return err
}

// totpContext binds a user's sealed TOTP secret to its row.
func totpContext(id string) string { return "merchant_users.totp:" + id }

// Columns are the store's columns this package seals, for the master
// key's reseal and status: the users' TOTP secrets.
func Columns() []seal.Column {
	return []seal.Column{{Table: "merchant_users", Key: "id", Value: "totp_secret", Context: totpContext}}
}
