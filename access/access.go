// Package access owns the platform's staff: their accounts (a department
// and a rank, an argon2id password and a TOTP second factor), their
// bearer tokens (sessions that expire, personal API tokens for scripts),
// the access policy of what each department and rank may do, kept as data
// that directors change, and the record of every masked field a staff
// member had shown in the clear. Tables staff, staff_tokens, staff_policy
// and staff_unmasks in the core store.
package access

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/seal"
)

// Department is the part of the platform a staff member works in.
type Department string

// The departments.
const (
	Risk        Department = "risk"
	Operations  Department = "operations"
	Finance     Department = "finance"
	Support     Department = "support"
	Engineering Department = "engineering"
)

// Departments lists every department.
var Departments = []Department{Risk, Operations, Finance, Support, Engineering}

// ParseDepartment checks a department's name.
func ParseDepartment(s string) (Department, error) {
	if d := Department(s); slices.Contains(Departments, d) {
		return d, nil
	}
	return "", fenfu.FieldError("department", "department must be one of risk, operations, finance, support, engineering")
}

// Rank is a staff member's seniority; ranks are ordered.
type Rank string

// The ranks, lowest first.
const (
	StaffRank  Rank = "staff"
	Supervisor Rank = "supervisor"
	Manager    Rank = "manager"
	Director   Rank = "director"
)

// Ranks lists the ranks, lowest first.
var Ranks = []Rank{StaffRank, Supervisor, Manager, Director}

// ParseRank checks a rank's name.
func ParseRank(s string) (Rank, error) {
	if r := Rank(s); slices.Contains(Ranks, r) {
		return r, nil
	}
	return "", fenfu.FieldError("rank", "rank must be one of staff, supervisor, manager, director")
}

// AtLeast reports whether r is o or above.
func (r Rank) AtLeast(o Rank) bool { return slices.Index(Ranks, r) >= slices.Index(Ranks, o) }

// Staff is a staff member as others see them: never a secret.
type Staff struct {
	Name       string     `json:"name"`
	Department Department `json:"department"`
	Rank       Rank       `json:"rank"`
	Disabled   bool       `json:"disabled"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
}

// Actor is how recorded actions name the staff member: "staff:<name>".
func (s Staff) Actor() string { return "staff:" + s.Name }

// Settings bound sessions, wrong logins and API tokens. Zero fields take
// the defaults (DefaultSettings).
type Settings struct {
	login.Limits               // staff sessions and wrong logins of a name
	MaxTokenTTL  time.Duration // the longest an API token may last
}

// DefaultSettings: sessions of 8 hours; 5 wrong logins lock a name for 15
// minutes (login.DefaultLimits); API tokens last at most a year.
func DefaultSettings() Settings {
	return Settings{Limits: login.DefaultLimits(), MaxTokenTTL: 365 * 24 * time.Hour}
}

func (s Settings) orDefaults() Settings {
	s.Limits = s.Limits.OrDefaults()
	if s.MaxTokenTTL <= 0 {
		s.MaxTokenTTL = DefaultSettings().MaxTokenTTL
	}
	return s
}

// Service manages staff in the core store.
type Service struct {
	DB       *db.DB
	Clock    fenfu.Clock
	Settings Settings
	// Sealer seals TOTP secrets at rest; every command sets it. Left nil
	// (in tests of other packages) they are stored as given.
	Sealer *seal.Sealer
	// Log gets a Warn for every failed or refused login, never a secret.
	Log *slog.Logger

	attempts *login.Counter
	hashing  login.Gate
}

// New returns a Service with the default settings. Its log discards until
// Log is set.
func New(core *db.DB, clock fenfu.Clock) *Service {
	return &Service{DB: core, Clock: clock, Settings: DefaultSettings(), Log: slog.New(slog.DiscardHandler),
		attempts: &login.Counter{DB: core, Clock: clock}, hashing: login.NewGate()}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{1,31}$`)

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return fenfu.FieldError("name", "a staff name is 2 to 32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter")
	}
	return nil
}

// NewStaff describes a staff member to add.
type NewStaff struct {
	Name       string
	Department Department
	Rank       Rank
	Password   string // login.MinPassword characters or more
}

// Enrollment is what a new staff member needs to log in, shown once: the
// TOTP secret and its otpauth:// URL for an authenticator app.
type Enrollment struct {
	Staff      Staff  `json:"staff"`
	TOTPSecret string `json:"totp_secret"`
	TOTPURL    string `json:"totp_url"`
}

// Bootstrap adds the first director, and is refused once any staff
// member exists: the check and the insert are one statement, so two
// bootstraps at once make one director.
func (s *Service) Bootstrap(ctx context.Context, actor, name, password string) (Enrollment, error) {
	return s.add(ctx, actor, NewStaff{Name: name, Department: Engineering, Rank: Director, Password: password}, true)
}

// Add adds a staff member, recorded as added by actor.
func (s *Service) Add(ctx context.Context, actor string, n NewStaff) (Enrollment, error) {
	return s.add(ctx, actor, n, false)
}

func (s *Service) add(ctx context.Context, actor string, n NewStaff, first bool) (Enrollment, error) {
	if err := checkName(n.Name); err != nil {
		return Enrollment{}, err
	}
	if _, err := ParseDepartment(string(n.Department)); err != nil {
		return Enrollment{}, err
	}
	if _, err := ParseRank(string(n.Rank)); err != nil {
		return Enrollment{}, err
	}
	if err := login.CheckPassword(n.Password); err != nil {
		return Enrollment{}, err
	}
	secret, url, err := login.NewTOTP(n.Name)
	if err != nil {
		return Enrollment{}, fenfu.Internal("access.Add", err)
	}
	stored, err := seal.SealWith(s.Sealer, secret, totpContext(n.Name))
	if err != nil {
		return Enrollment{}, fenfu.Internal("access.Add", err)
	}
	now := s.Clock.Now()
	q := `INSERT INTO staff (name, department, rank, password_hash, totp_secret, created_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`
	if first {
		q = `INSERT INTO staff (name, department, rank, password_hash, totp_secret, created_at, created_by)
			SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM staff)`
	}
	hash := login.Hash(n.Password)
	var k int64
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		if first && s.DB.Engine == db.Postgres {
			// NOT EXISTS alone does not see a bootstrap committing at the
			// same moment under READ COMMITTED; the lock makes the second
			// wait for the first and then see its row. (A SQLite store has
			// one writer at a time already.)
			if _, err := tx.ExecContext(ctx, `LOCK TABLE staff IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, q, n.Name, string(n.Department), string(n.Rank), hash, stored, db.Micros(now), actor)
		if err != nil {
			return err
		}
		k, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return Enrollment{}, fenfu.Internal("access.Add", err)
	}
	if k != 1 {
		if first {
			e := fenfu.Errorf(fenfu.InvalidRequest, "staff already exist; bootstrap makes only the first director")
			e.Remedy = "Log in as a director and add staff with `fenfu staff add` or POST /admin/staff."
			return Enrollment{}, e
		}
		return Enrollment{}, fenfu.Errorf(fenfu.InvalidRequest, "a staff member named %s already exists", n.Name)
	}
	st := Staff{Name: n.Name, Department: n.Department, Rank: n.Rank, CreatedAt: now, CreatedBy: actor}
	return Enrollment{Staff: st, TOTPSecret: secret, TOTPURL: url}, nil
}

const staffCols = `name, department, rank, disabled_at, created_at, created_by`

func scanStaff(row interface{ Scan(...any) error }) (Staff, error) {
	var st Staff
	var disabled, created int64
	err := row.Scan(&st.Name, &st.Department, &st.Rank, &disabled, &created, &st.CreatedBy)
	st.Disabled, st.CreatedAt = disabled != 0, db.Time(created)
	return st, err
}

// Get returns a staff member.
func (s *Service) Get(ctx context.Context, name string) (Staff, error) {
	st, err := scanStaff(s.DB.QueryRowContext(ctx, `SELECT `+staffCols+` FROM staff WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return st, fenfu.Errorf(fenfu.ResourceNotExists, "no staff member is named %s", name)
	}
	if err != nil {
		return st, fenfu.Internal("access.Get", err)
	}
	return st, nil
}

// List returns every staff member, by name.
func (s *Service) List(ctx context.Context) ([]Staff, error) {
	out, err := db.All(ctx, s.DB, scanStaff, `SELECT `+staffCols+` FROM staff ORDER BY name`)
	if err != nil {
		return nil, fenfu.Internal("access.List", err)
	}
	return out, nil
}

// Disable stops a staff member logging in and ends their sessions and
// API tokens on every node, recorded as done by actor.
func (s *Service) Disable(ctx context.Context, actor, name string) error {
	return s.DB.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff SET disabled_at = $1, disabled_by = $2 WHERE name = $3 AND disabled_at = 0`,
			db.Micros(tx.Now), actor, name)
		if err != nil {
			return fenfu.Internal("access.Disable", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			if _, err := s.Get(ctx, name); err != nil {
				return err
			}
			return fenfu.Errorf(fenfu.InvalidRequest, "staff member %s is already disabled", name)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE staff_tokens SET revoked_at = $1 WHERE staff_name = $2 AND revoked_at = 0`,
			db.Micros(tx.Now), name); err != nil {
			return fenfu.Internal("access.Disable", err)
		}
		return nil
	})
}

// Token is a bearer token as it is handed out, once: Token is the secret.
type Token struct {
	ID        string    `json:"id"`
	Token     string    `json:"token,omitempty"`
	Staff     string    `json:"staff"`
	Kind      string    `json:"kind"` // session or api
	Label     string    `json:"label,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Token kinds.
const (
	SessionToken = "session"
	APIToken     = "api"
)

// CreateToken makes a personal API token of a staff member for scripts,
// lasting ttl (at most Settings.MaxTokenTTL), recorded as made by actor.
// Its secret is in the answer only: the store keeps its hash.
func (s *Service) CreateToken(ctx context.Context, actor, name, label string, ttl time.Duration) (Token, error) {
	longest := s.Settings.orDefaults().MaxTokenTTL
	if ttl < time.Hour || ttl > longest {
		return Token{}, fenfu.FieldError("ttl", "an API token lasts from an hour to %d days", longest/(24*time.Hour))
	}
	if len(label) > 100 {
		return Token{}, fenfu.FieldError("label", "a token's label is at most 100 characters")
	}
	st, err := s.Get(ctx, name)
	if err != nil {
		return Token{}, err
	}
	if st.Disabled {
		return Token{}, fenfu.Errorf(fenfu.InvalidRequest, "staff member %s is disabled", name)
	}
	t, err := s.door().Issue(ctx, "fst_", name, ttl, APIToken, label, actor)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: t.ID, Token: t.Token, Staff: name, Kind: APIToken, Label: label, ExpiresAt: t.ExpiresAt}, nil
}

// Tokens lists a staff member's API tokens that are neither revoked nor
// expired, without their secrets.
func (s *Service) Tokens(ctx context.Context, name string) ([]Token, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, kind, label, expires_at FROM staff_tokens
		WHERE staff_name = $1 AND kind = $2 AND revoked_at = 0 AND expires_at > $3 ORDER BY created_at, id`,
		name, APIToken, db.Micros(s.Clock.Now()))
	if err != nil {
		return nil, fenfu.Internal("access.Tokens", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (Token, error) {
		t := Token{Staff: name}
		var exp int64
		err := r.Scan(&t.ID, &t.Kind, &t.Label, &exp)
		t.ExpiresAt = db.Time(exp)
		return t, err
	})
	if err != nil {
		return nil, fenfu.Internal("access.Tokens", err)
	}
	return out, nil
}

// TokenOwner returns whose token id is.
func (s *Service) TokenOwner(ctx context.Context, id string) (string, error) {
	var name string
	err := s.DB.QueryRowContext(ctx, `SELECT staff_name FROM staff_tokens WHERE id = $1`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fenfu.Errorf(fenfu.ResourceNotExists, "no token has id %s", id)
	}
	if err != nil {
		return "", fenfu.Internal("access.TokenOwner", err)
	}
	return name, nil
}

// RevokeToken ends a token (by its id) on every node. Revoking one that
// is already revoked is not an error.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	if _, err := s.TokenOwner(ctx, id); err != nil {
		return err
	}
	if _, err := s.DB.Exec(ctx, `UPDATE staff_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`,
		db.Micros(s.Clock.Now()), id); err != nil {
		return fenfu.Internal("access.RevokeToken", err)
	}
	return nil
}

// Logout ends the session or token presented. Ending one that has ended
// is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.door().End(ctx, token)
}

// Authenticate returns the staff member of a bearer token (a session or
// an API token) that is neither revoked nor expired, of a member not
// disabled. Any other token is UNAUTHENTICATED.
func (s *Service) Authenticate(ctx context.Context, token string) (Staff, error) {
	var st Staff
	ok, err := s.door().Account(ctx, token, func(row *sql.Row) (err error) {
		st, err = scanStaff(row)
		return err
	})
	if err != nil {
		return Staff{}, err
	}
	if ok {
		return st, nil
	}
	e := fenfu.Errorf(fenfu.Unauthenticated, "the staff API needs Authorization: Bearer <token> of a session or an API token that has neither expired nor been revoked")
	e.Remedy = "Log in with POST /admin/login {name, password, totp} and send the session token it answers, or use a personal API token from `fenfu staff token create`."
	return Staff{}, e
}

// Login checks a staff member's name, password and TOTP code and starts a
// session lasting Settings.SessionTTL (login.Door.Login). source is the
// connection's address, for the log. Every login and refused login is
// recorded in the core store's audit log (audit.Login), with why it was
// refused. Wrong logins of a name are counted in the store
// (login.Counter): LockoutFailures of them lock the name on every node
// until LockoutWindow after the last. A wrong name, password or code, or
// a disabled member, is UNAUTHENTICATED, all alike; a locked name is
// FREQUENCY_LIMITED.
func (s *Service) Login(ctx context.Context, name, password, code, source string) (Token, error) {
	actor := Staff{Name: name}.Actor()
	t, err := s.door().Login(ctx, login.Attempt{Subject: actor, Name: name, LogAs: slog.String("staff", name),
		Malformed: checkName(name) != nil, Password: password, Code: code, Source: source,
		Find: func(ctx context.Context) (login.Account, bool, error) {
			a := login.Account{Key: name, TOTP: true, SecretContext: totpContext(name)}
			var disabled int64
			err := s.DB.QueryRowContext(ctx, `SELECT password_hash, totp_secret, totp_step, disabled_at FROM staff WHERE name = $1`, name).
				Scan(&a.Hash, &a.Secret, &a.Step, &disabled)
			a.Disabled = disabled != 0
			if errors.Is(err, sql.ErrNoRows) {
				return a, false, nil
			}
			return a, err == nil, err
		},
		Args: []any{SessionToken, "login", actor}})
	if err != nil {
		return Token{}, err
	}
	return Token{ID: t.ID, Token: t.Token, Staff: name, Kind: SessionToken, Label: "login", ExpiresAt: t.ExpiresAt}, nil
}

// Start names the node that takes staff logins (login.Counter's Node)
// and forgets the attempts in flight its previous process left
// (login.Counter.Start), reporting how many. serve calls it before it
// serves.
func (s *Service) Start(ctx context.Context, node string) (forgotten int, err error) {
	s.attempts.Node = node
	return s.attempts.Start(ctx)
}

// door is where staff log in and their tokens are issued, checked and
// ended, with the service's settings as they are now.
func (s *Service) door() *login.Door {
	return &login.Door{DB: s.DB, Clock: s.Clock, Log: s.Log, Sealer: s.Sealer, Limits: s.Settings.Limits,
		Counter: s.attempts, Gate: s.hashing, Kind: "staff", Owner: "access", Unknown: "unknown name",
		Wrong: wrongLogin, LockedRemedy: "Wait until the lock ends (Beijing time), or ask a director to check the account.",
		Accounts: staffAccounts, Sessions: staffTokens}
}

// The statements a login and a token run on the tables of staff and of
// their tokens: sessions and API tokens alike.
var (
	staffAccounts = login.Accounts{
		TakeStep: `UPDATE staff SET totp_step = $1 WHERE name = $2 AND totp_step < $1`,
		Rehash:   `UPDATE staff SET password_hash = $1 WHERE name = $2 AND password_hash = $3`,
	}
	staffTokens = login.Sessions{
		IDPrefix:    "tok_",
		TokenPrefix: "fss_",
		Issue: `INSERT INTO staff_tokens (token_hash, id, staff_name, expires_at, created_at, kind, label, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		Account: `SELECT s.name, s.department, s.rank, s.disabled_at, s.created_at, s.created_by
			FROM staff_tokens t JOIN staff s ON s.name = t.staff_name
			WHERE t.token_hash = $1 AND t.revoked_at = 0 AND t.expires_at > $2 AND s.disabled_at = 0`,
		End:   `UPDATE staff_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at = 0`,
		Sweep: `DELETE FROM staff_tokens WHERE expires_at <= $1`,
	}
)

func wrongLogin(l login.Limits) error {
	e := fenfu.Errorf(fenfu.Unauthenticated, "wrong name, password or TOTP code")
	e.Remedy = fmt.Sprintf("Check the name, the password and the current code of the authenticator app and log in again; after %d wrong logins the name is locked for %d minutes.",
		l.LockoutFailures, l.LockoutWindow/time.Minute)
	return e
}

// totpContext binds a staff member's sealed TOTP secret to its row.
func totpContext(name string) string { return "staff.totp:" + name }

// Columns are the store's columns this package seals, for the master
// key's reseal and status.
func Columns() []seal.Column {
	return []seal.Column{{Table: "staff", Key: "name", Value: "totp_secret", Context: totpContext}}
}
