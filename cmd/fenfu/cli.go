package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/fenfu/fenfu/version"
)

// command is one fenfu command. The table of them gives dispatch, the
// global usage, the group listings and the README's command table.
type command struct {
	name     string // its words, "settle list"
	synopsis string // its flags and arguments, as a user types them
	summary  string // one line: what it does
	group    string // the heading it is listed under
	run      func(ctx context.Context, e *env, args []string) error
}

// Headings of the global usage, in order.
const (
	groupRunning   = "Running"
	groupKeys      = "Merchants and keys"
	groupSettle    = "Settlement and bills"
	groupSandbox   = "Sandbox"
	groupOnboard   = "Onboarding"
	groupRisk      = "Risk control"
	groupCredit    = "Consumer credit"
	groupRetention = "Retention"
	groupSupport   = "Support"
	groupStaff     = "Staff and access"
	groupThisTool  = "About this tool"
)

var groups = []string{groupRunning, groupKeys, groupSettle, groupSandbox, groupOnboard, groupRisk, groupCredit, groupRetention, groupSupport, groupStaff, groupThisTool}

// commands is fenfu's command table.
func commands() []command {
	return []command{
		{"serve", "[--addr HOST:PORT] [--public-url URL]", "run the merchant API, the cashier, the staff API, /healthz and /metrics; graceful shutdown on SIGINT/SIGTERM", groupRunning, cmdServe},
		{"migrate", "", "apply the embedded migrations of both stores (also done at every start)", groupRunning, cmdMigrate},
		{"verify", "[--json]", "prove the books of both stores and their ledger chains, sealing first what is sealable; non-zero exit names the first problem", groupRunning, cmdVerify},
		{"audit verify", "[--store core|credit|both] [--anchors FILE] [--json]", "walk the stores' audit logs and recompute every SM3 link, and check them against the anchors serve logged; non-zero exit names the first broken entry", groupRunning, cmdAuditVerify},
		{"recover", "", "settle payments and refunds interrupted between the two stores (serve does this every 10 s)", groupRunning, cmdRecover},
		{"demo", "[--keep]", "start a server in a temporary directory and walk one credit payment", groupRunning, cmdDemo},
		{"bench", "[--key rsa|sm2] [--concurrency N | --rate R] [--count N] [--nodes N] [--json] [-o FILE.json]", "load-test the payment path, report throughput, latency, CPU and the crypto ceiling, then prove the books (see BENCHMARKS.md)", groupRunning, cmdBench},
		{"bench settle", "[--orders N] [--merchants M] [--json] [-o FILE.json]", "generate a day of paid orders in a temporary store and measure its settlement (time, CPU, peak memory, rerun)", groupRunning, cmdBenchSettle},
		{"bench ledger", "[--clients 16,64] [--variants hot,no-hot,tracked-hot] [--count N | --duration D] [--rounds N] [--core-db DSN [--pgbench D]] [--json] [-o FILE.json]", "post balanced transactions through the ledger in process from N goroutines, with a hot account, without one and with a hot tracked one; report tx/s, latency and CPU beside Formance's figures, then prove the books", groupRunning, cmdBenchLedger},
		{"bench verify", "[--orders N] [--merchants M] [--json] [-o FILE.json]", "generate a provable day of paid orders in a temporary store and measure fenfu verify over it (time, CPU, peak memory)", groupRunning, cmdBenchVerify},
		{"chaos", "[--cycles N] [--engine sqlite|postgres [--postgres DSN]] [--nodes 1|2] [--fault kill|pg-restart|credit-partition|disk-full|clock-step|settle-kill|mix,…] [--concurrency N] [--seed S] [--json] [-o FILE.json]", "drive payments and refunds, and in each cycle SIGKILL a serve node at a random moment (or restart PostgreSQL, cut the credit store off, fill the disk, step the servers' clock, kill a settlement batch), recover, and check that nothing acknowledged is lost, doubled or left unnotified and the books prove (see RELIABILITY.md)", groupRunning, cmdChaos},

		{"merchant create", "--env production|sandbox [--name NAME] [--key-type rsa|sm2]", "provision a merchant, print its keys as JSON; NAME is one line of plain text, at most 64 characters, as consumers see it", groupKeys, cmdMerchantCreate},
		{"merchant add-key", "--mchid M --public-key FILE [--actor NAME]", "register another RSA-2048 or SM2 public key; prints its serial_no", groupKeys, cmdMerchantKeys},
		{"merchant retire-key", "--mchid M --serial S [--actor NAME]", "stop a key, at once on every node; the last active key cannot be retired", groupKeys, cmdMerchantKeys},
		{"merchant keys", "--mchid M", "list a merchant's key serials and states", groupKeys, cmdMerchantKeys},
		{"merchant rotate-v3-key", "--mchid M [--actor NAME]", "issue a new API v3 key, effective at once on every node", groupKeys, cmdMerchantKeys},
		{"merchant set-v2-key", "--mchid M [--key K] [--actor NAME]", "set or generate the API v2 key, effective at once on every node", groupKeys, cmdMerchantSetV2Key},
		{"platform rotate-key", "[--scheme rsa|sm2] [--actor NAME]", "publish a next platform signing key beside the current one", groupKeys, cmdPlatformKeys},
		{"platform promote-key", "[--scheme rsa|sm2] [--actor NAME]", "sign with the next platform key; the previous one still verifies", groupKeys, cmdPlatformKeys},
		{"platform retire-key", "[--scheme rsa|sm2] [--actor NAME]", "end the overlap: drop the previous platform key", groupKeys, cmdPlatformKeys},
		{"platform keys", "[--scheme rsa|sm2]", "list the platform keys of a scheme", groupKeys, cmdPlatformKeys},
		{"aggregate create", "--mchid M --label L [--description D] [--notify-url U] [--public-url URL] [--png FILE]", "create a merchant's aggregate code (聚合码) for a till or a table: print it with its code URL as JSON, and with --png write its QR code", groupKeys, cmdAggregate},
		{"aggregate list", "--mchid M [--limit N] [--offset N] [--public-url URL]", "a merchant's aggregate codes with their code URLs, newest first, as JSON", groupKeys, cmdAggregate},
		{"aggregate show", "--mchid M --id CODE [--public-url URL] [--png FILE]", "one aggregate code as JSON, and with --png its QR code", groupKeys, cmdAggregate},
		{"aggregate revoke", "--mchid M --id CODE [--public-url URL]", "stop an aggregate code for good: every scan of it is refused from then on", groupKeys, cmdAggregate},
		{"doctor", "--server URL --mchid M --private-key FILE --serial S --platform-key FILE [--platform-serial ID] [--notify-url U] [--lang zh|en] [--json]", "check a merchant's integration against a fenfu server, from the merchant's side: the notify URL's DNS, HTTPS answer, certificate chain and expiry, clock skew, its key, the platform key it holds, its failed notifications of the last day; each check passes, warns or fails with its remedy; non-zero exit on a failure", groupKeys, cmdDoctor},
		{"merchant-users add", "--mchid M --name N [--password-file F] [--actor A]", "make a merchant's owner in the merchant portal, for a merchant without one: prints the TOTP secret (and a generated password) once; owners add the merchant's other users in the portal", groupKeys, cmdMerchantUsers},
		{"merchant-users list", "--mchid M", "a merchant's users of the merchant portal with their roles, as JSON", groupKeys, cmdMerchantUsers},
		{"merchant-users role", "--mchid M --name N --role R [--actor A]", "give a merchant's user of the portal another role (owner, finance, developer, support), ending its sessions; the merchant's last owner who can log in keeps the owner role", groupKeys, cmdMerchantUsers},
		{"merchant-users reset-password", "--mchid M --name N [--actor A]", "give a merchant's user of the portal a temporary password, printed once, which it must change at its next login; ends its sessions", groupKeys, cmdMerchantUsers},
		{"merchant-users reset-totp", "--mchid M --name N [--actor A]", "clear a merchant's user's second factor (a lost phone): its next login takes the password alone and enrols a new authenticator; ends its sessions", groupKeys, cmdMerchantUsers},
		{"keys status", "", "count the sealed values each master key wraps", groupKeys, cmdKeys},
		{"keys reseal", "[--actor NAME]", "wrap every sealed value again under the current master key, resumably, beside running payments", groupKeys, cmdKeys},

		{"settle", "[--date YYYY-MM-DD] [--channel credit|ordinary|all] [--json]", "run (or resume) the T+1 settlement of a day, default yesterday, with progress; then render its trade bills", groupSettle, cmdSettle},
		{"settle list", "[--mchid M] [--from D] [--to D]", "settlements as JSON", groupSettle, cmdSettleList},
		{"settle check", "[--mchid M] [--date D] [--channel CREDIT|ORDINARY|ALL] [--json]", "set each settlement of a day against its merchant's BASIC fund-flow bill; non-zero exit if any differs by a fen", groupSettle, cmdSettleCheck},
		{"settle hold", "--order ID --reason R [--hours 48]", "hold a paid order out of settlement", groupSettle, cmdHold},
		{"settle release", "--order ID", "release a held order; the next batch settles it", groupSettle, cmdHold},
		{"receipt", "--mchid M (--out-trade-no X | --transaction-id T) --format escpos-58|escpos-80|pdf --public-url URL [--cjk-font FILE]", "a paid order's receipt to standard output: ESC/POS bytes for 58 or 80 mm thermal printers, or a PDF", groupSettle, cmdReceipt},
		{"bill", "--mchid M [--date D] [--kind trade|fundflow] [--type T] [--channel CREDIT|ORDINARY|ALL] [-o FILE]", "a merchant's bill of a day", groupSettle, cmdBill},
		{"reconcile", "--bill FILE --mine FILE [--json]", "compare a downloaded trade bill with your own records; non-zero exit on any difference", groupSettle, cmdReconcile},

		{"sandbox merchant", "[--name NAME] [--key-type rsa|sm2]", "provision a sandbox merchant, print its keys as JSON", groupSandbox, cmdSandboxMerchant},
		{"sandbox consumers", "", "create the scripted test consumers (prints JSON)", groupSandbox, cmdSandboxConsumers},
		{"sandbox pay", "--consumer ID [--channel credit|balance] CODE_URL", "pay a sandbox merchant's code_url as that consumer, without its PIN; exit 0 only on success", groupSandbox, cmdSandboxPay},
		{"sandbox paycode", "--consumer ID [--channel credit|balance] [--ttl D]", "issue that consumer a payment code (付款码), as its phone would, for a till's tests; print it as JSON", groupSandbox, cmdSandboxPaycode},
		{"sandbox report", "--mchid M [--html FILE]", "a merchant's sandbox test report (JSON, and a page with --html)", groupSandbox, cmdSandboxReport},
		{"sandbox clock", "[show]", "the sandbox clock as JSON: its time, how far it is ahead of the system's, an advance running or unfinished", groupSandbox, cmdSandboxClock},
		{"sandbox clock show", "", "the same as `sandbox clock`", groupSandbox, cmdSandboxClock},
		{"sandbox clock advance", "DURATION | --to TIME [--json]", "move the sandbox clock forward (e.g. 720h or 30d, at most 400 days), running every date-driven job at each midnight crossed, a line per day (needs --sandbox-clock)", groupSandbox, cmdSandboxClockAdvance},
		{"consumer create", "[--credit-limit FEN] [--rating A|B|C|D] [--balance FEN] [--phone P --pin N]", "create a consumer, print JSON with id, phone, pin", groupSandbox, cmdConsumerCreate},

		{"credit repay", "--consumer ID --partner NAME --amount FEN --key K", "record a funding partner's transfer repaying a consumer's plans, oldest due first; the same key again is the same repayment", groupCredit, cmdCredit},
		{"credit account", "--consumer ID", "a consumer's credit account as JSON: line, what is due, plans and repayments", groupCredit, cmdCredit},
		{"credit statement", "--consumer ID --month YYYY-MM", "a consumer's monthly statement as JSON", groupCredit, cmdCredit},
		{"credit overdue", "[--date YYYY-MM-DD]", "run the overdue job for a day (default today, Asia/Shanghai): mark installments unpaid after their due day overdue and charge each day's late fee once", groupCredit, cmdCredit},
		{"credit line", "--consumer ID --staff NAME --reason R [--limit FEN] [--rating A-D] [--freeze | --unfreeze | --close]", "change a consumer's credit line, recorded with the staff member and reason; a limit below what is used and frozen needs a frozen line; --close ends the consumer's credit contract (nothing used), from which retention counts its authorization's period", groupCredit, cmdCredit},

		{"onboard apply", "--mchid M --file APPLICATION.json", "apply for credit pay (prints the application and its checks)", groupOnboard, cmdOnboard},
		{"onboard show", "--id ID", "show an application", groupOnboard, cmdOnboard},
		{"onboard review", "--id ID --decision approve|reject|request_material --reason R --staff NAME", "decide on an application in review", groupOnboard, cmdOnboard},
		{"onboard deposit", "--id ID --ref REF --staff NAME", "record an approved application's risk deposit as paid", groupOnboard, cmdOnboard},
		{"onboard activate", "--id ID --staff NAME", "activate credit pay for a merchant whose deposit is paid", groupOnboard, cmdOnboard},
		{"onboard close", "--id ID --reason R --staff NAME", "close an application (an active merchant's deposit is refunded)", groupOnboard, cmdOnboard},
		{"onboard rescreen", "", "screen active merchants against the risk list now (serve does it daily)", groupOnboard, cmdRescreen},
		{"onboard report", "[--from D] [--to D] [--json]", "first-time approval rate and days to activation per industry", groupOnboard, cmdOnboardReport},
		{"history import", "[--source NAME] FILE", "load merchants' earlier ordinary payments (CSV: mchid,month,ordinary_count; - for standard input)", groupOnboard, cmdImport},
		{"blacklist import", "[--source NAME] FILE", "load the payment-industry risk list (CSV: licence_number,name,reason; - for standard input)", groupOnboard, cmdImport},

		{"risk rules", "[--version N]", "the current risk rule set, or a version of it, as JSON", groupRisk, cmdRisk},
		{"risk versions", "", "the rule-set versions: when, by whom and why each was made", groupRisk, cmdRisk},
		{"risk add", "--name N --expr E --decision allow|alert|confirm|hold|reject --reason R [--message M] [--channels credit,balance] [--shadow] [--disabled] --why W --staff NAME", "add a monitoring rule: a new rule-set version, which every node runs within seconds", groupRisk, cmdRisk},
		{"risk change", "--name N --expr E --decision D --reason R [--message M] [--channels C] [--shadow] [--disabled] --why W --staff NAME", "replace a rule: a new rule-set version", groupRisk, cmdRisk},
		{"risk enable", "--name N --why W --staff NAME", "enable a rule: a new rule-set version", groupRisk, cmdRisk},
		{"risk disable", "--name N --why W --staff NAME", "disable a rule: a new rule-set version", groupRisk, cmdRisk},
		{"risk queue", "[--state OPEN|ACKNOWLEDGED|RELEASED|REFUNDED|all]", "alerts and holds with their payments, matched rules and features", groupRisk, cmdRisk},
		{"risk show", "--id ORDER", "one alert or hold with the actions taken on it", groupRisk, cmdRisk},
		{"risk ack", "--id ORDER --reason R --staff NAME", "acknowledge an alert or hold: the payment stands", groupRisk, cmdRisk},
		{"risk release", "--id ORDER --reason R --staff NAME", "release a hold early; the next settlement batch takes the order", groupRisk, cmdRisk},
		{"risk refund", "--id ORDER --reason R --staff NAME", "refund an alerted or held payment in full through the refund path", groupRisk, cmdRisk},
		{"risk backtest", "--version N --from D --to D [--json]", "replay a rule-set version over the payments decided in a period and report what it would have changed", groupRisk, cmdRisk},
		{"risk overview", "[--days N]", "the rule set, the decisions of the last days and the risk queue", groupRisk, cmdRisk},
		{"qr verify", "--token T --mark M", "check the mark (防伪码) under a code, as inspectors do: the verdict as JSON; non-zero exit unless it is this minute's or the last one's", groupRisk, cmdQRVerify},
		{"qr render", "--token T --public-url URL [--format png|svg] [--size screen|print] [--english]", "an open order's code in the credit-pay style with this minute's mark, to standard output", groupRisk, cmdQRRender},
		{"display rules", "[--version N]", "the display rules of credit pay (min_amount, first_rating, first_of_day), or a version of them, as JSON", groupRisk, cmdDisplay},
		{"display versions", "", "the display rule-set versions: when, by whom and why each was made", groupRisk, cmdDisplay},
		{"display change", "[--min-amount YUAN] [--first-rating A-D] [--first-of-day true|false] --why W --staff NAME", "change the display rules: a new version, which every node applies within --display-poll-every", groupRisk, cmdDisplay},
		{"display funnel", "--mchid M [--from D] [--to D]", "a merchant's exposures per display reason, and how many were paid, and paid on credit", groupRisk, cmdDisplay},
		{"retention run", "[--dry-run] [--json] [--as-of YYYY-MM-DD] [--retain-trades 5y] [--retain-disputes 2y] [--retain-authorizations 5y] [--retain-risk 3y]", "run (or resume) the retention job: anonymise expired trade details (orders, and service orders ended without a payment), forget consumers whose authorization expired, purge expired risk records, logs and tickets; --dry-run lists each record it would change or keeps by a hold or dispute, and writes nothing", groupRetention, cmdRetention},
		{"retention hold", "--kind merchant|consumer|order --subject ID --reason R --staff NAME", "place a legal hold: retention removes nothing of the subject until it is released", groupRetention, cmdRetention},
		{"retention holds", "[--all]", "the legal holds in force (with --all, released ones too) as JSON", groupRetention, cmdRetention},
		{"retention release", "--id HOLD --staff NAME", "release a legal hold; the next retention run may remove what it kept", groupRetention, cmdRetention},
		{"tickets list", "[--type T] [--status S] [--mchid M] [--assignee NAME] [--escalated] [--overdue] [--order newest|due] [--limit N] [--cursor C]", "support tickets as JSON, newest first or the most urgent first, a page at a time (next_cursor)", groupSupport, cmdTickets},
		{"tickets show", "--id ID", "a ticket with its history (the newest 500 events) and its attachments, as JSON", groupSupport, cmdTickets},
		{"tickets reply", "--id ID --content TEXT --staff NAME", "answer a ticket, which its opener sees; the first staff answer meets its SLA", groupSupport, cmdTickets},
		{"tickets assign", "--id ID --assignee NAME [--reason R] --staff NAME", "give a ticket to a staff member, recorded in the audit log", groupSupport, cmdTickets},
		{"tickets resolve", "--id ID --resolution R --staff NAME", "resolve a ticket; its opener sees the resolution and may answer back, which reopens it", groupSupport, cmdTickets},
		{"tickets close", "--id ID --reason R --staff NAME", "close a ticket for good, resolved or not", groupSupport, cmdTickets},
		{"tickets lanes", "", "each ticket type's SLA lane as JSON: how soon staff must first answer, and whether the on-duty staff are alerted on open", groupSupport, cmdTickets},
		{"staff bootstrap", "--name N [--password-file F]", "create the first director, once: prints the TOTP secret and otpauth URL (and a generated password) once; refused if any staff exist", groupStaff, cmdStaff},
		{"staff add", "--name N --department risk|operations|finance|support|engineering --rank staff|supervisor|manager|director [--password-file F] [--actor A]", "add a staff member; prints the TOTP secret once", groupStaff, cmdStaff},
		{"staff list", "", "staff members with their department, rank and state, as JSON", groupStaff, cmdStaff},
		{"staff disable", "--name N [--actor A]", "stop a member logging in and end their sessions and tokens on every node", groupStaff, cmdStaff},
		{"staff token", "create --name N [--label L] [--ttl 2160h] | revoke --id ID | list --name N", "personal API tokens for scripts: create prints the token once, the store keeps its hash", groupStaff, cmdStaff},
		{"staff policy", "[list | grant --permission P --department D --rank R | revoke --permission P --department D]", "the access policy: which department, from which rank, holds each permission", groupStaff, cmdStaff},
		{"help", "[COMMAND] [--markdown]", "this list, a command's flags, or the list as the README's Markdown table", groupThisTool, cmdHelp},
		{"version", "[--json]", "the module version, VCS revision and time, whether the tree was modified, and Go version fenfu was built with (release builds set them with -ldflags -X, see docs/deploy.md)", groupThisTool, cmdVersion},
	}
}

// env is what a command runs with.
type env struct {
	cmd            command
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// sub is the command's last word: "keys" of "merchant keys".
func (e *env) sub() string { return e.cmd.name[strings.LastIndexByte(e.cmd.name, ' ')+1:] }

// config returns the store configuration: defaults, then FENFU_*.
func (e *env) config() Config { return DefaultConfig(e.getenv) }

// flagSet returns the command's flag set. It prints nothing itself: run
// prints a one-line error for a bad flag, and the help for -h.
func (e *env) flagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("fenfu "+e.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// usageError is a command used wrongly: an unknown command, a bad flag or
// flag value, a missing flag or argument. It exits 2.
type usageError struct {
	cmd string // the command, or "" for fenfu itself
	msg string
}

func (u *usageError) Error() string { return u.msg }
func (u *usageError) Is(target error) bool {
	return target == errUsage
}

// usagef returns a usage error of the running command.
func (e *env) usagef(format string, args ...any) error {
	return &usageError{cmd: e.cmd.name, msg: fmt.Sprintf(format, args...)}
}

// helpRequest is what a command returns for -h: run prints its help.
type helpRequest struct {
	cmd command
	fs  *flag.FlagSet
}

func (helpRequest) Error() string { return "help requested" }

// parse parses a command's flags: -h asks for its help, a bad flag is a
// usage error.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return helpRequest{e.cmd, fs}
	}
	if err != nil {
		return e.usagef("%v", err)
	}
	return nil
}

// require checks that the named flags are set to something.
func (e *env) require(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f == nil || f.Value.String() == "" {
			return e.usagef("missing required flag --%s", n)
		}
	}
	return nil
}

// stringFlag registers the string flag name, bound to p, if it is one of
// the flags the command takes: a handler shared by several commands gives
// each only its own.
func stringFlag(fs *flag.FlagSet, takes []string, p *string, name, usage string) {
	if slices.Contains(takes, name) {
		fs.StringVar(p, name, "", usage)
	}
}

// args checks the count of positional arguments, named as in the synopsis.
func (e *env) args(fs *flag.FlagSet, names ...string) error {
	switch {
	case fs.NArg() < len(names):
		return e.usagef("missing %s", names[fs.NArg()])
	case fs.NArg() > len(names):
		return e.usagef("unexpected argument %q", fs.Arg(len(names)))
	}
	return nil
}

// run is fenfu's whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	table := commands()
	if len(args) == 0 {
		writeUsage(stderr, table)
		return errUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		writeUsage(stdout, table)
		return nil
	}
	cmd, rest, err := lookup(table, args)
	if err != nil {
		return explain(stderr, err)
	}
	e := &env{cmd: cmd, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err = cmd.run(ctx, e, rest)
	var help helpRequest
	if errors.As(err, &help) {
		writeHelp(stdout, help.cmd, help.fs)
		return nil
	}
	return explain(stderr, err)
}

// explain prints err for the user: a usage error on one line with where to
// read more, a failure with its code and remedy.
func explain(w io.Writer, err error) error {
	var u *usageError
	var g *groupError
	switch {
	case err == nil:
	case errors.As(err, &g):
		fmt.Fprintf(w, "fenfu %s: %s; its commands are:\n", g.group, g.msg)
		writeList(w, g.cmds)
		fmt.Fprintf(w, "run 'fenfu help %s' for one's flags\n", g.cmds[0].name)
	case errors.As(err, &u):
		if u.cmd == "" {
			fmt.Fprintf(w, "fenfu: %s\nrun 'fenfu help'\n", u.msg)
		} else {
			fmt.Fprintf(w, "fenfu %s: %s\nrun 'fenfu help %s'\n", u.cmd, u.msg, u.cmd)
		}
	default:
		report(w, err)
	}
	return err
}

// groupError is a group's name ("merchant") given without one of its
// commands, or with an unknown one.
type groupError struct {
	group, msg string
	cmds       []command
}

func (g *groupError) Error() string        { return "fenfu " + g.group + ": " + g.msg }
func (g *groupError) Is(target error) bool { return target == errUsage }

// lookup finds the command args name: the longest run of leading words
// that is a command's name.
func lookup(table []command, args []string) (command, []string, error) {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") || len(words) == 3 {
			break
		}
		words = append(words, a)
	}
	for n := len(words); n > 0; n-- {
		name := strings.Join(words[:n], " ")
		i := slices.IndexFunc(table, func(c command) bool { return c.name == name })
		if i < 0 {
			continue
		}
		// "settle bogus" is not settle with an argument: settle has
		// commands of its own.
		if n < len(words) && len(subcommands(table, name)) > 0 {
			return command{}, nil, &usageError{cmd: name, msg: fmt.Sprintf("unknown command %q", strings.Join(words, " "))}
		}
		return table[i], args[n:], nil
	}
	if len(words) > 0 {
		if subs := subcommands(table, words[0]); len(subs) > 0 {
			msg := "a command is missing"
			if len(words) > 1 {
				msg = fmt.Sprintf("unknown command %q", strings.Join(words, " "))
			}
			return command{}, nil, &groupError{group: words[0], msg: msg, cmds: subs}
		}
		return command{}, nil, &usageError{msg: fmt.Sprintf("unknown command %q", words[0])}
	}
	return command{}, nil, &usageError{msg: fmt.Sprintf("a command comes before the flags (%s)", args[0])}
}

// subcommands are the commands whose name starts with the word group.
func subcommands(table []command, group string) []command {
	var out []command
	for _, c := range table {
		if strings.HasPrefix(c.name, group+" ") {
			out = append(out, c)
		}
	}
	return out
}

const intro = "fenfu — credit payments through QR codes, over the WeChat Pay v3 protocol.\n\nUsage: fenfu COMMAND [flags]\n"

// writeUsage prints the global usage: every command under its heading,
// and the flags of the stores.
func writeUsage(w io.Writer, table []command) {
	fmt.Fprint(w, intro)
	for _, g := range groups {
		var in []command
		for _, c := range table {
			if c.group == g {
				in = append(in, c)
			}
		}
		fmt.Fprintf(w, "\n%s:\n", g)
		writeList(w, in)
	}
	store := flag.NewFlagSet("", flag.ContinueOnError)
	c := DefaultConfig(func(string) string { return "" })
	c.bind(store, false)
	writeFlags(w, store, "Flags of every command that opens the stores")
	fmt.Fprintln(w, "\nRun 'fenfu help COMMAND' for a command's flags.")
}

// writeList prints commands one a line, names aligned.
func writeList(w io.Writer, cmds []command) {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
}

// writeHelp prints a command's help: its synopsis, what it does, its
// flags.
func writeHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: fenfu %s %s\n\n%s.\n", c.name, c.synopsis, upperFirst(c.summary))
	writeFlags(w, fs, "Store flags")
}

// writeFlags prints fs's flags, one a line with its kind of value, its
// usage and its default: the command's own under "Flags", then the flags
// of the store settings under storeTitle.
func writeFlags(w io.Writer, fs *flag.FlagSet, storeTitle string) {
	var own, store [][2]string
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		if v, ok := f.Value.(settingValue); ok {
			typ = v.Type()
		}
		left := "--" + f.Name
		if len(f.Name) == 1 {
			left = "-" + f.Name
		}
		if typ != "" {
			left += " " + typ
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		width = max(width, len(left))
		if isStoreFlag(f.Name) {
			store = append(store, [2]string{left, usage})
		} else {
			own = append(own, [2]string{left, usage})
		}
	})
	for _, part := range []struct {
		title string
		flags [][2]string
	}{{"Flags", own}, {storeTitle, store}} {
		if len(part.flags) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", part.title)
		for _, f := range part.flags {
			fmt.Fprintf(w, "  %-*s  %s\n", width, f[0], f[1])
		}
	}
}

// isStoreFlag reports whether name is the flag of a store setting, which
// every command that opens the stores takes.
func isStoreFlag(name string) bool {
	return slices.ContainsFunc(settings(), func(s setting) bool { return !s.serve && s.flag == name })
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// cmdHelp prints the global usage, a group's commands, a command's help,
// or with --markdown the README's command table.
func cmdHelp(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	markdown := fs.Bool("markdown", false, "print the command table as the README's Markdown")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	table := commands()
	switch {
	case *markdown:
		writeMarkdown(e.stdout, table)
		return nil
	case fs.NArg() == 0:
		writeUsage(e.stdout, table)
		return nil
	}
	c, rest, err := lookup(table, fs.Args())
	var g *groupError
	if errors.As(err, &g) && len(fs.Args()) == 1 {
		fmt.Fprintf(e.stdout, "fenfu %s: its commands are:\n", g.group)
		writeList(e.stdout, g.cmds)
		fmt.Fprintf(e.stdout, "\nRun 'fenfu help %s' for one's flags.\n", g.cmds[0].name)
		return nil
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return e.usagef("help takes one command, not %q", strings.Join(fs.Args(), " "))
	}
	// A command's help is what it prints for -h: its own flag set.
	return c.run(ctx, &env{cmd: c, getenv: e.getenv, stdin: e.stdin, stdout: e.stdout, stderr: e.stderr}, []string{"-h"})
}

// writeMarkdown prints the command table as Markdown, one row a command.
func writeMarkdown(w io.Writer, table []command) {
	fmt.Fprintln(w, "| command | what it does |")
	fmt.Fprintln(w, "|---|---|")
	for _, c := range table {
		cmd := strings.TrimSpace("fenfu " + c.name + " " + c.synopsis)
		fmt.Fprintf(w, "| `%s` | %s |\n", strings.ReplaceAll(cmd, "|", `\|`), c.summary)
	}
}

// cmdVersion prints what fenfu was built from.
func cmdVersion(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	asJSON := fs.Bool("json", false, "print it as JSON")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, version.Get())
	}
	writeVersion(e.stdout, version.Get())
	return nil
}

// writeVersion prints the module version, the VCS revision (and whether
// the tree had uncommitted changes) and its time when the build recorded
// them, and the Go version.
func writeVersion(w io.Writer, v version.Info) {
	fmt.Fprintf(w, "fenfu %s\n", v.Version)
	if v.Revision != "" {
		modified := ""
		if v.Modified {
			modified = " (modified)"
		}
		fmt.Fprintf(w, "revision %s%s\n", v.Revision, modified)
	}
	if v.Time != "" {
		fmt.Fprintf(w, "time %s\n", v.Time)
	}
	fmt.Fprintf(w, "go %s\n", v.Go)
}

// isTerminal reports whether w is a terminal, where progress redraws its line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
