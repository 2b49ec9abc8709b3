// Command fenfu runs the fenfu credit-payment platform: the server, its
// migrations, the sandbox tools, the books proof and a demo. Every command
// takes --data-dir, --core-db and --credit-db; see `fenfu help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/fenfu/fenfu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(exitCode(err))
	}
}

// errUsage marks a usage error, already explained on stderr.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

const usage = `fenfu — credit payments through QR codes, over the WeChat Pay v3 protocol.

Usage: fenfu COMMAND [flags]

Commands:
  Running
    serve              run the merchant API, the cashier, the staff API, /healthz and /metrics
    migrate            apply the database migrations of both stores
    verify             prove the books of both stores; non-zero exit names the first problem
    recover            settle payments and refunds interrupted between the two stores
    demo               start a server and walk one credit payment end to end
    bench              load-test the payment path and prove the books afterwards (see BENCHMARKS.md)
    bench settle       generate a day of paid orders and measure its settlement: [--orders 1000000] [--merchants 100]

  Merchants and keys
    merchant create    provision a merchant: --env production|sandbox [--key-type rsa|sm2] (prints its keys as JSON)
    merchant add-key | retire-key | keys | rotate-v3-key | set-v2-key   manage a merchant's keys: --mchid M …
    platform rotate-key | promote-key | retire-key | keys   rotate the platform's signing key with an overlap: --scheme rsa|sm2

  Settlement and bills
    settle             run the T+1 settlement of a day: [--date YYYY-MM-DD (default yesterday)] [--channel credit|ordinary|all]
    settle list        settlements: [--mchid M] [--from D] [--to D] (prints JSON)
    settle hold | release   hold a paid order out of settlement, or release it: --order ID [--hours 48 --reason R]
    bill               a merchant's bill of a day: --mchid M --date D [--kind trade|fundflow] [--type T] [--channel CREDIT|ORDINARY|ALL] [-o FILE]
    reconcile          compare a trade bill with your records: --bill FILE --mine FILE [--json]; non-zero exit on differences

  Sandbox
    sandbox merchant   provision a sandbox merchant with fresh keys (prints JSON)
    sandbox consumers  create the scripted test consumers (prints JSON)
    sandbox pay        pay a code_url as a consumer: --consumer ID --channel credit|balance CODE_URL
    sandbox report     a merchant's sandbox test report: --mchid M [--html FILE]
    consumer create    create a consumer: --credit-limit FEN --rating A|B|C|D --balance FEN (prints JSON)

  Onboarding
    onboard apply      apply for credit pay: --mchid M --file APPLICATION.json (prints the checks)
    onboard show | review | deposit | activate | close   an application: --id ID … --staff NAME
    onboard rescreen   screen active merchants against the risk list now (serve does it daily)
    onboard report     first-time approval rate and days to activation per industry: [--from D] [--to D] [--json]
    history import FILE     load merchants' earlier ordinary payments (CSV: mchid,month,ordinary_count)
    blacklist import FILE   load the payment-industry risk list (CSV: licence_number,name,reason)

Flags common to every command:
  --data-dir DIR     keys and SQLite files (default ./fenfu-data, or $FENFU_DATA_DIR)
  --core-db DSN      core store: SQLite path or postgres://… (default DIR/core.db, or $FENFU_CORE_DB)
  --credit-db DSN    credit store: SQLite path or postgres://… (default DIR/credit.db, or $FENFU_CREDIT_DB)

Run 'fenfu COMMAND -h' for a command's own flags.
`

// run is fenfu's whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	if (cmd == "sandbox" || cmd == "consumer" || cmd == "merchant" || cmd == "platform" || cmd == "history" || cmd == "blacklist" || cmd == "onboard" ||
		((cmd == "settle" || cmd == "bench") && len(rest) > 0 && !strings.HasPrefix(rest[0], "-"))) && len(rest) > 0 {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "sandbox merchant":
		err = cmdSandboxMerchant(ctx, rest, getenv, stdout, stderr)
	case "sandbox consumers":
		err = cmdSandboxConsumers(ctx, rest, getenv, stdout, stderr)
	case "sandbox report":
		err = cmdSandboxReport(ctx, rest, getenv, stdout, stderr)
	case "sandbox pay":
		err = cmdSandboxPay(ctx, rest, getenv, stdout, stderr)
	case "merchant create":
		err = cmdMerchantCreate(ctx, rest, getenv, stdout, stderr)
	case "merchant set-v2-key":
		err = cmdMerchantSetV2Key(ctx, rest, getenv, stdout, stderr)
	case "merchant add-key", "merchant retire-key", "merchant keys", "merchant rotate-v3-key":
		err = cmdMerchantKeys(ctx, strings.TrimPrefix(cmd, "merchant "), rest, getenv, stdout, stderr)
	case "consumer create":
		err = cmdConsumerCreate(ctx, rest, getenv, stdout, stderr)
	case "onboard rescreen":
		err = cmdRescreen(ctx, rest, getenv, stdout, stderr)
	case "onboard report":
		err = cmdOnboardReport(ctx, rest, getenv, stdout, stderr)
	case "onboard apply", "onboard show", "onboard review", "onboard deposit", "onboard activate", "onboard close":
		err = cmdOnboard(ctx, strings.TrimPrefix(cmd, "onboard "), rest, getenv, stdin, stdout, stderr)
	case "history import", "blacklist import":
		err = cmdImport(ctx, strings.TrimSuffix(cmd, " import"), rest, getenv, stdin, stdout, stderr)
	case "platform rotate-key", "platform promote-key", "platform retire-key", "platform keys":
		err = cmdPlatformKeys(strings.TrimPrefix(cmd, "platform "), rest, getenv, stdout, stderr)
	case "settle":
		err = cmdSettle(ctx, rest, getenv, stdout, stderr)
	case "settle list":
		err = cmdSettleList(ctx, rest, getenv, stdout, stderr)
	case "settle hold", "settle release":
		err = cmdHold(ctx, strings.TrimPrefix(cmd, "settle "), rest, getenv, stdout, stderr)
	case "bill":
		err = cmdBill(ctx, rest, getenv, stdout, stderr)
	case "reconcile":
		err = cmdReconcile(ctx, rest, getenv, stdout, stderr)
	case "verify":
		err = cmdVerify(ctx, rest, getenv, stdout, stderr)
	case "recover":
		err = cmdRecover(ctx, rest, getenv, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "bench settle":
		err = cmdBenchSettle(ctx, rest, getenv, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "fenfu: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
	if err != nil && !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
		report(stderr, err)
	}
	return err
}

// report prints an error with its code and remedy.
func report(w io.Writer, err error) {
	var e *fenfu.Error
	if errors.As(err, &e) {
		fmt.Fprintf(w, "fenfu: %s: %s\n", e.Code, e.Message)
		if e.Remedy != "" {
			fmt.Fprintf(w, "  remedy: %s\n", e.Remedy)
		}
		return
	}
	fmt.Fprintf(w, "fenfu: %v\n", err)
}
