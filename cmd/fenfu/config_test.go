package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/fee"
	"github.com/fenfu/fenfu/ticket"
)

// TestConfigLayers: a setting is its default, then its FENFU_* variable,
// then its flag.
func TestConfigLayers(t *testing.T) {
	vars := map[string]string{"FENFU_SETTLE_AT": "04:30", "FENFU_ORDINARY_FEE": "0.5%", "FENFU_NOTIFY_PRIVATE": "1",
		"FENFU_RECOVER_EVERY": "30s", "FENFU_DATA_DIR": "/srv/fenfu"}
	e := &env{cmd: command{name: "serve"}, getenv: func(k string) string { return vars[k] }}
	cfg := e.config()
	if err := cfg.serveEnv(e.getenv); err != nil {
		t.Fatal(err)
	}
	fs := cfg.flags(e)
	cfg.bind(fs, true)
	if err := cfg.parse(e, fs, []string{"--settle-at", "05:00", "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	if cfg.SettleAt != 5*time.Hour || cfg.OrdinaryFee != fee.PPM(5000) || !cfg.NotifyPrivate || cfg.RecoverEvery != 30*time.Second ||
		cfg.DataDir != "/srv/fenfu" || cfg.LogLevel.String() != "WARN" || cfg.Addr != ":8080" || cfg.RescreenEvery != RescreenEvery {
		t.Errorf("config %+v", cfg)
	}
}

// TestCJKFontFormerName: --receipt-font and FENFU_RECEIPT_FONT still set
// the font, and --cjk-font comes after them.
func TestCJKFontFormerName(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		args []string
		want string
	}{
		{map[string]string{"FENFU_RECEIPT_FONT": "/old.ttf"}, nil, "/old.ttf"},
		{nil, []string{"--receipt-font", "/old.ttf"}, "/old.ttf"},
		{map[string]string{"FENFU_RECEIPT_FONT": "/old.ttf", "FENFU_CJK_FONT": "/new.ttf"}, nil, "/new.ttf"},
		{map[string]string{"FENFU_RECEIPT_FONT": "/old.ttf"}, []string{"--cjk-font", "/new.ttf"}, "/new.ttf"},
		{nil, nil, DefaultCJKFont},
	} {
		e := &env{cmd: command{name: "serve"}, getenv: func(k string) string { return tc.vars[k] }}
		cfg := e.config()
		if err := cfg.serveEnv(e.getenv); err != nil {
			t.Fatal(err)
		}
		fs := cfg.flags(e)
		cfg.bind(fs, true)
		if err := cfg.parse(e, fs, tc.args); err != nil {
			t.Fatal(err)
		}
		if cfg.CJKFont != tc.want {
			t.Errorf("%v %v: the font is %q, want %q", tc.vars, tc.args, cfg.CJKFont, tc.want)
		}
	}
}

// TestConfigValidate: every bad setting is refused with a message naming it.
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.Addr = "8080" }, "--addr"},
		{func(c *Config) { c.PublicURL = "ftp://x" }, "--public-url"},
		{func(c *Config) { c.PublicURL = "https://pay.example.com/" + strings.Repeat("p", 140) }, "--public-url"},
		{func(c *Config) { c.SettleAt = 25 * time.Hour }, "--settle-at"},
		{func(c *Config) { c.OrdinaryFee = -1 }, "--ordinary-fee"},
		{func(c *Config) { c.MerchantRate = -1 }, "--merchant-rate"},
		{func(c *Config) { c.FailureRate = -1 }, "--failure-rate"},
		{func(c *Config) { c.RecoverEvery = 0 }, "--recover-every"},
		{func(c *Config) { c.RecoverAfter = 0 }, "--recover-after"},
		{func(c *Config) { c.NotifyLease = 5 * time.Second }, "--notify-lease"},
		{func(c *Config) { c.RescreenEvery = time.Millisecond }, "--rescreen-every"},
		{func(c *Config) { c.OverdueAlertEvery = 0 }, "--overdue-alert-every"},
		{func(c *Config) { c.Synchronous = "OFF" }, "--sqlite-synchronous"},
		{func(c *Config) { c.DataDir = "" }, "--data-dir"},
		{func(c *Config) { c.PaycodeTTL = 30 * time.Second }, "--paycode-ttl"},
		{func(c *Config) { c.PaycodeTTL = time.Hour }, "--paycode-ttl"},
		{func(c *Config) { c.QR.ScreenPx = 20 }, "--qr-screen-px"},
		{func(c *Config) { c.QR.PrintDPI = 9600 }, "--qr-print-dpi"},
		{func(c *Config) { c.QR.PrintMM = 0 }, "--qr-print-mm"},
		{func(c *Config) { c.QR.VerifyFailures = 0 }, "--qr-verify-failures"},
	} {
		c := DefaultConfig(func(string) string { return "" })
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
	// Every duration is at least a second, a new one too.
	for _, s := range settings() {
		c := DefaultConfig(func(string) string { return "" })
		if d, ok := s.value(&c).(*durationValue); ok {
			*d = durationValue(time.Millisecond)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--"+s.flag+" ") {
				t.Errorf("--%s of 1ms: %v", s.flag, err)
			}
		}
	}
	for _, tc := range []struct{ env, value string }{{"FENFU_SETTLE_AT", "3pm"}, {"FENFU_ORDINARY_FEE", "lots"},
		{"FENFU_NOTIFY_PRIVATE", "yes please"}, {"FENFU_MERCHANT_RATE", "fast"}, {"FENFU_LOG_LEVEL", "loud"}} {
		c := DefaultConfig(func(string) string { return "" })
		err := c.serveEnv(func(k string) string { return map[string]string{tc.env: tc.value}[k] })
		if err == nil || !strings.HasPrefix(err.Error(), tc.env+": ") {
			t.Errorf("%s=%s: %v", tc.env, tc.value, err)
		}
	}
}

// TestServeRefusesBadSettingsBeforeOpening: a wrong setting exits 2
// before any store is opened.
func TestServeRefusesBadSettingsBeforeOpening(t *testing.T) {
	dir := t.TempDir() + "/data"
	code, _, errs := fenfuCLI(t, func(k string) string {
		return map[string]string{"FENFU_DATA_DIR": dir, "FENFU_SETTLE_AT": "24:00"}[k]
	}, "serve", "--addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errs, "FENFU_SETTLE_AT") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("serve opened the store before refusing its settings")
	}
}

// TestSettingsReachTheServices: the hold length and the exception SLA are
// settings, and the settlement service is built with them (the exception
// SLA seeds the settlement-delay ticket lane its requests are filed in).
func TestSettingsReachTheServices(t *testing.T) {
	vars := map[string]string{"FENFU_HOLD_FOR": "72h", "FENFU_EXCEPTION_SLA": "4h", "FENFU_DATA_DIR": t.TempDir(),
		"FENFU_CREDIT_FEE": "100000:0.50+0.10/0.40;:0.45+0.05/0.30", "FENFU_LOGIN_SOURCE_FAILURES": "200", "FENFU_LOGIN_LOCKOUT": "1h",
		"FENFU_COMPLAINT_SLA": "12h", "FENFU_COMPLAINT_HOLD": "720h", "FENFU_PAYCODE_TTL": "90s"}
	e := &env{cmd: command{name: "serve"}, getenv: func(k string) string { return vars[k] }}
	cfg := e.config()
	if err := cfg.serveEnv(e.getenv); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := openAt(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), fenfu.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	lane, err := a.tickets.Lane(context.Background(), ticket.SettlementDelay)
	if err != nil {
		t.Fatal(err)
	}
	if a.settle.HoldLength() != 72*time.Hour || time.Duration(lane.SLA) != 4*time.Hour || a.settle.Tickets != a.tickets {
		t.Errorf("hold %s, exception SLA (the settlement-delay lane's) %s; want 72h and 4h", a.settle.HoldLength(), time.Duration(lane.SLA))
	}
	if a.complaints.SLA != 12*time.Hour || a.complaints.HoldFor != 30*24*time.Hour {
		t.Errorf("complaint SLA %s, hold %s; want 12h and 720h", a.complaints.SLA, a.complaints.HoldFor)
	}
	if a.paycodes.TTL != 90*time.Second || a.cashier.Paycodes != a.paycodes {
		t.Errorf("payment codes last %s, want 90s, and the cashier shows them: %v", a.paycodes.TTL, a.cashier.Paycodes != nil)
	}
	if l := a.consumers.Limits; l.SourceFailures != 200 || l.PhoneLockout != time.Hour || l.PhoneFailures != 5 {
		t.Errorf("login limits %+v", l)
	}
	if got := a.pay.Fees.Credit; len(got) != 2 || got[0].UpTo != 100_000_00 || got.Price(10000, 0, 0).Fee != 60 {
		t.Errorf("credit fee schedule %s", got)
	}
	if q := a.pay.Fees.Ordinary.Price(10000, 0, 0); q.Rate != 3800 || q.Fee != 38 || q.Tier != "ordinary" {
		t.Errorf("ordinary fee at the default rate: %+v", q)
	}
	bad := map[string]string{"FENFU_CREDIT_FEE": "100000:0.50+0.10/0.70;:0.45+0.05/0.30"}
	badCfg := e.config()
	if err := badCfg.serveEnv(func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), "FENFU_CREDIT_FEE") {
		t.Errorf("a floor above the rate: %v", err)
	}
}
