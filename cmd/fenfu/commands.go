package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/scheme"
)

// openQuiet opens the app for a one-shot command, logging warnings only.
func openQuiet(ctx context.Context, cfg Config, stderr io.Writer) (*app, error) {
	return open(ctx, cfg, cfg.logger(stderr, slog.LevelWarn))
}

// open parses a command's flags into c and opens the stores: the start of
// every command that works on them.
func (c *Config) open(ctx context.Context, e *env, fs *flag.FlagSet, args []string) (*app, error) {
	if err := c.parse(e, fs, args); err != nil {
		return nil, err
	}
	return openQuiet(ctx, *c, e.stderr)
}

// printJSON prints v as indented JSON. A list prints as [] when empty,
// never null: pass it through list.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeResult prints a measurement: as text, or as JSON with --json; with
// -o FILE it also writes the JSON to FILE.
func writeResult(stdout io.Writer, file string, asJSON bool, v any, text func(io.Writer) error) error {
	var err error
	if asJSON {
		err = printJSON(stdout, v)
	} else {
		err = text(stdout)
	}
	if err != nil || file == "" {
		return err
	}
	if dir := filepath.Dir(file); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := printJSON(f, v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// list returns s, or an empty slice for nil, so JSON shows [] for an empty
// list.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	a, err := open(ctx, cfg, cfg.logger(e.stdout, slog.LevelInfo))
	if err != nil {
		return err
	}
	a.close()
	fmt.Fprintln(e.stdout, "fenfu: both stores are at the latest schema")
	return nil
}

// sandboxMerchant is the contract of `fenfu sandbox merchant`: exactly these keys.
type sandboxMerchant struct {
	MchID                  string `json:"mchid"`
	AppID                  string `json:"appid"`
	MerchantSerialNo       string `json:"merchant_serial_no"`
	MerchantPrivateKeyPath string `json:"merchant_private_key_path"`
	APIv3Key               string `json:"apiv3_key"`
	PlatformPublicKeyPath  string `json:"platform_public_key_path"`
	PlatformPublicKeyID    string `json:"platform_public_key_id"`
}

func cmdSandboxMerchant(ctx context.Context, e *env, args []string) error {
	return createMerchant(ctx, e, "sandbox", args)
}

// cmdMerchantCreate provisions a merchant in either environment; a
// production merchant pays on credit only once onboarded and activated.
func cmdMerchantCreate(ctx context.Context, e *env, args []string) error {
	return createMerchant(ctx, e, "", args)
}

func createMerchant(ctx context.Context, e *env, fixedEnv string, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	env := &fixedEnv
	if fixedEnv == "" {
		env = fs.String("env", "production", "sandbox or production")
	}
	name := fs.String("name", "Sandbox merchant", "the merchant's display name, shown on the cashier")
	keyType := fs.String("key-type", "rsa", "the merchant's signing key: rsa (WECHATPAY2-SHA256-RSA2048) or sm2 (WECHATPAY2-SM2-WITH-SM3)")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	sch, err := scheme.OfAlgorithm(*keyType)
	if err != nil {
		return e.usagef("--key-type must be rsa or sm2")
	}
	if *env != "sandbox" && *env != "production" {
		return e.usagef("--env must be sandbox or production")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	out, err := a.provision(ctx, *name, *env, sch)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}

// provisionSandbox creates a sandbox merchant and writes its private key
// to DATA_DIR/merchants/MCHID/apiclient_key.pem with mode 0600. The
// platform key it names is the one of the merchant's scheme.
func (a *app) provisionSandbox(ctx context.Context, name string, sch scheme.Name) (sandboxMerchant, error) {
	return a.provision(ctx, name, "sandbox", sch)
}

func (a *app) provision(ctx context.Context, name, env string, sch scheme.Name) (sandboxMerchant, error) {
	m, err := a.merchants.Create(ctx, name, env, sch)
	if err != nil {
		return sandboxMerchant{}, err
	}
	dir := filepath.Join(a.cfg.DataDir, "merchants", m.MchID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sandboxMerchant{}, err
	}
	keyPEM, err := scheme.PrivateKeyPEM(m.PrivateKey)
	if err != nil {
		return sandboxMerchant{}, err
	}
	keyPath := filepath.Join(dir, "apiclient_key.pem")
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return sandboxMerchant{}, err
	}
	abs := func(p string) string {
		if x, err := filepath.Abs(p); err == nil {
			return x
		}
		return p
	}
	pk := a.keys.Platform(sch)
	return sandboxMerchant{MchID: m.MchID, AppID: m.AppID, MerchantSerialNo: m.SerialNo, MerchantPrivateKeyPath: abs(keyPath),
		APIv3Key: m.APIv3Key, PlatformPublicKeyPath: abs(pk.PublicKeyPath), PlatformPublicKeyID: pk.ID}, nil
}

func cmdMerchantSetV2Key(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	mchid := fs.String("mchid", "", "the merchant")
	key := fs.String("key", "", "the new 32-character key (generated if empty)")
	actor := actorFlag(fs)
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "mchid"); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	k, err := a.merchants.SetAPIv2Key(ctx, *mchid, *key)
	if err != nil {
		return err
	}
	rec := recordCLI(ctx, e, a.core, cliActor(*actor), audit.ActionKeyChange, audit.Target{Kind: "merchant", ID: *mchid}, "",
		map[string]any{"key": "apiv2"})
	if err := printJSON(e.stdout, map[string]string{"mchid": *mchid, "apiv2_key": k}); err != nil {
		return err
	}
	return rec
}

// merchantKeyFlags are the flags each merchant key command takes, all
// required.
var merchantKeyFlags = map[string][]string{
	"add-key": {"mchid", "public-key"}, "retire-key": {"mchid", "serial"}, "keys": {"mchid"}, "rotate-v3-key": {"mchid"},
}

func cmdMerchantKeys(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	takes := merchantKeyFlags[sub]
	var mchid, keyFile, serial string
	stringFlag(fs, takes, &mchid, "mchid", "the merchant")
	stringFlag(fs, takes, &keyFile, "public-key", "the PEM file of the RSA-2048 or SM2 public key")
	stringFlag(fs, takes, &serial, "serial", "the serial_no of the key to retire")
	var actor *string
	if sub != "keys" {
		actor = actorFlag(fs)
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, takes...); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	// changed records a change of the merchant's keys (never a key
	// itself), then prints out.
	changed := func(detail map[string]any, out map[string]string) error {
		rec := recordCLI(ctx, e, a.core, cliActor(*actor), audit.ActionKeyChange, audit.Target{Kind: "merchant", ID: mchid}, "", detail)
		if err := printJSON(e.stdout, out); err != nil {
			return err
		}
		return rec
	}
	switch sub {
	case "add-key":
		pemBytes, err := os.ReadFile(keyFile)
		if err != nil {
			return err
		}
		s, err := a.merchants.AddKey(ctx, mchid, pemBytes)
		if err != nil {
			return err
		}
		return changed(map[string]any{"key": "public key", "added": s}, map[string]string{"mchid": mchid, "serial_no": s})
	case "retire-key":
		if err := a.merchants.RetireKey(ctx, mchid, serial); err != nil {
			return err
		}
		return changed(map[string]any{"key": "public key", "retired": serial}, map[string]string{"mchid": mchid, "retired": serial})
	case "rotate-v3-key":
		k, err := a.merchants.RotateAPIv3Key(ctx, mchid)
		if err != nil {
			return err
		}
		return changed(map[string]any{"key": "apiv3"}, map[string]string{"mchid": mchid, "apiv3_key": k})
	default:
		if _, err := a.merchants.Get(ctx, mchid); err != nil {
			return err
		}
		keys, err := a.merchants.Keys(ctx, mchid)
		if err != nil {
			return err
		}
		return printJSON(e.stdout, map[string]any{"mchid": mchid, "keys": list(keys)})
	}
}

// cmdPlatformKeys rotates the platform keys of a scheme in three steps:
// rotate-key publishes a next key, promote-key makes it current (the old
// one stays, for clients that ask for it), retire-key ends the overlap.
// Each step changes the store, and every running server picks it up
// within its --keys-poll-every.
func cmdPlatformKeys(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	alg := fs.String("scheme", "rsa", "rsa or sm2")
	var actor *string
	if e.sub() != "keys" {
		actor = actorFlag(fs)
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	sch, err := scheme.OfAlgorithm(*alg)
	if err != nil {
		return e.usagef("--scheme must be rsa or sm2")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	switch e.sub() {
	case "rotate-key":
		_, err = a.keys.Rotate(ctx, sch)
	case "promote-key":
		err = a.keys.Promote(ctx, sch)
	case "retire-key":
		err = a.keys.RetirePrevious(ctx, sch)
	}
	if err != nil {
		return err
	}
	out := []map[string]string{}
	ids := []string{}
	for _, pk := range a.keys.All(sch) {
		out = append(out, map[string]string{"slot": pk.Slot, "public_key_id": pk.ID, "certificate_serial_no": pk.Certificate.SerialNo,
			"public_key_path": pk.PublicKeyPath})
		ids = append(ids, pk.Slot+":"+pk.ID)
	}
	var rec error
	if actor != nil {
		rec = recordCLI(ctx, e, a.core, cliActor(*actor), audit.ActionKeyChange, audit.Target{Kind: "platform key", ID: string(sch)}, "",
			map[string]any{"keys": ids})
	}
	if err := printJSON(e.stdout, map[string]any{"scheme": string(sch), "version": a.keys.Version(), "keys": out}); err != nil {
		return err
	}
	return rec
}

// cmdKeys shows how many sealed values each master key wraps (status),
// or wraps every one again under the current master (reseal): the step
// of a master rotation after every node holds the new master and the old
// one as the previous.
func cmdKeys(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	var actor *string
	if e.sub() == "reseal" {
		actor = actorFlag(fs)
	}
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	sealer := a.keys.Sealer
	if e.sub() == "reseal" {
		done, err := keyring.Reseal(ctx, a.core, sealer, sealedColumns(), func(r keyring.Resealed) {
			fmt.Fprintf(e.stderr, "fenfu keys reseal: %s: %d rows, %d rewrapped\n", r.Column, r.Rows, r.Rewrapped)
		})
		if err != nil {
			return err
		}
		n := 0
		for _, r := range done {
			n += r.Rewrapped
		}
		rec := recordCLI(ctx, e, a.core, cliActor(*actor), audit.ActionKeyChange, audit.Target{Kind: "master key", ID: sealer.Current()}, "",
			map[string]any{"rewrapped": n})
		if err := printJSON(e.stdout, map[string]any{"master": sealer.Current(), "rewrapped": n, "columns": done}); err != nil {
			return err
		}
		return rec
	}
	counts, err := keyring.Status(ctx, a.core, sealer, sealedColumns())
	if err != nil {
		return err
	}
	total := map[string]int{}
	for _, c := range counts {
		for id, n := range c.Masters {
			total[id] += n
		}
	}
	return printJSON(e.stdout, map[string]any{"master": sealer.Current(), "masters": total, "columns": counts})
}

// cmdImport loads a CSV file (or - for standard input) into the history
// or the risk list, reporting counts and the first bad lines.
func cmdImport(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	source := fs.String("source", "", "a name for where the file came from (default: the file name)")
	if err := cfg.parse(e, fs, args, "FILE (a CSV file, or - for standard input)"); err != nil {
		return err
	}
	in := e.stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
		if *source == "" {
			*source = filepath.Base(name)
		}
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	load := func(ctx context.Context, r io.Reader, source string) (onboard.ImportResult, error) {
		return onboard.ImportHistory(ctx, a.core, r, source)
	}
	if e.cmd.name == "blacklist import" {
		load = a.onboard.ImportRiskList
	}
	res, err := load(ctx, in, *source)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, res)
}

// onboardFlags are the flags each onboard command takes, all required:
// who acts is recorded, and a decision or a closing carries its reason.
var onboardFlags = map[string][]string{
	"apply": {"mchid", "file"}, "show": {"id"}, "review": {"id", "decision", "reason", "staff"},
	"deposit": {"id", "ref", "staff"}, "activate": {"id", "staff"}, "close": {"id", "reason", "staff"},
}

// cmdOnboard runs an application's steps from the command line, as the
// merchant (apply) or a staff member (the rest).
func cmdOnboard(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	sub := e.sub()
	takes := onboardFlags[sub]
	var mchid, file, id, decision, reason, ref, staff string
	stringFlag(fs, takes, &mchid, "mchid", "the applying merchant")
	stringFlag(fs, takes, &file, "file", "the application as JSON (- for standard input)")
	stringFlag(fs, takes, &id, "id", "the application")
	stringFlag(fs, takes, &decision, "decision", "approve, reject or request_material")
	stringFlag(fs, takes, &reason, "reason", "the reason, recorded and shown to the merchant")
	stringFlag(fs, takes, &ref, "ref", "the deposit payment's reference")
	stringFlag(fs, takes, &staff, "staff", "the staff member acting")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, takes...); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	var rec onboard.Record
	switch sub {
	case "apply":
		in := e.stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		var app onboard.Application
		if err := json.NewDecoder(io.LimitReader(in, 1<<20)).Decode(&app); err != nil {
			return fenfu.Errorf(fenfu.ParamError, "the application is not valid JSON: %v", err)
		}
		if rec, err = a.onboard.Create(ctx, mchid, app); err == nil {
			rec, err = a.onboard.Submit(ctx, rec.ID, "merchant:"+mchid)
		}
	case "show":
		rec, err = a.onboard.Get(ctx, id)
	case "review":
		rec, err = a.onboard.Review(ctx, id, decision, "staff:"+staff, reason)
	case "deposit":
		rec, err = a.onboard.PayDeposit(ctx, id, ref, "staff:"+staff)
	case "activate":
		rec, err = a.onboard.Activate(ctx, id, "staff:"+staff)
	case "close":
		rec, err = a.onboard.Close(ctx, id, "staff:"+staff, reason)
	}
	if err != nil {
		return err
	}
	return printJSON(e.stdout, rec)
}

func cmdOnboardReport(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	now := time.Now().In(fenfu.Shanghai)
	fromS := fs.String("from", now.AddDate(0, -3, 0).Format(time.DateOnly), "first day of the period (Asia/Shanghai)")
	toS := fs.String("to", now.Format(time.DateOnly), "last day of the period, included")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	from, err1 := time.ParseInLocation(time.DateOnly, *fromS, fenfu.Shanghai)
	to, err2 := time.ParseInLocation(time.DateOnly, *toS, fenfu.Shanghai)
	if err1 != nil || err2 != nil || to.Before(from) {
		return e.usagef("--from and --to are dates like 2026-11-27, --to not before --from")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	stats, err := a.onboard.Report(ctx, from, to.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, map[string]any{"from": *fromS, "to": *toS, "industries": list(stats)})
	}
	onboard.WriteReport(e.stdout, stats, from, to)
	return nil
}

// testConsumers are the sandbox's scripted consumers: each makes one
// scenario of the sandbox report happen when it pays.
var testConsumers = []struct {
	Role    string
	Scripts string
	NC      consumer.NewConsumer
}{
	{"good", "pays on credit or balance successfully", consumer.NewConsumer{CreditLimit: 100_000_000, Rating: "A", Balance: 10_000_000}},
	{"short_line", "fails credit payments over ¥1.00 with NOT_ENOUGH (the order stays NOTPAY)", consumer.NewConsumer{CreditLimit: 100, Rating: "C", Balance: 100}},
	{"no_credit", "has no credit to use; pays from balance", consumer.NewConsumer{CreditLimit: 0, Rating: "D", Balance: 10_000_000}},
}

func cmdSandboxConsumers(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	a, err := cfg.open(ctx, e, fs, args)
	if err != nil {
		return err
	}
	defer a.close()
	out := []map[string]any{}
	for _, tc := range testConsumers {
		c, pin, err := a.consumers.Create(ctx, tc.NC)
		if err != nil {
			return err
		}
		j := consumerJSON(c, pin)
		j["role"], j["scripts"] = tc.Role, tc.Scripts
		out = append(out, j)
	}
	return printJSON(e.stdout, map[string]any{"consumers": out})
}

func cmdSandboxReport(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	mchid := fs.String("mchid", "", "the sandbox merchant")
	htmlOut := fs.String("html", "", "also write the report as a page to this file")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "mchid"); err != nil {
		return err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	rep, err := a.sandbox.Report(ctx, *mchid, a.clock.Now())
	if err != nil {
		return err
	}
	if *htmlOut != "" {
		f, err := os.Create(*htmlOut)
		if err != nil {
			return err
		}
		if err := rep.WriteHTML(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return printJSON(e.stdout, rep)
}

func cmdRescreen(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	a, err := cfg.open(ctx, e, fs, args)
	if err != nil {
		return err
	}
	defer a.close()
	r, err := a.onboard.Rescreen(ctx)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, r)
}

func cmdConsumerCreate(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	limit := fs.Int64("credit-limit", 0, "credit line in fen")
	rating := fs.String("rating", "B", "credit rating: A, B, C or D")
	balance := fs.Int64("balance", 0, "opening balance in fen")
	phone := fs.String("phone", "", "11-digit phone number to log in with (generated if empty)")
	pin := fs.String("pin", "", "6-digit PIN (generated if empty)")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if !credit.ValidRating(*rating) {
		return e.usagef("--rating must be one of A, B, C, D")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	c, p, err := a.consumers.Create(ctx, consumer.NewConsumer{Phone: *phone, PIN: *pin, CreditLimit: fenfu.Fen(*limit), Rating: *rating, Balance: fenfu.Fen(*balance)})
	if err != nil {
		return err
	}
	return printJSON(e.stdout, consumerJSON(c, p))
}

func consumerJSON(c consumer.Consumer, pin string) map[string]any {
	return map[string]any{"id": c.ID, "phone": c.Phone, "pin": pin, "rating": c.Credit.Rating,
		"credit_limit": c.Credit.Limit, "credit_used": c.Credit.Used, "credit_available": c.Credit.Available, "balance": c.Balance}
}

// tokenOf extracts the token from a code_url (…/q/TOKEN) or takes a bare token.
func tokenOf(codeURL string) (string, error) {
	if !strings.Contains(codeURL, "/") {
		return codeURL, nil
	}
	u, err := url.Parse(codeURL)
	if err != nil {
		return "", fenfu.Errorf(fenfu.ParamError, "CODE_URL is not a URL")
	}
	tok, ok := strings.CutPrefix(u.Path, "/q/")
	if !ok || tok == "" || strings.Contains(tok, "/") {
		return "", fenfu.Errorf(fenfu.ParamError, "CODE_URL must look like http(s)://HOST/q/TOKEN")
	}
	return tok, nil
}

// openForCode reads a code's token from its code_url (or the token
// itself) and opens the stores.
func openForCode(ctx context.Context, cfg Config, e *env, codeURL string) (*app, string, error) {
	tok, err := tokenOf(codeURL)
	if err != nil {
		return nil, "", err
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	return a, tok, err
}

func cmdSandboxPay(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	cons := fs.String("consumer", "", "the paying consumer's id")
	channel := fs.String("channel", "credit", "credit or balance")
	device := fs.String("device-id", "", "the payer's device id, which risk rules may read")
	if err := cfg.parse(e, fs, args, "CODE_URL"); err != nil {
		return err
	}
	if err := e.require(fs, "consumer"); err != nil {
		return err
	}
	if ch := pay.Channel(*channel); ch != pay.ChannelCredit && ch != pay.ChannelBalance {
		return e.usagef("--channel must be credit or balance")
	}
	a, tok, err := openForCode(ctx, cfg, e, fs.Arg(0))
	if err != nil {
		return err
	}
	defer a.close()
	o, err := a.cashier.SandboxPay(ctx, tok, *cons, pay.Channel(*channel), pay.Client{Device: *device})
	if err != nil {
		return err
	}
	return printJSON(e.stdout, map[string]any{"trade_state": o.TradeState(), "out_trade_no": o.OutTradeNo, "transaction_id": o.ID,
		"mchid": o.MchID, "total": o.Total, "channel": o.Channel, "consumer": o.ConsumerID})
}

// cmdSandboxPaycode issues a consumer a payment code, as the consumer's
// payment code page does, so a till's integration can be tested without
// a phone. --ttl shortens the code's life to test an expired one.
func cmdSandboxPaycode(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	cons := fs.String("consumer", "", "the consumer whose code it is")
	channel := fs.String("channel", "credit", "credit or balance")
	ttl := fs.Duration("ttl", 0, "how long the code pays (default --paycode-ttl)")
	if err := cfg.parse(e, fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "consumer"); err != nil {
		return err
	}
	if *ttl < 0 || *ttl > 10*time.Minute {
		return e.usagef("--ttl must be from 0 (the default) to 10m")
	}
	a, err := openQuiet(ctx, cfg, e.stderr)
	if err != nil {
		return err
	}
	defer a.close()
	if _, err := a.consumers.Get(ctx, *cons); err != nil {
		return err
	}
	codes := *a.paycodes
	codes.Gap = 0
	if *ttl > 0 {
		codes.TTL = *ttl
	}
	c, err := codes.Issue(ctx, *cons, *channel)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, c)
}

// proof is what fenfu verify proved, as --json prints it.
type proof struct {
	pay.Proof
	Settlements int `json:"settlements"`
	// Chains are the stores' ledger chains, each verified once what was
	// sealable was sealed.
	Chains []ledger.ChainReport `json:"ledger_chains"`
}

func (p proof) String() string {
	s := fmt.Sprintf("the books prove: %d orders, %d paid (%d on credit), %d refunds, %d in flight, %d settlements",
		p.Orders, p.Paid, p.CreditPaid, p.Refunds, p.InFlight, p.Settlements)
	for _, c := range p.Chains {
		s += fmt.Sprintf("; %s ledger chain %d positions", c.Store, c.Checked)
	}
	return s
}

// chainPositions are the positions of each store's ledger chain that
// the proof checked, by store.
func (p proof) chainPositions() map[string]int64 {
	if len(p.Chains) == 0 {
		return nil
	}
	m := map[string]int64{}
	for _, c := range p.Chains {
		m[c.Store] += c.Checked
	}
	return m
}

// prove proves the books of both stores: the payments', the
// settlements', and each store's ledger chain, once what is sealable is
// sealed. It returns the first problem.
func (a *app) prove(ctx context.Context) (proof, error) {
	var p proof
	var err error
	stores := []*db.DB{a.core, a.credit}
	for _, d := range stores {
		// What is sealable: on PostgreSQL, what committed below the
		// oldest transaction still running on the server (those after it
		// wait for the next proof); if serve's sealer is in a round, what
		// it has sealed.
		if _, err := ledger.Seal(ctx, d); err != nil {
			return p, err
		}
	}
	if p.Proof, err = a.pay.Verify(ctx); err != nil {
		return p, err
	}
	if err := a.repay.Verify(ctx); err != nil {
		return p, err
	}
	if p.Settlements, err = a.settle.Verify(ctx); err != nil {
		return p, err
	}
	for _, d := range stores {
		r, err := ledger.VerifyChain(ctx, d)
		if err != nil {
			return p, err
		}
		if err := r.Err(); err != nil {
			return p, err
		}
		p.Chains = append(p.Chains, r)
	}
	return p, nil
}

func cmdVerify(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	asJSON := fs.Bool("json", false, "print what was proved as JSON")
	a, err := cfg.open(ctx, e, fs, args)
	if err != nil {
		return err
	}
	defer a.close()
	p, err := a.prove(ctx)
	if err != nil {
		return fmt.Errorf("the books do not prove: %w", err)
	}
	if *asJSON {
		return printJSON(e.stdout, p)
	}
	fmt.Fprintf(e.stdout, "fenfu: %s\n", p)
	return nil
}

func cmdRecover(ctx context.Context, e *env, args []string) error {
	cfg := e.config()
	fs := cfg.flags(e)
	a, err := cfg.open(ctx, e, fs, args)
	if err != nil {
		return err
	}
	defer a.close()
	r, err := a.pay.Recover(ctx)
	if err != nil {
		return err
	}
	rr, err := a.repay.Recover(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "fenfu: recovered %d payments completed, %d released, %d refunds; %d repayments applied, %d cancelled\n",
		r.Completed, r.Released, r.Refunds, rr.Applied, rr.Cancelled)
	return nil
}
