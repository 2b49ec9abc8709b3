// Package merchant owns merchants and their API credentials in the core
// store: identity (mchid, appid), environment, the API v3 key, the
// registered public keys, each known by its serial number, with which
// merchants sign their requests, and the notify_url notifications go to.
package merchant

import (
	"context"
	"crypto"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

// Merchant is a merchant's identity and settings.
type Merchant struct {
	MchID     string
	AppID     string
	Name      string
	Env       string // "sandbox" or "production"
	APIv3Key  string
	APIv2Key  string // empty: the merchant has no v2 (XML) access
	NotifyURL string
	CreatedAt time.Time
	// CreditPay is the product center's credit-pay permission;
	// CreditSuspended is set by risk screening. See CreditAllowed.
	CreditPay       bool
	CreditSuspended bool
	// CreditRollout is the percentage of consumers offered credit pay
	// (gray release); see Cohort.
	CreditRollout int
	// FeeDiscount is ppm off the combined credit-pay rate, until
	// FeeDiscountUntil (zero: no end); see DiscountAt.
	FeeDiscount      fee.PPM
	FeeDiscountUntil time.Time
	// Scheme is the scheme of the merchant's newest active key: responses
	// and notifications to it are signed, and notifications encrypted, in
	// that scheme's family.
	Scheme scheme.Name
}

// Key states.
const (
	KeyActive  = "active"
	KeyRetired = "retired"
)

// keys is a key's state machine: a retired key stays retired (a merchant
// registers a new key rather than reviving an old one).
var keys = db.Machine[string]{Table: "merchant_keys", Column: "state", Allowed: map[string][]string{
	KeyActive: {KeyRetired},
}}

// Service manages merchants and their keys.
type Service struct {
	DB    *db.DB
	IDs   fenfu.IDs
	Clock fenfu.Clock
	// Sealer encrypts the API keys at rest; every command sets it. Left
	// nil (in tests of other packages), keys are stored as given.
	Sealer *seal.Sealer
	// SandboxOnly refuses production merchants: the deployment runs a
	// sandbox clock (serve --sandbox-clock), whose time staff move.
	SandboxOnly bool

	mu        sync.Mutex
	cache     map[string]cachedKey // mchid|serial → key
	merchants map[string]cachedMerchant
}

type cachedMerchant struct {
	m       Merchant
	version int64 // the merchant's version when m was read
	expires time.Time
}

type cachedKey struct {
	key     crypto.PublicKey
	version int64 // the merchant's version when key was read
}

// keyCacheTTL is how long Get trusts a cached merchant without looking at
// the store: a change of settings (rollout, discount, credit permission)
// made on another node reaches this one within it. Keys do not wait for
// it; see Fresh.
const keyCacheTTL = 30 * time.Second

// New returns a Service.
func New(d *db.DB, ids fenfu.IDs, clock fenfu.Clock) *Service {
	return &Service{DB: d, IDs: ids, Clock: clock, cache: map[string]cachedKey{}, merchants: map[string]cachedMerchant{}}
}

// Sandbox is a newly provisioned sandbox merchant with its secrets, which
// are shown once and never again.
type Sandbox struct {
	Merchant
	Scheme     scheme.Name
	SerialNo   string
	PrivateKey crypto.Signer
}

// MaxNameLength is the most characters a merchant's name has.
const MaxNameLength = 64

// checkName refuses a merchant name that would not show as one line of
// text (see Line). Consumers see the name on the cashier, on their
// statements and on receipts.
func checkName(name string) error { return Line("name", name, MaxNameLength) }

// Line refuses a value of field that would not show as one line of plain
// text: control characters (a tab, a newline, ESC or GS, which a thermal
// printer would take as commands on a receipt), Unicode format characters
// (the bidirectional overrides that make a text read as another), only
// spaces, or more than max characters. Merchant names, and the labels of
// the codes a merchant prints, are such lines.
func Line(field, v string, max int) error {
	if err := fenfu.Text(field, v); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(v); n > max {
		return fenfu.FieldError(field, "%s must be at most %d characters, not %d", field, max, n)
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fenfu.FieldError(field, "%s holds the character U+%04X, which it may not hold: it must read as one line of plain text", field, r)
		}
	}
	if v != "" && strings.TrimSpace(v) == "" {
		return fenfu.FieldError(field, "%s must not be only spaces", field)
	}
	return nil
}

// CreateSandbox provisions a sandbox merchant with a fresh key pair of the
// given scheme (RSA-2048 or SM2), registered under a new serial number, and
// a fresh API v3 key.
func (s *Service) CreateSandbox(ctx context.Context, name string, sch scheme.Name) (Sandbox, error) {
	return s.Create(ctx, name, "sandbox", sch)
}

// Create provisions a merchant in an environment ("sandbox" or
// "production") with a fresh key pair and API v3 key. A production
// merchant takes credit payments only once activated.
func (s *Service) Create(ctx context.Context, name, env string, sch scheme.Name) (Sandbox, error) {
	if env != "sandbox" && env != "production" {
		return Sandbox{}, fenfu.FieldError("env", "env must be sandbox or production")
	}
	if err := checkName(name); err != nil {
		return Sandbox{}, err
	}
	if err := s.Allowed(env); err != nil {
		return Sandbox{}, err
	}
	if sch == "" {
		sch = scheme.RSA
	}
	priv, err := scheme.Generate(sch)
	if err != nil {
		return Sandbox{}, fenfu.Internal("merchant.Create", err)
	}
	if name == "" {
		name = "Merchant"
	}
	now := s.Clock.Now()
	m := Merchant{
		MchID:     "19" + digits(s.IDs.Nonce(8)),
		AppID:     "wx" + strings.ToLower(hex.EncodeToString([]byte(s.IDs.Nonce(8)))),
		Name:      name,
		Env:       env,
		APIv3Key:  s.IDs.Nonce(32),
		CreatedAt: now,
	}
	pubDER, err := scheme.MarshalPublicKey(scheme.Public(priv))
	if err != nil {
		return Sandbox{}, fenfu.Internal("merchant.Create", err)
	}
	serial := SerialOf(pubDER)
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		sealed, err := s.seal(m.APIv3Key, "apiv3_key", m.MchID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO merchants (mchid, appid, name, env, apiv3_key, notify_url, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, m.MchID, m.AppID, m.Name, m.Env, sealed, m.NotifyURL, db.Micros(tx.Now)); err != nil {
			return err
		}
		return addKey(ctx, tx, m.MchID, serial, sch.Algorithm(), pubDER)
	})
	if err != nil {
		return Sandbox{}, fenfu.Internal("merchant.Create", err)
	}
	return Sandbox{Merchant: m, Scheme: sch, SerialNo: serial, PrivateKey: priv}, nil
}

// Allowed refuses a production merchant on a sandbox-only deployment.
func (s *Service) Allowed(env string) error {
	if !s.SandboxOnly || env == "sandbox" {
		return nil
	}
	e := fenfu.Errorf(fenfu.InvalidRequest, "this deployment runs a sandbox clock, whose time staff move: it takes sandbox merchants only")
	e.Field = "env"
	e.Remedy = "Create the merchant with --env sandbox, or serve production merchants from a deployment without --sandbox-clock (FENFU_SANDBOX_CLOCK)."
	return e
}

// Productions counts the production merchants.
func (s *Service) Productions(ctx context.Context) (int, error) {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM merchants WHERE env = 'production'`).Scan(&n); err != nil {
		return 0, fenfu.Internal("merchant.Productions", err)
	}
	return n, nil
}

func digits(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

// SerialOf returns the serial number fenfu assigns to a public key: the
// upper-case hex of the first 20 bytes of SHA-256 of its DER encoding, in
// the shape of a WeChat Pay certificate serial.
func SerialOf(pubDER []byte) string {
	sum := sha256.Sum256(pubDER)
	return strings.ToUpper(hex.EncodeToString(sum[:20]))
}

func addKey(ctx context.Context, tx *db.Tx, mchid, serial, alg string, pubDER []byte) error {
	p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	_, err := tx.ExecContext(ctx, `INSERT INTO merchant_keys (mchid, serial_no, algorithm, public_key, state, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, mchid, serial, alg, string(p), KeyActive, db.Micros(tx.Now))
	return err
}

// Get returns a merchant, or MCH_NOT_EXISTS. Merchants are cached for
// keyCacheTTL, since every order reads its merchant, so a setting changed
// on another node may be that much behind. Where the merchant's API keys
// are used, call Fresh instead.
func (s *Service) Get(ctx context.Context, mchid string) (Merchant, error) {
	now := s.Clock.Now()
	s.mu.Lock()
	c, ok := s.merchants[mchid]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.m, nil
	}
	return s.reload(ctx, mchid, now)
}

// Fresh returns a merchant as the store has it now, or MCH_NOT_EXISTS:
// the cached copy if the merchant's version is still the one it was read
// at, which costs one primary-key read, else a new load. Every change to
// a merchant (an API key set, a signing key added or retired, a setting)
// raises its version in the change's transaction, so Fresh sees it on
// every node at once. Use it wherever the API v3 or v2 key, or the scheme
// of the newest signing key, is used: notifications, v2 signs,
// certificates.
func (s *Service) Fresh(ctx context.Context, mchid string) (Merchant, error) {
	now := s.Clock.Now()
	s.mu.Lock()
	c, ok := s.merchants[mchid]
	s.mu.Unlock()
	if ok {
		v, err := s.version(ctx, mchid)
		if err != nil {
			return Merchant{}, err
		}
		if v == c.version {
			return c.m, nil
		}
	}
	return s.reload(ctx, mchid, now)
}

// FreshAll is Fresh for several merchants at once, for work that uses the
// keys of many (a round of notifications): their versions are read in one
// statement, and only a merchant whose version moved, or that is not
// cached, is loaded again. Each mchid asked for is in ms or in errs
// (MCH_NOT_EXISTS, or the error of its read). On SQLite the IN list is
// Padded, so rounds of any number of merchants share a few statements.
func (s *Service) FreshAll(ctx context.Context, mchids []string) (ms map[string]Merchant, errs map[string]error) {
	ids := slices.Compact(slices.Sorted(slices.Values(mchids)))
	ms, errs = make(map[string]Merchant, len(ids)), map[string]error{}
	q, args := `SELECT mchid, version FROM merchants WHERE mchid = ANY($1)`, []any{ids}
	if s.DB.Engine != db.Postgres {
		var ph string
		ph, args = db.In(db.Padded(ids), 0)
		q = `SELECT mchid, version FROM merchants WHERE mchid IN (` + ph + `)`
	}
	type versioned struct {
		mchid   string
		version int64
	}
	vs, err := db.All(ctx, s.DB, func(r db.Scanner) (v versioned, err error) {
		err = r.Scan(&v.mchid, &v.version)
		return v, err
	}, q, args...)
	if err != nil {
		for _, id := range ids {
			errs[id] = fenfu.Internal("merchant.FreshAll", err)
		}
		return ms, errs
	}
	now := s.Clock.Now()
	for _, v := range vs {
		s.mu.Lock()
		c, ok := s.merchants[v.mchid]
		s.mu.Unlock()
		if ok && c.version == v.version {
			ms[v.mchid] = c.m
			continue
		}
		m, err := s.reload(ctx, v.mchid, now)
		if err != nil {
			errs[v.mchid] = err
			continue
		}
		ms[v.mchid] = m
	}
	for _, id := range ids {
		if _, ok := ms[id]; !ok && errs[id] == nil {
			errs[id] = fenfu.Errorf(fenfu.MchNotExists, "merchant %s does not exist", id)
		}
	}
	return ms, errs
}

// version reads a merchant's version, or fails with MCH_NOT_EXISTS.
func (s *Service) version(ctx context.Context, mchid string) (int64, error) {
	var v int64
	err := s.DB.QueryRowContext(ctx, `SELECT version FROM merchants WHERE mchid = $1`, mchid).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fenfu.Errorf(fenfu.MchNotExists, "merchant %s does not exist", mchid)
	}
	if err != nil {
		return 0, fenfu.Internal("merchant.version", err)
	}
	return v, nil
}

// reload loads a merchant and caches it with the version it was read at.
func (s *Service) reload(ctx context.Context, mchid string, now time.Time) (Merchant, error) {
	m, version, err := s.load(ctx, mchid)
	if err != nil {
		return m, err
	}
	s.mu.Lock()
	if len(s.merchants) > 100000 {
		s.merchants = map[string]cachedMerchant{}
	}
	s.merchants[mchid] = cachedMerchant{m: m, version: version, expires: now.Add(keyCacheTTL)}
	s.mu.Unlock()
	return m, nil
}

// load reads a merchant and the version of what it read. The version is
// read in the same statement as the row, so a change that lands between
// load's two reads leaves a version older than the copy, which the next
// Fresh reloads: a copy is never taken for newer than it is.
func (s *Service) load(ctx context.Context, mchid string) (Merchant, int64, error) {
	var m Merchant
	var created, version int64
	var creditPay, suspended int
	var discount, discountUntil int64
	err := s.DB.QueryRowContext(ctx, `SELECT mchid, appid, name, env, apiv3_key, apiv2_key, notify_url, created_at, credit_pay, credit_suspended,
		credit_rollout, fee_discount, fee_discount_until, version FROM merchants WHERE mchid = $1`, mchid).
		Scan(&m.MchID, &m.AppID, &m.Name, &m.Env, &m.APIv3Key, &m.APIv2Key, &m.NotifyURL, &created, &creditPay, &suspended, &m.CreditRollout,
			&discount, &discountUntil, &version)
	m.FeeDiscount = fee.PPM(discount)
	if discountUntil > 0 {
		m.FeeDiscountUntil = db.Time(discountUntil)
	}
	m.CreditPay, m.CreditSuspended = creditPay == 1, suspended == 1
	if errors.Is(err, sql.ErrNoRows) {
		return m, 0, fenfu.Errorf(fenfu.MchNotExists, "merchant %s does not exist", mchid)
	}
	if err != nil {
		return m, 0, fenfu.Internal("merchant.load", err)
	}
	m.CreatedAt = db.Time(created)
	if m.APIv3Key, err = s.open(m.APIv3Key, "apiv3_key", mchid); err != nil {
		return m, 0, err
	}
	if m.APIv2Key, err = s.open(m.APIv2Key, "apiv2_key", mchid); err != nil {
		return m, 0, err
	}
	var alg string
	err = s.DB.QueryRowContext(ctx, `SELECT algorithm FROM merchant_keys WHERE mchid = $1 AND state = $2
		ORDER BY created_at DESC LIMIT 1`, mchid, KeyActive).Scan(&alg)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return m, 0, fenfu.Internal("merchant.load", err)
	}
	m.Scheme = scheme.RSA
	if alg == "SM2" {
		m.Scheme = scheme.SM2
	}
	return m, version, nil
}

// CreditAllowed explains whether the merchant may take credit payments: a
// sandbox merchant always may; a production merchant once the product
// center activated credit pay; no merchant while risk screening has it
// suspended.
func (m Merchant) CreditAllowed() error {
	if m.CreditSuspended {
		e := fenfu.Errorf(fenfu.NoAuth, "this merchant's credit pay is suspended pending a risk review")
		e.Remedy = "Pay from balance, or ask the merchant; the merchant should contact the platform's risk team."
		return e
	}
	if m.Env != "sandbox" && !m.CreditPay {
		e := fenfu.Errorf(fenfu.NoAuth, "this merchant has not activated credit pay")
		e.Remedy = "Pay from balance. The merchant applies for the credit-pay permission in the product center."
		return e
	}
	return nil
}

// SetCreditPay records the product center's credit-pay permission or the
// risk suspension for a merchant, in the caller's transaction.
func SetCreditPay(ctx context.Context, tx *db.Tx, mchid string, permitted, suspended bool) error {
	_, err := tx.ExecContext(ctx, `UPDATE merchants SET credit_pay = $1, credit_suspended = $2, version = version + 1 WHERE mchid = $3`,
		db.Flag(permitted), db.Flag(suspended), mchid)
	return err
}

// Forget drops this node's cached copy of a merchant after a change made
// elsewhere (other nodes' Get refreshes within keyCacheTTL, their Fresh
// at once).
func (s *Service) Forget(mchid string) { s.forget(mchid) }

// SetAPIv2Key sets (or, with an empty key, generates) a merchant's API v2
// key and returns it. The previous key stops working at once on every
// node: v2 requests and notifications read the key with Fresh.
func (s *Service) SetAPIv2Key(ctx context.Context, mchid, key string) (string, error) {
	if key == "" {
		key = s.IDs.Nonce(32)
	}
	if len(key) != 32 {
		return "", fenfu.FieldError("apiv2_key", "the API v2 key must be 32 characters")
	}
	if err := s.setSecret(ctx, mchid, "apiv2_key", key); err != nil {
		return "", err
	}
	return key, nil
}

// secretContext is the context a merchant's secret is sealed in.
func secretContext(column, mchid string) string { return "merchants." + column + ":" + mchid }

// seal encrypts a merchant secret for its column; an empty secret stays
// empty.
func (s *Service) seal(v, column, mchid string) (string, error) {
	if s.Sealer == nil || v == "" {
		return v, nil
	}
	return s.Sealer.Seal(v, secretContext(column, mchid))
}

// open decrypts a stored merchant secret; a value stored before secrets
// were sealed is returned as it is.
func (s *Service) open(v, column, mchid string) (string, error) {
	if s.Sealer == nil || !seal.Sealed(v) {
		return v, nil
	}
	pt, err := s.Sealer.Open(v, secretContext(column, mchid))
	if err != nil {
		return "", fenfu.Internal("merchant.open", fmt.Errorf("merchant %s: %s: %w (is this node's master.key the one the store was written with?)", mchid, column, err))
	}
	return pt, nil
}

// PublicKey returns the active public key a merchant registered under
// serial. Parsed keys are cached, each with the merchant's version when it
// was read, and used only while the version is unchanged, so a retired key
// stops verifying on every node at once.
func (s *Service) PublicKey(ctx context.Context, mchid, serial string) (crypto.PublicKey, error) {
	k := mchid + "|" + serial
	version, err := s.version(ctx, mchid)
	if fenfu.ErrorCode(err) == fenfu.MchNotExists {
		return nil, errNoKey(mchid, serial)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok := s.cache[k]
	s.mu.Unlock()
	if ok && c.version == version {
		if c.key == nil {
			return nil, errNoKey(mchid, serial)
		}
		return c.key, nil
	}
	var p string
	err = s.DB.QueryRowContext(ctx, `SELECT public_key FROM merchant_keys WHERE mchid = $1 AND serial_no = $2 AND state = $3`,
		mchid, serial, KeyActive).Scan(&p)
	var key crypto.PublicKey
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fenfu.Internal("merchant.PublicKey", err)
	default:
		key, err = scheme.ParsePublicKeyPEM([]byte(p))
		if err != nil {
			return nil, fenfu.Internal("merchant.PublicKey", fmt.Errorf("merchant: stored key %s: %w", k, err))
		}
	}
	s.mu.Lock()
	if len(s.cache) > 100000 {
		s.cache = map[string]cachedKey{}
	}
	s.cache[k] = cachedKey{key: key, version: version}
	s.mu.Unlock()
	if key == nil {
		return nil, errNoKey(mchid, serial)
	}
	return key, nil
}

// CachedKey returns the key PublicKey last read for a merchant's serial,
// with the merchant's version it was read at, without reading the store;
// ok is false if none is cached. The key may have been retired since:
// whoever verifies with it must see the merchant's version unchanged
// before the request's work stands, as SharedNonces.Guard does.
func (s *Service) CachedKey(mchid, serial string) (key crypto.PublicKey, version int64, ok bool) {
	s.mu.Lock()
	c, ok := s.cache[mchid+"|"+serial]
	s.mu.Unlock()
	if !ok || c.key == nil {
		return nil, 0, false
	}
	return c.key, c.version, true
}

func errNoKey(mchid, serial string) error {
	return fenfu.Errorf(fenfu.SignError, "merchant %s has no active key with serial_no %s", mchid, serial)
}

// Exists checks, in the caller's transaction, that a merchant exists; it
// fails with MCH_NOT_EXISTS otherwise.
func Exists(ctx context.Context, tx *db.Tx, mchid string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM merchants WHERE mchid = $1`, mchid).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fenfu.Errorf(fenfu.MchNotExists, "merchant %s does not exist", mchid)
	}
	return err
}

// Columns are the merchants' sealed columns: their API v3 and v2 keys.
func Columns() []seal.Column {
	var out []seal.Column
	for _, col := range []string{"apiv3_key", "apiv2_key"} {
		out = append(out, seal.Column{Table: "merchants", Key: "mchid", Value: col,
			Context: func(mchid string) string { return secretContext(col, mchid) }})
	}
	return out
}

// Lock takes a merchant's row for the rest of the caller's transaction,
// so that decisions about the merchant made in it (such as whether it
// has an owner left) are taken one at a time on every node; it fails
// with MCH_NOT_EXISTS for an unknown merchant. It changes nothing.
func Lock(ctx context.Context, tx *db.Tx, mchid string) error {
	res, err := tx.ExecContext(ctx, `UPDATE merchants SET version = version WHERE mchid = $1`, mchid)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fenfu.Errorf(fenfu.MchNotExists, "merchant %s does not exist", mchid)
	}
	return nil
}
