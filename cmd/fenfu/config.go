package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/access"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/doctor"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/login"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/retention"
	"github.com/fenfu/fenfu/risk"
	"github.com/fenfu/fenfu/server"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
	"github.com/fenfu/fenfu/wxpay"
)

// Config is every setting of fenfu: where the stores are, for every
// command, and how serve runs. A setting's value is its default
// (DefaultConfig), then its FENFU_* variable, then its flag; Validate
// checks them all before anything is opened, and the services are built
// from the result.
type Config struct {
	DataDir     string
	CoreDB      string
	CreditDB    string
	Synchronous string
	// DBPool caps each store's connections on a serve node: PostgreSQL's
	// pool, SQLite's readers (its writer is one connection); 0 is the
	// engine's default, db.Options.MaxConns's.
	DBPool int
	// cacheKiB is SQLite's page cache per connection (0: the db package's
	// default); one-shot commands that read a store once set it lower.
	cacheKiB int
	// SandboxClock gives the deployment the sandbox clock: the system's
	// plus an offset in the core store, which staff advance; it then
	// takes sandbox merchants only.
	SandboxClock bool
	// Where the master key comes from (keyring.MasterSource): the first
	// set of MasterKeyHex (FENFU_MASTER_KEY, the environment only),
	// MasterKeyCommand and MasterKeyFile (default DATA_DIR/master.key,
	// created on first start). The previous master, held during a master
	// rotation, from PreviousMasterKeyHex (FENFU_PREVIOUS_MASTER_KEY) or
	// PreviousMasterKeyFile.
	MasterKeyFile, MasterKeyCommand, MasterKeyHex string
	PreviousMasterKeyFile, PreviousMasterKeyHex   string
	// LogFormat is how every command logs to standard error: text
	// (slog's key=value lines) or json (one JSON object a line, slog's
	// JSONHandler), for a log collector.
	LogFormat string

	// serve's settings.
	Addr string
	// NodeName names the node, the same across its restarts, in its
	// login attempts in flight, which it forgets when it starts again
	// (login.Counter.Start); "": the host name and Addr (node). It is not
	// nodeName(), the process's name in leases, which a restart changes.
	NodeName      string
	PublicURL     string // "": http:// and the listen address
	LogLevel      slog.Level
	SettleAt      time.Duration // after midnight, Asia/Shanghai
	OrdinaryFee   fee.PPM
	CreditFee     fee.Schedule // the tiered credit-pay schedule
	NotifyPrivate bool
	// NotifyCAFile is a PEM file of certificate authorities trusted for
	// notify URLs beside the system's: deliveries and fenfu doctor's
	// probes verify with them.
	NotifyCAFile string
	MerchantRate float64 // authenticated requests per second per merchant and node; 0: unlimited
	FailureRate  float64 // failed authentications per second per source address and node; 0: unlimited
	// DoctorPerMinute is how many times a minute each merchant's fenfu
	// doctor checks may run on a node, in bursts of as many.
	DoctorPerMinute int
	// CJKFont is the TrueType font with Chinese glyphs that PDF receipts
	// and the label and note of QR pictures in PNG are drawn in.
	CJKFont string
	// QR are the sizes of QR pictures and the budget of failed mark
	// verifications.
	QR QRSettings
	// How often serve settles interrupted payments, screens active
	// merchants against the risk list again, and warns of settlement
	// exception requests past their SLA.
	RecoverEvery      time.Duration
	RescreenEvery     time.Duration
	OverdueAlertEvery time.Duration
	// RecoverAfter is how old an interrupted payment or refund must be
	// before recovery settles it: longer than any payment takes between
	// its two commits, so no node settles another's payment in flight.
	RecoverAfter time.Duration
	// NotifyLease is how long a node holds a notification it is
	// delivering before another attempt may be made: what a node dying
	// mid-delivery delays the notification by.
	NotifyLease time.Duration
	// HoldFor is how long a risk hold keeps a payment out of settlement
	// when staff give no length; ExceptionSLA how long the platform has to
	// answer a merchant's settlement exception request: the SLA the
	// settlement-delay ticket lane of a new store is seeded with.
	HoldFor      time.Duration
	ExceptionSLA time.Duration
	// OnDutyURL is where on-duty alerts of tickets are posted ("": they
	// are logged at error level); TicketEvery how often serve escalates
	// tickets past their SLA and delivers the alerts due.
	OnDutyURL   string
	TicketEvery time.Duration
	// Counter are the settings of code payments (付款码支付): the amount
	// above which a payment waits for the consumer's PIN, how long it
	// waits, and how old an order may be reversed.
	Counter pay.Counter
	// CashierPINFreeBelow is the amount below which a consumer logged in
	// to the cashier pays without entering the PIN again (the cashier's
	// analogue of Counter.NoPINLimit); 0 asks for it on every payment.
	CashierPINFreeBelow fenfu.Fen
	// ComplaintSLA is how long a merchant has to first answer a consumer's
	// complaint before it is escalated to platform staff; ComplaintHold
	// the longest a complaint keeps its order out of settlement;
	// ComplaintEvery how often serve escalates overdue complaints and
	// carries out their notifications and holds.
	ComplaintSLA   time.Duration
	ComplaintHold  time.Duration
	ComplaintEvery time.Duration
	// Login limits the cashier's consumer logins, per phone and per
	// source address.
	Login consumer.LoginLimits
	// Staff bounds staff sessions and wrong staff logins.
	Staff access.Settings
	// Portal bounds merchant users' portal sessions and their wrong
	// logins.
	Portal login.Limits
	// TrustedProxies are the reverse proxies in front of fenfu whose
	// X-Forwarded-For names the client.
	TrustedProxies server.Proxies
	// MetricsFrom are the networks whose clients, as TrustedProxies
	// resolve them, may read /metrics.
	MetricsFrom server.Networks
	// Risk are the numbers of the default risk rules, seeded as rule-set
	// version 1 on a store's first start; RiskPollEvery is how often a
	// node looks for a rule set another node made.
	Risk          risk.Defaults
	RiskPollEvery time.Duration
	// Display are the display rules seeded as version 1 on a store's first
	// start (SPEC §6); DisplayPollEvery is how often a node looks for a
	// version another node made.
	Display          display.Rules
	DisplayPollEvery time.Duration
	// KeysPollEvery is how often serve looks for a platform key rotation
	// step made on another node.
	KeysPollEvery time.Duration
	// RiskOff decides no payment by the risk rules: only to measure what
	// risk control costs.
	RiskOff bool
	// Plans are the installment plans' settings.
	Plans PlanSettings
	// AuditAnchorEvery is how often serve logs the head of each store's
	// audit log, when it moved: the anchors audit verify checks the log
	// against.
	AuditAnchorEvery time.Duration
	// Retention are the retention periods; RetentionEvery is how often
	// serve looks for a day's retention run not done yet.
	Retention      retention.Periods
	RetentionEvery time.Duration
	// PaycodeTTL is how long a consumer's payment code pays after it is
	// issued; the page shows a new one every paycode.Refresh.
	PaycodeTTL time.Duration
	// ServiceGrace is how long after a service order's end its frozen
	// credit is kept for the merchant to complete it; ServiceExpireEvery
	// how often serve releases what is past it.
	ServiceGrace       time.Duration
	ServiceExpireEvery time.Duration
	// AggregatePerMinute is how many orders a consumer may start from
	// merchants' aggregate codes in a minute, on each node; 0: no limit.
	AggregatePerMinute int
}

// QRSettings are the sizes orders' QR codes are drawn at, and how many
// wrong marks a verifier may try a minute.
type QRSettings struct {
	ScreenPx, PrintDPI int
	PrintMM            float64
	VerifyFailures     int
}

// DefaultQR are the default QR settings: a code of 360 pixels on screen,
// and 40 mm at 300 dpi in print; 20 wrong marks a minute.
func DefaultQR() QRSettings {
	return QRSettings{ScreenPx: 360, PrintMM: 40, PrintDPI: 300, VerifyFailures: 20}
}

// PlanSettings are the settings of installment plans: the fee rate of 3,
// 6 and 12 installments (of the principal), the statement calendar
// (Asia/Shanghai) and whether an early payoff charges or waives the fee of
// installments not yet due.
type PlanSettings struct {
	Fee3, Fee6, Fee12    fee.PPM
	StatementDay, DueDay int
	EarlyPayoff          string
	// LateFee is charged per day on an overdue installment's principal;
	// OverdueEvery is how often serve runs the overdue job.
	LateFee      fee.PPM
	OverdueEvery time.Duration
}

// pay returns the settings as the payment service takes them.
func (p PlanSettings) pay() pay.Plans {
	return pay.Plans{Rates: credit.Rates{3: p.Fee3, 6: p.Fee6, 12: p.Fee12},
		Calendar: credit.Calendar{StatementDay: p.StatementDay, DueDay: p.DueDay}, Payoff: credit.EarlyPayoff(p.EarlyPayoff)}
}

// setting is one setting: its flag, its variable, what it means, what
// the README says after its default (or for a setting with none, instead
// of it), and where its value lives.
type setting struct {
	flag, env, usage, note string
	serve                  bool // serve's only
	value                  func(*Config) settingValue
}

// settingValue is a setting's flag value. Type is what help shows after
// the flag's name: its kind of value, or nothing for a switch.
type settingValue interface {
	flag.Value
	Type() string
}

// settings lists every setting; flags, variables and the README's
// configuration table come from it.
func settings() []setting {
	return []setting{
		{"data-dir", "FENFU_DATA_DIR", "directory for the master key file, public key files and SQLite files", " — the master key file (0600), public key files and SQLite files", false,
			func(c *Config) settingValue { return (*stringValue)(&c.DataDir) }},
		{"core-db", "FENFU_CORE_DB", "core store DSN: SQLite path or postgres://… (empty: DATA_DIR/core.db)", "`DATA_DIR/core.db`; or `postgres://…`", false,
			func(c *Config) settingValue { return (*stringValue)(&c.CoreDB) }},
		{"credit-db", "FENFU_CREDIT_DB", "credit store DSN: SQLite path or postgres://… (empty: DATA_DIR/credit.db)", "`DATA_DIR/credit.db`; or `postgres://…` (may be another server)", false,
			func(c *Config) settingValue { return (*stringValue)(&c.CreditDB) }},
		{"sqlite-synchronous", "FENFU_SQLITE_SYNCHRONOUS", "SQLite durability: NORMAL or FULL", "; `FULL` for durability against power loss", false,
			func(c *Config) settingValue { return (*stringValue)(&c.Synchronous) }},
		{"sandbox-clock", "FENFU_SANDBOX_CLOCK", "run on the sandbox clock, which `fenfu sandbox clock advance` moves forward; sandbox merchants only", " (`1` or `true` turns it on, on every node and command of the deployment): the system's time, which cannot be advanced; see [Time travel in the sandbox](#time-travel-in-the-sandbox)", false,
			func(c *Config) settingValue { return (*boolValue)(&c.SandboxClock) }},
		{"exception-sla", "FENFU_EXCEPTION_SLA", "how long the platform has to answer a settlement exception request: the SLA the settlement-delay ticket lane of a new store is seeded with, by whichever command opens it first",
			", seeded into the settlement-delay ticket lane by the first command that opens a new store (or one from before tickets); then staff change it (see [Tickets](#tickets))", false,
			func(c *Config) settingValue { return (*durationValue)(&c.ExceptionSLA) }},
		{"master-key-file", "FENFU_MASTER_KEY_FILE", "file of the master key, 32 hex digits, mode 0600 (empty: DATA_DIR/master.key, created on first start); FENFU_MASTER_KEY and --master-key-command come first",
			"`DATA_DIR/master.key`, created on first start; used when neither `FENFU_MASTER_KEY` (the key in hex) nor `--master-key-command` is set", false,
			func(c *Config) settingValue { return (*stringValue)(&c.MasterKeyFile) }},
		{"master-key-command", "FENFU_MASTER_KEY_COMMAND", "command (run by /bin/sh) that prints the master key in hex, such as a KMS client; comes before --master-key-file",
			"none; its output is never logged", false,
			func(c *Config) settingValue { return (*stringValue)(&c.MasterKeyCommand) }},
		{"previous-master-key-file", "FENFU_PREVIOUS_MASTER_KEY_FILE", "file of the previous master key during a master rotation (FENFU_PREVIOUS_MASTER_KEY comes first): values it wraps still open",
			"none: only the master key opens sealed values", false,
			func(c *Config) settingValue { return (*stringValue)(&c.PreviousMasterKeyFile) }},
		{"log-format", "FENFU_LOG_FORMAT", "how serve and every command log: text (key=value lines) or json (a JSON object a line)",
			": `key=value` lines; `json` writes a JSON object a line (slog's JSONHandler) for a log collector", false,
			func(c *Config) settingValue { return (*stringValue)(&c.LogFormat) }},
		{"addr", "FENFU_ADDR", "address to listen on, HOST:PORT", "", true,
			func(c *Config) settingValue { return (*stringValue)(&c.Addr) }},
		{"node-name", "FENFU_NODE_NAME", "this node's name, the same across its restarts, which must differ from every other node's running at once: a node started again forgets the login attempts its previous process left in flight (default: the host name and --addr)",
			"the host name and the listen address (`HOST:8080`, `HOST/10.0.0.5:8080`): the name a node's cashier and staff logins in flight carry, which its next start forgets at once instead of counting them for 30 seconds (see [Consumer login](#consumer-login)); at most 255 bytes. Nodes running at once need names of their own (give each its own when several listen on one host and port, as on port 0): a node started under a running node's name forgets that node's logins in flight, so they stop counting against their limits until they end. Settlement batch leases and the claims of retention runs and sandbox clock advances name a process by its host and pid instead, which a restart changes", true,
			func(c *Config) settingValue { return (*stringValue)(&c.NodeName) }},
		{"public-url", "FENFU_PUBLIC_URL", "base URL consumers reach this server at, used in code_url (default from --addr)", "`http://` + the listen address; the base of every `code_url`, bill download link and receipt lookup; at most 160 bytes", true,
			func(c *Config) settingValue { return (*stringValue)(&c.PublicURL) }},
		{"log-level", "FENFU_LOG_LEVEL", "debug, info, warn or error", "", true,
			func(c *Config) settingValue { return (*levelValue)(&c.LogLevel) }},
		{"db-pool", "FENFU_DB_POOL", "connections each store may hold open on this node: PostgreSQL's pool, or SQLite's readers (0: 16 on PostgreSQL, 4 on SQLite)",
			": 16 connections per PostgreSQL store and node (one-shot commands keep this default), 4 SQLite readers; see [docs/deploy.md](docs/deploy.md) for sizing against `max_connections`", true,
			func(c *Config) settingValue { return (*intValue)(&c.DBPool) }},
		{"settle-at", "FENFU_SETTLE_AT", "time of day (Asia/Shanghai, HH:MM) the T+1 settlement of yesterday runs", ": when, Asia/Shanghai, yesterday's settlement runs", true,
			func(c *Config) settingValue { return (*timeOfDayValue)(&c.SettleAt) }},
		{"ordinary-fee", "FENFU_ORDINARY_FEE", "fee rate of ordinary (balance) payments, e.g. 0.38%", ": the fee rate of ordinary (balance) payments", true,
			func(c *Config) settingValue { return (*percentValue)(&c.OrdinaryFee) }},
		{"credit-fee", "FENFU_CREDIT_FEE", "the credit-pay fee schedule by month-to-date volume: tiers UPTO_YUAN:BASE+TECH/FLOOR (percentages) separated by ';', the last with no UPTO",
			": SPEC §3's tiers", true,
			func(c *Config) settingValue { return (*scheduleValue)(&c.CreditFee) }},
		{"notify-private", "FENFU_NOTIFY_PRIVATE", "also deliver notifications to private, loopback and link-local addresses (development and on-premise merchants)", " (`1` or `true` turns it on): notifications reach public addresses only", true,
			func(c *Config) settingValue { return (*boolValue)(&c.NotifyPrivate) }},
		{"notify-ca-file", "FENFU_NOTIFY_CA_FILE", "PEM file of certificate authorities trusted for notify URLs' certificates beside the system's, for deliveries and the doctor's probes (a private CA of on-premise merchants, or tests)",
			"none: the system's certificate authorities only", true,
			func(c *Config) settingValue { return (*stringValue)(&c.NotifyCAFile) }},
		{"merchant-rate", "FENFU_MERCHANT_RATE", "requests per second each merchant may make, on average, per node (0: unlimited)", " requests per second per merchant and node; `0`: unlimited", true,
			func(c *Config) settingValue { return (*floatValue)(&c.MerchantRate) }},
		{"failure-rate", "FENFU_FAILURE_RATE", "requests failing authentication per second each source address may make, on average, per node (0: unlimited)",
			" failed requests per second per source address and node, bursts of twice that; `0`: unlimited", true,
			func(c *Config) settingValue { return (*floatValue)(&c.FailureRate) }},
		{"doctor-per-minute", "FENFU_DOCTOR_PER_MINUTE", "times a minute each merchant's fenfu doctor checks may run, per node, in bursts of as many: each run probes the merchant's notify URL",
			" a minute per merchant and node, in bursts of as many: one run every 20 s; see [fenfu doctor](#fenfu-doctor-checking-an-integration)", true,
			func(c *Config) settingValue { return (*intValue)(&c.DoctorPerMinute) }},
		{"receipt-font", "FENFU_RECEIPT_FONT", "the former name of --cjk-font, still read", "; the former name of `--cjk-font` (which comes after it)", true,
			func(c *Config) settingValue { return (*stringValue)(&c.CJKFont) }},
		{"cjk-font", "FENFU_CJK_FONT", "TrueType font with Chinese glyphs (.ttf, not .ttc), read at start, that PDF receipts and the label and note of PNG QR codes are drawn in; without it PDF receipts are refused, ESC/POS ones still work and PNG codes print their note in English",
			", Debian's `" + wxpay.ReceiptFontPackage + "`; without a font there, PDF receipts are refused with this remedy, ESC/POS receipts still work and PNG codes print their label and note in English", true,
			func(c *Config) settingValue { return (*stringValue)(&c.CJKFont) }},
		{"qr-screen-px", "FENFU_QR_SCREEN_PX", "pixels across an order's QR code (with its quiet zone) drawn for a screen, ?size=screen", ", rounded to whole pixels a module", true,
			func(c *Config) settingValue { return (*intValue)(&c.QR.ScreenPx) }},
		{"qr-print-mm", "FENFU_QR_PRINT_MM", "millimetres across an order's QR code (with its quiet zone) drawn for print, ?size=print", " mm", true,
			func(c *Config) settingValue { return (*floatValue)(&c.QR.PrintMM) }},
		{"qr-print-dpi", "FENFU_QR_PRINT_DPI", "dots per inch of the printer a print-size QR code is drawn for", " dpi: the payment note is then under 8 pt", true,
			func(c *Config) settingValue { return (*intValue)(&c.QR.PrintDPI) }},
		{"qr-verify-failures", "FENFU_QR_VERIFY_FAILURES", "wrong marks each merchant or staff member may verify per minute, per node, before verification is refused for a while", " a minute, bursts of as many; see [Verifying a code's mark](#verifying-a-codes-mark)", true,
			func(c *Config) settingValue { return (*intValue)(&c.QR.VerifyFailures) }},
		{"recover-every", "FENFU_RECOVER_EVERY", "how often to settle payments interrupted between the two stores", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.RecoverEvery) }},
		{"recover-after", "FENFU_RECOVER_AFTER", "how old an interrupted payment or refund must be before recovery settles it (longer than any payment takes)", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.RecoverAfter) }},
		{"notify-lease", "FENFU_NOTIFY_LEASE", "how long a node holds a notification it is delivering before another attempt may be made (more than the 5s delivery timeout)", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.NotifyLease) }},
		{"rescreen-every", "FENFU_RESCREEN_EVERY", "how often to screen active merchants against the risk list again", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.RescreenEvery) }},
		{"overdue-alert-every", "FENFU_OVERDUE_ALERT_EVERY", "how often to warn of settlement exception requests past their SLA", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.OverdueAlertEvery) }},
		{"hold-for", "FENFU_HOLD_FOR", "how long a risk hold keeps a payment out of settlement when staff give no length", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.HoldFor) }},
		{"code-pin-above", "FENFU_CODE_PIN_ABOVE", "code payments above this many yuan wait for the consumer to confirm with their PIN (USERPAYING)", " yuan", true,
			func(c *Config) settingValue { return (*yuanValue)(&c.Counter.NoPINLimit) }},
		{"cashier-pin-free-below", "FENFU_CASHIER_PIN_FREE_BELOW", "cashier payments below this many yuan need no PIN from a logged-in consumer (0: every payment asks for the PIN)",
			" yuan: every payment on the cashier page is confirmed with the PIN; like `--code-pin-above` for code payments", true,
			func(c *Config) settingValue { return (*yuanValue)(&c.CashierPINFreeBelow) }},
		{"code-confirm-within", "FENFU_CODE_CONFIRM_WITHIN", "how long a code payment waits for its consumer's PIN before it fails (PAYERROR)", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Counter.ConfirmWithin) }},
		{"code-reverse-window", "FENFU_CODE_REVERSE_WINDOW", "how old a code payment may be and still be reversed (撤销)", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Counter.ReverseWindow) }},
		{"on-duty-url", "FENFU_ON_DUTY_URL", "http(s) URL on-duty alerts of tickets are posted to as JSON (a paging service's or chat bot's webhook)",
			"none: each alert is logged at error level instead; see [Tickets](#tickets)", true,
			func(c *Config) settingValue { return (*stringValue)(&c.OnDutyURL) }},
		{"ticket-every", "FENFU_TICKET_EVERY", "how often to escalate tickets past their SLA and deliver the on-duty alerts due", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.TicketEvery) }},
		{"complaint-sla", "FENFU_COMPLAINT_SLA", "how long a merchant has to first answer a consumer's complaint before platform staff take it up", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.ComplaintSLA) }},
		{"complaint-hold", "FENFU_COMPLAINT_HOLD", "the longest an open complaint keeps its order out of settlement", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.ComplaintHold) }},
		{"complaint-every", "FENFU_COMPLAINT_EVERY", "how often to escalate complaints past their SLA and send their pending notifications and holds", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.ComplaintEvery) }},
		{"login-phone-failures", "FENFU_LOGIN_PHONE_FAILURES", "wrong PINs that lock a consumer's phone", "", true,
			func(c *Config) settingValue { return (*intValue)(&c.Login.PhoneFailures) }},
		{"login-lockout", "FENFU_LOGIN_LOCKOUT", "how long a phone stays locked after its last wrong PIN", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Login.PhoneLockout) }},
		{"login-source-failures", "FENFU_LOGIN_SOURCE_FAILURES", "failed logins one address (an IPv6 /64) may make in a window, at each login: the cashier's, the console's and staff API's, the portal's", "", true,
			func(c *Config) settingValue { return (*intValue)(&c.Login.SourceFailures) }},
		{"login-source-window", "FENFU_LOGIN_SOURCE_WINDOW", "the window an address's failed logins are counted over", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Login.SourceWindow) }},
		{"staff-session-ttl", "FENFU_STAFF_SESSION_TTL", "how long a staff login's session lasts", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Staff.SessionTTL) }},
		{"staff-lockout-failures", "FENFU_STAFF_LOCKOUT_FAILURES", "wrong logins that lock a staff name, each within the lockout window of the one before", "", true,
			func(c *Config) settingValue { return (*intValue)(&c.Staff.LockoutFailures) }},
		{"staff-lockout-window", "FENFU_STAFF_LOCKOUT_WINDOW", "the window a staff name's wrong logins are counted over, and how long it stays locked after the last", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Staff.LockoutWindow) }},
		{"portal-session-ttl", "FENFU_PORTAL_SESSION_TTL", "how long a merchant user's login to the merchant portal lasts", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Portal.SessionTTL) }},
		{"portal-lockout-failures", "FENFU_PORTAL_LOCKOUT_FAILURES", "wrong logins that lock a merchant user of the portal, each within the lockout window of the one before", "", true,
			func(c *Config) settingValue { return (*intValue)(&c.Portal.LockoutFailures) }},
		{"portal-lockout-window", "FENFU_PORTAL_LOCKOUT_WINDOW", "the window a merchant user's wrong logins are counted over, and how long it stays locked after the last", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Portal.LockoutWindow) }},
		{"trusted-proxies", "FENFU_TRUSTED_PROXIES", "reverse proxies in front of fenfu, as comma-separated addresses or prefixes (10.0.0.0/8,::1): requests from them are taken to come from the address they name in X-Forwarded-For",
			"none: every request comes from its peer address (behind a proxy, without this, all clients share the proxy's address and its per-source limits)", true,
			func(c *Config) settingValue { return (*networksValue)(&c.TrustedProxies) }},
		{"metrics-from", "FENFU_METRICS_FROM", "networks whose clients may read /metrics, as comma-separated addresses or prefixes, judged on the client's address behind --trusted-proxies; anyone else is answered 403",
			": loopback and the private ranges; empty: no one", true,
			func(c *Config) settingValue { return (*networksValue)(&c.MetricsFrom) }},
		{"risk-run-length", "FENFU_RISK_RUN_LENGTH", "default rule: credit payments in a row by one instrument at one merchant that alert and hold the last", ", seeded into rule-set version 1", true,
			func(c *Config) settingValue { return (*intValue)(&c.Risk.RunLength) }},
		{"risk-run-window", "FENFU_RISK_RUN_WINDOW", "the window a run of payments by one instrument at one merchant is counted in", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Risk.RunWindow) }},
		{"risk-daily-credit", "FENFU_RISK_DAILY_CREDIT", "default rule: yuan of credit payments per consumer per Asia/Shanghai day above which a payment is rejected", " yuan, seeded into rule-set version 1", true,
			func(c *Config) settingValue { return (*yuanValue)(&c.Risk.DailyLimit) }},
		{"risk-night-from", "FENFU_RISK_NIGHT_FROM", "default rule: when the night starts (Asia/Shanghai, HH:MM)", "", true,
			func(c *Config) settingValue { return (*timeOfDayValue)(&c.Risk.NightFrom) }},
		{"risk-night-to", "FENFU_RISK_NIGHT_TO", "default rule: when the night ends (Asia/Shanghai, HH:MM)", "", true,
			func(c *Config) settingValue { return (*timeOfDayValue)(&c.Risk.NightTo) }},
		{"risk-night-credit", "FENFU_RISK_NIGHT_CREDIT", "default rule: yuan above which a credit payment in the night is rejected", " yuan, seeded into rule-set version 1", true,
			func(c *Config) settingValue { return (*yuanValue)(&c.Risk.NightLimit) }},
		{"risk-off", "FENFU_RISK_OFF", "decide no payment by the risk rules: only to measure what risk control costs", " (`1` or `true` turns it on): every payment is decided by the rules", true,
			func(c *Config) settingValue { return (*boolValue)(&c.RiskOff) }},
		{"risk-poll-every", "FENFU_RISK_POLL_EVERY", "how often serve looks for a new risk rule-set version made on another node", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.RiskPollEvery) }},
		{"display-min-amount", "FENFU_DISPLAY_MIN_AMOUNT", "display rule: yuan from which the cashier shows credit pay by default", " yuan, seeded into display rule-set version 1", true,
			func(c *Config) settingValue { return (*yuanValue)(&c.Display.MinAmount) }},
		{"display-first-rating", "FENFU_DISPLAY_FIRST_RATING", "display rule: the lowest rating (A-D) whose consumers see credit pay listed first", ", seeded into display rule-set version 1", true,
			func(c *Config) settingValue { return (*stringValue)(&c.Display.FirstRating) }},
		{"display-first-of-day", "FENFU_DISPLAY_FIRST_OF_DAY", "display rule: show credit pay on a consumer's first transaction of the Asia/Shanghai day, whatever the amount", ", seeded into display rule-set version 1", true,
			func(c *Config) settingValue { return (*boolValue)(&c.Display.FirstOfDay) }},
		{"display-poll-every", "FENFU_DISPLAY_POLL_EVERY", "how often serve looks for a new display rule-set version made on another node", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.DisplayPollEvery) }},
		{"keys-poll-every", "FENFU_KEYS_POLL_EVERY", "how often serve looks for a platform key rotation step made on another node", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.KeysPollEvery) }},
		{"installment-fee-3", "FENFU_INSTALLMENT_FEE_3", "fee of a credit payment repaid in 3 installments, of the principal", ": borne by the payer, or by the merchant that offers it interest-free", true,
			func(c *Config) settingValue { return (*percentValue)(&c.Plans.Fee3) }},
		{"installment-fee-6", "FENFU_INSTALLMENT_FEE_6", "fee of a credit payment repaid in 6 installments, of the principal", "", true,
			func(c *Config) settingValue { return (*percentValue)(&c.Plans.Fee6) }},
		{"installment-fee-12", "FENFU_INSTALLMENT_FEE_12", "fee of a credit payment repaid in 12 installments, of the principal", "", true,
			func(c *Config) settingValue { return (*percentValue)(&c.Plans.Fee12) }},
		{"statement-day", "FENFU_STATEMENT_DAY", "day of the month (1-28, Asia/Shanghai) a consumer's monthly statement is made", "", true,
			func(c *Config) settingValue { return (*intValue)(&c.Plans.StatementDay) }},
		{"due-day", "FENFU_DUE_DAY", "day of the month (1-28, Asia/Shanghai) a statement is due", ": pay in full is due on the next statement's due day, installments monthly on it", true,
			func(c *Config) settingValue { return (*intValue)(&c.Plans.DueDay) }},
		{"early-payoff", "FENFU_EARLY_PAYOFF", "what repaying installments before their statement does with their fee: waived or charged", "", true,
			func(c *Config) settingValue { return (*stringValue)(&c.Plans.EarlyPayoff) }},
		{"late-fee", "FENFU_LATE_FEE", "late fee per day on the principal of an installment unpaid after its due day", ": charged by the overdue job, daily from the day after the due day", true,
			func(c *Config) settingValue { return (*percentValue)(&c.Plans.LateFee) }},
		{"audit-anchor-every", "FENFU_AUDIT_ANCHOR_EVERY", "how often to log each store's audit log head (seq and hash), when it moved, as an anchor for audit verify --anchors", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.AuditAnchorEvery) }},
		{"overdue-every", "FENFU_OVERDUE_EVERY", "how often serve runs the overdue job for today (it charges each installment-day once)", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.Plans.OverdueEvery) }},
		{"retain-trades", "FENFU_RETAIN_TRADES", "how long trade details (orders, refunds, notification logs, sandbox calls, bills) are kept after the trade's last change: years (5y) or days (1826d)",
			": then anonymised, the postings kept (see Retention)", true,
			func(c *Config) settingValue { return (*periodValue)(&c.Retention.Trades) }},
		{"retain-disputes", "FENFU_RETAIN_DISPUTES", "how long a disputed trade's details are kept after its complaint or ticket (a settlement exception among them) closed", "", true,
			func(c *Config) settingValue { return (*periodValue)(&c.Retention.Disputes) }},
		{"retain-authorizations", "FENFU_RETAIN_AUTHORIZATIONS", "how long a consumer's authorization (sealed phone, blind index, PIN) is kept after its credit contract ended", "", true,
			func(c *Config) settingValue { return (*periodValue)(&c.Retention.Authorizations) }},
		{"retain-risk", "FENFU_RETAIN_RISK", "how long risk decisions, queue items and their actions are kept after the last act on them", "", true,
			func(c *Config) settingValue { return (*periodValue)(&c.Retention.Risk) }},
		{"paycode-ttl", "FENFU_PAYCODE_TTL", "how long a consumer's payment code (付款码) pays after it is issued (1m to 10m; the page shows a new one every minute)",
			": a code shown just before the page's refresh still pays at a slow till", true,
			func(c *Config) settingValue { return (*durationValue)(&c.PaycodeTTL) }},
		{"service-order-grace", "FENFU_SERVICE_ORDER_GRACE", "how long after a service order's end_time its frozen credit is kept for the merchant to complete it; then it is released and the order EXPIRED", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.ServiceGrace) }},
		{"service-order-expire-every", "FENFU_SERVICE_ORDER_EXPIRE_EVERY", "how often serve releases the frozen credit of service orders past their end_time and grace", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.ServiceExpireEvery) }},
		{"aggregate-per-minute", "FENFU_AGGREGATE_PER_MINUTE", "orders a consumer may start from merchants' aggregate codes (聚合码) in a minute, per node (0: no limit)",
			" orders per consumer and node, in bursts of as many; `0`: no limit", true,
			func(c *Config) settingValue { return (*intValue)(&c.AggregatePerMinute) }},
		{"retention-every", "FENFU_RETENTION_EVERY", "how often serve looks for today's retention run not done yet (one node runs each day)", "", true,
			func(c *Config) settingValue { return (*durationValue)(&c.RetentionEvery) }},
	}
}

// Defaults of serve's intervals.
const (
	RecoverEvery       = 10 * time.Second
	RescreenEvery      = 24 * time.Hour
	OverdueAlertEvery  = time.Hour
	ComplaintEvery     = time.Minute
	TicketEvery        = 30 * time.Second
	OverdueEvery       = 15 * time.Minute
	RiskPollEvery      = 2 * time.Second
	DisplayPollEvery   = 2 * time.Second
	AuditAnchorEvery   = time.Minute
	RetentionEvery     = 24 * time.Hour
	KeysPollEvery      = 5 * time.Second
	ServiceExpireEvery = time.Minute
)

// DefaultAggregatePerMinute is how many orders a consumer may start from
// aggregate codes in a minute: more than a person paying at tills does.
const DefaultAggregatePerMinute = 10

// DefaultConfig returns the defaults, overridden by the FENFU_* variables
// of the stores. serve reads its own variables with serveEnv, whose values
// can be wrong.
func DefaultConfig(getenv func(string) string) Config {
	c := Config{DataDir: "./fenfu-data", Synchronous: "NORMAL", LogFormat: "text", Addr: ":8080", LogLevel: slog.LevelInfo,
		SettleAt: 3 * time.Hour, OrdinaryFee: fee.Ordinary[0].Combined(), CreditFee: fee.CreditPay, MerchantRate: 5000, FailureRate: 10, DoctorPerMinute: doctor.DefaultPerMinute, CJKFont: DefaultCJKFont, QR: DefaultQR(),
		RecoverEvery: RecoverEvery, RecoverAfter: pay.DefaultRecoverAfter, NotifyLease: notify.DefaultLease, RescreenEvery: RescreenEvery, OverdueAlertEvery: OverdueAlertEvery,
		HoldFor: settle.DefaultHold, ExceptionSLA: settle.ExceptionSLA, TicketEvery: TicketEvery, Login: consumer.DefaultLoginLimits(), Staff: access.DefaultSettings(), Portal: login.DefaultLimits(),
		Counter:      pay.Counter{NoPINLimit: pay.DefaultNoPINLimit, ConfirmWithin: pay.DefaultConfirmWithin, ReverseWindow: pay.DefaultReverseWindow},
		ComplaintSLA: complaint.DefaultSLA, ComplaintHold: complaint.DefaultHold, ComplaintEvery: ComplaintEvery,
		Risk: risk.DefaultDefaults(), RiskPollEvery: RiskPollEvery, Display: display.Defaults(), DisplayPollEvery: DisplayPollEvery, KeysPollEvery: KeysPollEvery, Plans: defaultPlans(),
		AuditAnchorEvery: AuditAnchorEvery, Retention: retention.DefaultPeriods(), RetentionEvery: RetentionEvery, PaycodeTTL: paycode.DefaultTTL,
		ServiceGrace: pay.DefaultServiceGrace, ServiceExpireEvery: ServiceExpireEvery, AggregatePerMinute: DefaultAggregatePerMinute,
		MetricsFrom:  server.DefaultMetricsFrom(),
		MasterKeyHex: getenv("FENFU_MASTER_KEY"), PreviousMasterKeyHex: getenv("FENFU_PREVIOUS_MASTER_KEY")}
	for _, s := range settings() {
		if v := getenv(s.env); v != "" && !s.serve {
			_ = s.value(&c).Set(v) // a string: it cannot fail
		}
	}
	return c
}

// defaultPlans are the installment settings of pay.DefaultPlans.
func defaultPlans() PlanSettings {
	d := pay.DefaultPlans()
	return PlanSettings{Fee3: d.Rates[3], Fee6: d.Rates[6], Fee12: d.Rates[12], StatementDay: d.Calendar.StatementDay,
		DueDay: d.Calendar.DueDay, EarlyPayoff: string(d.Payoff), LateFee: credit.DefaultLateFee, OverdueEvery: OverdueEvery}
}

// serveEnv applies serve's FENFU_* variables.
func (c *Config) serveEnv(getenv func(string) string) error {
	for _, s := range settings() {
		if v := getenv(s.env); v != "" && s.serve {
			if err := s.value(c).Set(v); err != nil {
				return fmt.Errorf("%s: %v", s.env, err)
			}
		}
	}
	return nil
}

// maxPublicURL is the longest --public-url: a receipt's QR carries
// PUBLIC_URL/r/{transaction_id}?v=CODE (42 bytes more), and the printer's
// QR store takes 213 bytes (receipt.maxQR).
const maxPublicURL = 160

// maxNodeName is the longest --node-name: a host name's 253 bytes are
// already more than a name needs.
const maxNodeName = 255

// node is the node's name (--node-name), by default the host name and
// the listen address: "host:8080" for ":8080", "host/10.0.0.5:8080" for
// an address with a host.
func (c *Config) node() string {
	if c.NodeName != "" {
		return c.NodeName
	}
	host, _ := os.Hostname()
	if h, _, err := net.SplitHostPort(c.Addr); err == nil && h == "" {
		return host + c.Addr
	}
	return host + "/" + c.Addr
}

// Validate fills derived defaults and checks every setting.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("--data-dir must not be empty")
	}
	if c.CoreDB == "" {
		c.CoreDB = filepath.Join(c.DataDir, "core.db")
	}
	if c.CreditDB == "" {
		c.CreditDB = filepath.Join(c.DataDir, "credit.db")
	}
	if c.CoreDB == c.CreditDB {
		return fmt.Errorf("--core-db and --credit-db must be different databases: the credit store is isolated from the core store")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	for _, v := range []struct{ name, hex string }{{"FENFU_MASTER_KEY", c.MasterKeyHex}, {"FENFU_PREVIOUS_MASTER_KEY", c.PreviousMasterKeyHex}} {
		if b, err := hex.DecodeString(strings.TrimSpace(v.hex)); v.hex != "" && (err != nil || len(b) != 16) {
			return fmt.Errorf("%s must be 32 hex digits (an SM4 key of 16 bytes)", v.name)
		}
	}
	if c.PreviousMasterKeyFile != "" && c.PreviousMasterKeyFile == c.MasterKeyFile {
		return fmt.Errorf("--previous-master-key-file must not be the --master-key-file")
	}
	if c.DBPool < 0 || c.DBPool > 1000 {
		return fmt.Errorf("--db-pool must be from 0 (the engine's default) to 1000, not %d", c.DBPool)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	s := strings.ToUpper(c.Synchronous)
	if s != "NORMAL" && s != "FULL" {
		return fmt.Errorf("--sqlite-synchronous must be NORMAL or FULL")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr must be HOST:PORT or :PORT, not %q", c.Addr)
	}
	if len(c.NodeName) > maxNodeName || !utf8.ValidString(c.NodeName) || strings.IndexFunc(c.NodeName, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Errorf("--node-name must be at most %d bytes of printable characters without spaces, not %q", maxNodeName, c.NodeName)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("--public-url must be an http:// or https:// URL without query, not %q", c.PublicURL)
		}
		if len(c.PublicURL) > maxPublicURL {
			return fmt.Errorf("--public-url must be at most %d bytes, not %d: a receipt's QR carries it with the transaction and its code, "+
				"and a thermal printer's QR holds 213 bytes", maxPublicURL, len(c.PublicURL))
		}
	}
	if c.OnDutyURL != "" {
		u, err := url.Parse(c.OnDutyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--on-duty-url must be an http:// or https:// URL")
		}
	}
	if c.ExceptionSLA < ticket.MinSLA || c.ExceptionSLA > ticket.MaxSLA {
		return fmt.Errorf("--exception-sla must be from %s to %s", ticket.MinSLA, ticket.MaxSLA)
	}
	if c.SettleAt < 0 || c.SettleAt >= 24*time.Hour {
		return fmt.Errorf("--settle-at must be a time of day, 00:00 to 23:59")
	}
	if c.OrdinaryFee < 0 || c.OrdinaryFee > 1_000_000 {
		return fmt.Errorf("--ordinary-fee must be a percentage from 0 to 100")
	}
	if c.MerchantRate < 0 {
		return fmt.Errorf("--merchant-rate must be 0 (unlimited) or more")
	}
	if c.FailureRate < 0 {
		return fmt.Errorf("--failure-rate must be 0 (unlimited) or more")
	}
	if c.DoctorPerMinute < 1 {
		return fmt.Errorf("--doctor-per-minute must be at least 1")
	}
	for _, s := range settings() {
		if d, ok := s.value(c).(*durationValue); ok && time.Duration(*d) < time.Second {
			return fmt.Errorf("--%s must be at least 1s", s.flag)
		}
	}
	if c.NotifyLease <= notify.DeliveryTimeout {
		return fmt.Errorf("--notify-lease must be more than the %s delivery timeout", notify.DeliveryTimeout)
	}
	if c.CashierPINFreeBelow < 0 {
		return fmt.Errorf("--cashier-pin-free-below must be 0 (always ask for the PIN) or more yuan")
	}
	if c.Counter.NoPINLimit <= 0 {
		return fmt.Errorf("--code-pin-above must be more than 0 yuan")
	}
	if c.Risk.RunLength < 1 {
		return fmt.Errorf("--risk-run-length must be at least 1")
	}
	if c.Risk.DailyLimit <= 0 || c.Risk.NightLimit <= 0 {
		return fmt.Errorf("--risk-daily-credit and --risk-night-credit must be more than 0 yuan")
	}
	if err := c.Display.Check(); err != nil {
		return fmt.Errorf("--display-min-amount and --display-first-rating: %v", err)
	}
	if c.DisplayPollEvery <= 0 {
		return fmt.Errorf("--display-poll-every must be more than 0")
	}
	if c.Risk.NightFrom == c.Risk.NightTo {
		return fmt.Errorf("--risk-night-from and --risk-night-to must differ")
	}
	for _, r := range []fee.PPM{c.Plans.Fee3, c.Plans.Fee6, c.Plans.Fee12} {
		if r < 0 || r > 1_000_000 {
			return fmt.Errorf("--installment-fee-3, -6 and -12 must be percentages from 0 to 100")
		}
	}
	if err := c.Plans.pay().Calendar.Validate(); err != nil {
		return fmt.Errorf("--statement-day and --due-day: %v", err)
	}
	if c.Plans.LateFee < 0 || c.Plans.LateFee > 100_000 {
		return fmt.Errorf("--late-fee must be a percentage from 0 to 10 per day")
	}
	if c.Plans.OverdueEvery <= 0 {
		return fmt.Errorf("--overdue-every must be more than 0")
	}
	if c.ServiceExpireEvery <= 0 || c.ServiceGrace < 0 {
		return fmt.Errorf("--service-order-expire-every must be more than 0 and --service-order-grace at least 0")
	}
	if p := credit.EarlyPayoff(c.Plans.EarlyPayoff); p != credit.PayoffWaived && p != credit.PayoffCharged {
		return fmt.Errorf("--early-payoff must be waived or charged, not %q", c.Plans.EarlyPayoff)
	}
	if c.Staff.SessionTTL < time.Minute || c.Staff.LockoutFailures < 1 || c.Staff.LockoutWindow < time.Second {
		return fmt.Errorf("--staff-session-ttl must be at least 1m, --staff-lockout-failures at least 1 and --staff-lockout-window at least 1s")
	}
	if c.Portal.SessionTTL < time.Minute || c.Portal.LockoutFailures < 1 || c.Portal.LockoutWindow < time.Second {
		return fmt.Errorf("--portal-session-ttl must be at least 1m, --portal-lockout-failures at least 1 and --portal-lockout-window at least 1s")
	}
	if c.PaycodeTTL < paycode.Refresh || c.PaycodeTTL > 10*time.Minute {
		return fmt.Errorf("--paycode-ttl must be from %s (the page's refresh) to 10m: a code is a bearer instrument", paycode.Refresh)
	}
	if c.QR.ScreenPx < 50 || c.QR.ScreenPx > 4000 {
		return fmt.Errorf("--qr-screen-px must be from 50 to 4000")
	}
	if c.QR.PrintDPI < 72 || c.QR.PrintDPI > 2400 {
		return fmt.Errorf("--qr-print-dpi must be from 72 to 2400")
	}
	if c.QR.PrintMM < 10 || c.QR.PrintMM > 500 {
		return fmt.Errorf("--qr-print-mm must be from 10 to 500")
	}
	if c.QR.VerifyFailures < 1 {
		return fmt.Errorf("--qr-verify-failures must be at least 1")
	}
	if c.Login.PhoneFailures < 1 || c.Login.SourceFailures < 1 {
		return fmt.Errorf("--login-phone-failures and --login-source-failures must be at least 1")
	}
	if c.AggregatePerMinute < 0 {
		return fmt.Errorf("--aggregate-per-minute must be at least 0 (0: no limit), not %d", c.AggregatePerMinute)
	}
	return nil
}

// logger returns a logger of the configured format writing records of
// level and above to w.
func (c *Config) logger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// flags returns the command's flag set with the store flags bound to c.
func (c *Config) flags(e *env) *flag.FlagSet {
	fs := e.flagSet()
	c.bind(fs, false)
	return fs
}

// bindSome adds the flags of the named settings to fs: the few of
// serve's settings another command also reads.
func (c *Config) bindSome(fs *flag.FlagSet, names ...string) {
	for _, s := range settings() {
		if slices.Contains(names, s.flag) {
			fs.Var(s.value(c), s.flag, s.usage+" (or $"+s.env+")")
		}
	}
}

// DefaultCJKFont is where Debian's fonts-droid-fallback puts its
// TrueType font with Chinese glyphs.
const DefaultCJKFont = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

// bind adds the flags of the store settings, or of serve's, to fs.
func (c *Config) bind(fs *flag.FlagSet, serve bool) {
	for _, s := range settings() {
		if s.serve == serve {
			fs.Var(s.value(c), s.flag, s.usage+" (or $"+s.env+")")
		}
	}
}

// storeArgs are the flags that open c's stores in another fenfu process.
func (c *Config) storeArgs() []string {
	var args []string
	for _, s := range settings() {
		if !s.serve {
			args = append(args, "--"+s.flag+"="+s.value(c).String()) // one argument: a switch takes no separate value
		}
	}
	return args
}

// parse parses args into fs and validates c. The command takes the
// positional arguments named, and no others.
func (c *Config) parse(e *env, fs *flag.FlagSet, args []string, positional ...string) error {
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs, positional...); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return e.usagef("%v", err)
	}
	return nil
}

// temporaryStore points c at a temporary store, for commands that make
// their own data (demo, bench): each of --data-dir, --core-db and
// --credit-db given on the command line names the store to use instead,
// and the environment is not consulted, so a FENFU_DATA_DIR set for serve
// is never filled with generated data. remove deletes the temporary
// directory.
func (c *Config) temporaryStore(fs *flag.FlagSet, prefix string) (remove func(), err error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["core-db"] {
		c.CoreDB = ""
	}
	if !set["credit-db"] {
		c.CreditDB = ""
	}
	if set["data-dir"] {
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	c.DataDir = dir
	return func() { os.RemoveAll(dir) }, nil
}

// The flag values of settings.
type (
	stringValue    string
	boolValue      bool
	floatValue     float64
	intValue       int
	durationValue  time.Duration
	levelValue     slog.Level
	timeOfDayValue time.Duration
	percentValue   fee.PPM
	scheduleValue  fee.Schedule
	networksValue  server.Networks
	yuanValue      fenfu.Fen
	periodValue    retention.Period
)

func (v *periodValue) Set(s string) error {
	p, err := retention.ParsePeriod(s)
	if err != nil {
		return err
	}
	*v = periodValue(p)
	return nil
}
func (v *periodValue) String() string { return retention.Period(*v).String() }
func (v *periodValue) Type() string   { return "period" }

func (v *yuanValue) Set(s string) error {
	f, err := fenfu.ParseYuan(s)
	if err != nil {
		return fmt.Errorf("%q is not an amount in yuan such as 5000 or 5000.00", s)
	}
	*v = yuanValue(f)
	return nil
}
func (v *yuanValue) String() string { return fenfu.Yuan(fenfu.Fen(*v)) }
func (v *yuanValue) Type() string   { return "yuan" }

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Type() string       { return "string" }

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not 1 or 0 (true or false)", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Type() string     { return "" }
func (v *boolValue) IsBoolFlag() bool { return true }

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Type() string   { return "int" }

func (v *floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*v = floatValue(f)
	return nil
}
func (v *floatValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *floatValue) Type() string   { return "float" }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 10s, 5m or 24h", s)
	}
	*v = durationValue(d)
	return nil
}

// String is the duration as time.Duration writes it, less the zero
// minutes and seconds of a whole hour or minute: 24h, 15m, 1h30m, 10s.
func (v *durationValue) String() string {
	s := time.Duration(*v).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
func (v *durationValue) Type() string { return "duration" }

func (v *levelValue) Set(s string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("%q is not debug, info, warn or error", s)
	}
	*v = levelValue(l)
	return nil
}
func (v *levelValue) String() string { return strings.ToLower(slog.Level(*v).String()) }
func (v *levelValue) Type() string   { return "level" }

func (v *timeOfDayValue) Set(s string) error {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return fmt.Errorf("%q is not a time of day, HH:MM", s)
	}
	*v = timeOfDayValue(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
	return nil
}
func (v *timeOfDayValue) String() string {
	d := time.Duration(*v)
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
func (v *timeOfDayValue) Type() string { return "HH:MM" }

func (v *percentValue) Set(s string) error {
	r, err := fee.ParsePercent(s)
	if err != nil {
		return err
	}
	*v = percentValue(r)
	return nil
}
func (v *percentValue) String() string { return fee.PPM(*v).Percent() }
func (v *percentValue) Type() string   { return "percent" }

func (v *scheduleValue) Set(s string) error {
	sch, err := fee.ParseSchedule(s)
	if err != nil {
		return err
	}
	*v = scheduleValue(sch)
	return nil
}
func (v *scheduleValue) String() string { return fee.Schedule(*v).String() }
func (v *scheduleValue) Type() string   { return "schedule" }

func (v *networksValue) Set(s string) error {
	ns, err := server.ParseNetworks(s)
	if err != nil {
		return fmt.Errorf("%v: give addresses or prefixes such as 10.0.0.0/8 or 192.0.2.7, separated by commas", err)
	}
	*v = networksValue(ns)
	return nil
}
func (v *networksValue) String() string { return server.Networks(*v).String() }
func (v *networksValue) Type() string   { return "list" }

// writeConfigMarkdown prints the settings as the README's configuration
// table: each default is the setting's value in DefaultConfig.
func writeConfigMarkdown(w io.Writer) {
	def := DefaultConfig(func(string) string { return "" })
	fmt.Fprintln(w, "| flag | environment | default |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, s := range settings() {
		scope := ""
		if s.serve {
			scope = " (serve)"
		}
		cell := s.note
		if v := s.value(&def).String(); v != "" {
			cell = "`" + v + "`" + s.note
		}
		fmt.Fprintf(w, "| `--%s`%s | `%s` | %s |\n", s.flag, scope, s.env, cell)
	}
}

// masters returns the sources of the master key and of the previous one
// (not Set when there is none).
func (c *Config) masters() (current, previous keyring.MasterSource) {
	current = keyring.MasterSource{Hex: c.MasterKeyHex, Command: c.MasterKeyCommand, File: c.MasterKeyFile,
		Create: c.MasterKeyFile == filepath.Join(c.DataDir, "master.key")}
	previous = keyring.MasterSource{Hex: c.PreviousMasterKeyHex, File: c.PreviousMasterKeyFile}
	return current, previous
}
