package fenfu_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// packages returns each package directory of the module with its parsed
// non-test files.
func packages(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestPackageDocs: every package says what it owns in a doc comment.
func TestPackageDocs(t *testing.T) {
	for dir, files := range packages(t) {
		documented := false
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			if af.Doc != nil {
				want := "Package " + af.Name.Name + " "
				if af.Name.Name == "main" {
					want = "Command "
				}
				if !strings.HasPrefix(af.Doc.Text(), want) {
					t.Errorf("%s: doc comment should start %q", f, want)
				}
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s has no doc comment", dir)
		}
	}
}

// TestVocabularyHasNoIO: the root package is shared vocabulary only, the
// fee schedule is pure, and the protocol adapters never reach the
// database directly.
func TestVocabularyHasNoIO(t *testing.T) {
	forbidden := map[string][]string{
		".":       {"database/sql", "net/http", "os", "github.com/fenfu/fenfu/db"},
		"qr":      {"database/sql", "net/http", "github.com/fenfu/fenfu/db"},
		"fee":     {"database/sql", "net/http", "os", "github.com/fenfu/fenfu/db"},
		"wxpay":   {"database/sql", "github.com/fenfu/fenfu/db"},
		"cashier": {"database/sql", "github.com/fenfu/fenfu/db"},
		"web":     {"database/sql", "github.com/fenfu/fenfu/db"},
		"admin":   {"database/sql", "github.com/fenfu/fenfu/db"},
		"console": {"database/sql", "github.com/fenfu/fenfu/db"},
		"portal":  {"database/sql", "github.com/fenfu/fenfu/db"},
		"server":  {"database/sql", "github.com/fenfu/fenfu/db"},
	}
	pkgs := packages(t)
	for dir, bad := range forbidden {
		for _, f := range pkgs[dir] {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				for _, b := range bad {
					if p == b {
						t.Errorf("%s imports %s", f, p)
					}
				}
			}
		}
	}
}

// owners names the package that owns each table: only it may name the
// table in SQL. Every table the migrations create must be listed.
var owners = map[string]string{
	"merchants": "merchant", "merchant_keys": "merchant", "request_nonces": "merchant",
	"consumers": "consumer", "login_attempts": "login", "login_in_flight": "login", "consumer_sessions": "consumer",
	"payment_codes": "paycode", "aggregate_codes": "aggregate",
	"orders": "pay", "service_orders": "pay", "refunds": "pay", "cashier_views": "pay", "exposures": "pay", "display_rule_sets": "display", "backfills": "pay",
	"notify_outbox": "notify", "notify_log": "notify",
	"applications": "onboard", "application_events": "onboard", "application_checks": "onboard", "application_documents": "onboard",
	"merchant_history": "onboard", "risk_list": "onboard",
	"sandbox_calls": "sandbox", "sandbox_clock": "sandbox",
	"settlement_batches": "settle", "settlements": "settle", "settlement_exceptions": "settle",
	"bills":        "bill",
	"credit_lines": "credit", "credit_holds": "credit", "credit_payments": "credit", "credit_refunds": "credit", "fee_volume": "credit",
	"complaints": "complaint", "complaint_history": "complaint", "complaint_notify_urls": "complaint",
	"risk_rule_sets": "risk", "risk_rules": "risk", "risk_decisions": "risk", "risk_queue": "risk", "risk_actions": "risk",
	"credit_plans": "credit", "credit_installments": "credit", "credit_late_fees": "credit", "credit_line_changes": "credit", "credit_plan_changes": "credit", "credit_repayments": "credit",
	"credit_repayment_parts": "credit", "balance_transfers": "repay", "credit_backfills": "credit",
	"ledger_accounts": "ledger", "ledger_txns": "ledger", "ledger_entries": "ledger", "ledger_chain": "ledger", "ledger_seal": "ledger",
	"platform_keyring": "keyring", "platform_keys": "keyring", "platform_secrets": "keyring",
	"staff": "access", "staff_tokens": "access", "staff_policy": "access", "staff_unmasks": "access",
	"merchant_users": "merchantuser", "merchant_user_sessions": "merchantuser",
	"schema_migrations": "db",
	"audit_log":         "audit", "audit_head": "audit",
	"legal_holds": "retention", "retention_runs": "retention",
	"ticket_lanes": "ticket", "tickets": "ticket", "ticket_events": "ticket", "ticket_attachments": "ticket", "ticket_alerts": "ticket",
	"ticket_openers": "ticket",
}

// ownershipDebts are the places that still name another package's table,
// each to be moved behind the owner's functions. The test fails when a
// new one appears, and when one listed here is gone (so the list shrinks).
var ownershipDebts = map[string][]string{}

// ledgerIDRE matches SQL that builds an account or transaction id by
// prefixing a kind ('merchant_pending:' || mchid, 'payment:' || id). Only
// package ledger knows how its ids are made.
var ledgerIDRE = regexp.MustCompile(`'[a-z_]+:'\s*\|\|`)

var sqlTableRE = regexp.MustCompile(`\b(?:FROM|JOIN|INTO|UPDATE|TABLE|EXISTS)\s+([a-z_][a-z0-9_]*)`)

// TestTableOwnership: each table is named in SQL by its owning package
// only, and no other package builds the ledger's ids in SQL.
func TestTableOwnership(t *testing.T) {
	created := map[string]bool{}
	err := filepath.WalkDir("db/migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := os.ReadFile(path)
		for _, m := range regexp.MustCompile(`CREATE TABLE (\w+)`).FindAllSubmatch(src, -1) {
			created[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for table := range created {
		if owners[table] == "" {
			t.Errorf("table %s has no owner in arch_test.go's owners", table)
		}
	}
	found := map[string]map[string]bool{} // package → foreign tables it names
	for dir, files := range packages(t) {
		pkg := filepath.ToSlash(dir)
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(af, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, _ := strconv.Unquote(lit.Value)
				if pkg != "ledger" && ledgerIDRE.MatchString(s) {
					t.Errorf("%s builds a ledger id in SQL (%s): use ledger's functions", f, ledgerIDRE.FindString(s))
				}
				for _, m := range sqlTableRE.FindAllStringSubmatch(s, -1) {
					table := m[1]
					if owner, ok := owners[table]; ok && owner != pkg && !strings.HasPrefix(pkg, "cmd/") {
						if found[pkg] == nil {
							found[pkg] = map[string]bool{}
						}
						if !found[pkg][table] && !slices.Contains(ownershipDebts[pkg], table) {
							t.Errorf("%s names table %s, which package %s owns: call %s's functions instead", f, table, owner, owner)
						}
						found[pkg][table] = true
					}
				}
				return true
			})
		}
	}
	for pkg, tables := range ownershipDebts {
		for _, table := range tables {
			if !found[pkg][table] {
				t.Errorf("%s no longer names %s: remove it from ownershipDebts", pkg, table)
			}
		}
	}
}

// layers orders the packages: each may import only packages in earlier
// layers (the root vocabulary first, the adapters and commands last), so
// the domain never depends on a protocol, a console or a command.
var layers = [][]string{
	{"."},
	{"db", "fee", "qr", "qr/qrtest", "scheme", "seal", "metrics", "mask", "catalog", "version", "route", "openapi", "ratelimit"},
	{"keyring", "ledger", "merchant", "db/dbtest", "audit", "receipt", "web", "chart"},
	{"notify", "credit", "risk", "keyring/keyringtest", "login", "paycode"},
	{"consumer", "sandbox", "access", "merchantuser"},
	{"pay", "repay", "access/accesstest"},
	{"ticket"},
	{"onboard", "settle", "complaint", "aggregate", "display", "doctor"},
	{"bill", "figures"},
	{"retention"},
	{"wxpay", "cashier", "portal"},
	{"admin"},
	{"console"},
	{"server"},
	{"bench", "examples/sdkwalk"},
	{"chaos"},
	{"scripts/benchmd", "cmd/fenfu", "examples/sdkwalk/prepay"},
}

// TestDependencyDirection: no package imports one from its own or a later
// layer (other than itself), and every package has a layer.
func TestDependencyDirection(t *testing.T) {
	const module = "github.com/fenfu/fenfu"
	layer := map[string]int{}
	for i, l := range layers {
		for _, p := range l {
			layer[p] = i
		}
	}
	for dir, files := range packages(t) {
		pkg := filepath.ToSlash(dir)
		mine, ok := layer[pkg]
		if !ok {
			t.Errorf("package %s has no layer in arch_test.go's layers", pkg)
			continue
		}
		for _, f := range files {
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p != module && !strings.HasPrefix(p, module+"/") {
					continue
				}
				dep := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
				if dep == "" {
					dep = "."
				}
				if l, ok := layer[dep]; ok && l >= mine && dep != pkg {
					t.Errorf("%s imports %s: %s is in layer %d and may import only layers before it", f, dep, pkg, mine)
				}
			}
		}
	}
}

// wallClockFiles may read the wall clock below cmd, each for its reason.
var wallClockFiles = map[string]string{
	"keyring/cert.go": "a platform certificate's validity is checked by clients against their own clocks",
	"web/csv.go":      "a connection's write deadline is set in the network's own wall-clock time",
}

// TestNoWallClockOrEnvironmentBelowCmd: below cmd, time is read through a
// fenfu.Clock and configuration arrives as settings. time.Now is allowed
// only as the start of an elapsed-time measurement (x := time.Now() with x
// used only in time.Since), in the SystemClock itself, in the load
// generator and the chaos harness (which time real processes), and in
// test helpers.
func TestNoWallClockOrEnvironmentBelowCmd(t *testing.T) {
	exempt := func(f string) bool {
		f = filepath.ToSlash(f)
		return f == "clock.go" || strings.HasPrefix(f, "cmd/") || strings.HasPrefix(f, "bench/") ||
			strings.HasPrefix(f, "chaos/") || strings.HasPrefix(f, "scripts/") || strings.HasPrefix(f, "db/dbtest/") || strings.HasPrefix(f, "qr/qrtest/") || wallClockFiles[f] != ""
	}
	call := func(n ast.Node, pkg, name string) bool {
		c, ok := n.(*ast.CallExpr)
		if !ok {
			return false
		}
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		id, ok := sel.X.(*ast.Ident)
		return ok && id.Name == pkg && sel.Sel.Name == name
	}
	for _, files := range packages(t) {
		for _, f := range files {
			if exempt(f) {
				continue
			}
			fset := token.NewFileSet()
			af, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Stopwatches: x := time.Now() whose x is only ever passed to time.Since.
			stopwatch := map[*ast.CallExpr]bool{}
			ast.Inspect(af, func(n ast.Node) bool {
				fn, ok := n.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					return true
				}
				starts := map[string]*ast.CallExpr{}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 && call(as.Rhs[0], "time", "Now") {
						if id, ok := as.Lhs[0].(*ast.Ident); ok {
							starts[id.Name] = as.Rhs[0].(*ast.CallExpr)
						}
					}
					return true
				})
				for name, c := range starts {
					uses, inSince := 0, 0
					ast.Inspect(fn.Body, func(n ast.Node) bool {
						if id, ok := n.(*ast.Ident); ok && id.Name == name {
							uses++
						}
						if call(n, "time", "Since") {
							if id, ok := n.(*ast.CallExpr).Args[0].(*ast.Ident); ok && id.Name == name {
								inSince++
							}
						}
						return true
					})
					if uses == inSince+1 { // the assignment, then only time.Since
						stopwatch[c] = true
					}
				}
				return true
			})
			ast.Inspect(af, func(n ast.Node) bool {
				switch {
				case call(n, "time", "Now") && !stopwatch[n.(*ast.CallExpr)]:
					t.Errorf("%s: time.Now() below cmd: read the time from a fenfu.Clock", fset.Position(n.Pos()))
				case call(n, "os", "Getenv"), call(n, "os", "LookupEnv"), call(n, "os", "Environ"):
					t.Errorf("%s: the environment is read below cmd: make it a setting of cmd/fenfu's Config", fset.Position(n.Pos()))
				}
				return true
			})
		}
	}
}

// creditUse lists the tables that describe a consumer's use of credit:
// they live only in the credit store (README, "What each store holds").
// creditUseName catches the ones to come by their names: credit plans,
// repayments, installments, pre-authorizations, overdue records and
// consumers' risk records (the core store's risk_list is of merchants);
// consumers' complaints are risk records.
var (
	creditUse = []string{"credit_lines", "credit_payments", "credit_refunds", "complaints", "complaint_history",
		"risk_decisions", "risk_queue", "risk_actions"}
	creditUseName = regexp.MustCompile(`^credit_|plan|repayment|installment|pre_?auth|overdue|risk_(record|score|event|assessment)`)
)

// storeOf names the store each migration module builds: core and credit
// their own, ledger and audit both.
var storeOf = map[string]string{"core": "core", "credit": "credit", "ledger": "both", "audit": "both"}

// TestStorageIsolation: the tables of a consumer's credit use are created
// only by credit-store migrations, and the README's table of what each
// store holds lists exactly the tables the migrations create, each in
// its store.
func TestStorageIsolation(t *testing.T) {
	created := map[string]string{"schema_migrations": "both"} // table → store
	for module, store := range storeOf {
		files, err := filepath.Glob(filepath.Join("db", "migrations", module, "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("migrations of %s: %v", module, err)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// In the order the migration runs them: a table dropped is
			// gone (a table's old self while it is rebuilt), unless
			// created again after.
			for _, m := range regexp.MustCompile(`(?i)(DROP TABLE(?: IF EXISTS)?|CREATE TABLE(?: IF NOT EXISTS)?|RENAME TO)\s+(\w+)`).FindAllSubmatch(src, -1) {
				table := string(m[2])
				if strings.HasPrefix(strings.ToUpper(string(m[1])), "DROP") {
					delete(created, table)
					continue
				}
				if (slices.Contains(creditUse, table) || creditUseName.MatchString(table)) && module != "credit" {
					t.Errorf("%s creates %s, which describes a consumer's credit use: it belongs in db/migrations/credit", f, table)
				}
				where := store
				if prev, ok := created[table]; ok && prev != store {
					where = "both" // each store keeps its own, as the audit log
				}
				created[table] = where
			}
		}
	}
	for _, table := range creditUse {
		if created[table] != "credit" {
			t.Errorf("%s, a table of credit use, is not created by a credit-store migration", table)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| (core|credit|both) \\| `(\\w+)` \\|").FindAllSubmatch(readme, -1) {
		listed[string(m[2])] = string(m[1])
	}
	for table, store := range created {
		if got := listed[table]; got == "" {
			t.Errorf("README's \"What each store holds\" does not list %s, which the migrations create in %s", table, store)
		} else if got != store {
			t.Errorf("README's \"What each store holds\" lists %s in %q; the migrations create it in %s", table, got, store)
		}
	}
	for table := range listed {
		if created[table] == "" {
			t.Errorf("README's \"What each store holds\" lists %s, which no migration creates", table)
		}
	}
}

// TestPortableSQL: fenfu's SQL stays within what PostgreSQL-compatible
// distributed databases accept (docs/deploy.md, "Past one PostgreSQL
// server"): no sequences or identity columns, no SKIP LOCKED, no
// LISTEN/NOTIFY, no triggers or procedures, and the one advisory lock only
// where docs/deploy.md lists it.
func TestPortableSQL(t *testing.T) {
	banned := regexp.MustCompile(`\b(SERIAL|BIGSERIAL|nextval|CREATE SEQUENCE|GENERATED (ALWAYS|BY DEFAULT) AS IDENTITY|SKIP LOCKED|LISTEN|NOTIFY|CREATE TRIGGER|CREATE (OR REPLACE )?(FUNCTION|PROCEDURE)|CREATE EXTENSION)\b`)
	advisory := regexp.MustCompile(`pg_(try_)?advisory`)
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, "_test.go") || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sql")) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := banned.Find(src); m != nil {
			t.Errorf("%s: %s, which docs/deploy.md keeps fenfu's SQL without", path, m)
		}
		if advisory.Match(src) && path != filepath.Join("paycode", "paycode.go") {
			t.Errorf("%s: an advisory lock beyond the one docs/deploy.md lists (paycode)", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
