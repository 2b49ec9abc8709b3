package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations
var migrations embed.FS

// Modules lists the migration modules each store is made of. The ledger
// module is shared: each store keeps its own books.
var Modules = map[string][]string{
	"core":   {"ledger", "audit", "core"},
	"credit": {"ledger", "audit", "credit"},
}

type migration struct {
	module  string
	version int
	name    string
	sql     string
}

func load(module string) ([]migration, error) {
	dir := "migrations/" + module
	ents, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("db: migration %s/%s: name must start with its number", module, e.Name())
		}
		b, err := migrations.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{module, n, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies the store's pending migrations, each in its own
// transaction, and returns the names of those it applied. Several processes
// may migrate at once: the version row is written first, so a concurrent
// migrator waits on it and then skips the migration.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	return d.migrate(ctx, nil)
}

// migrate applies the pending migrations, stopping before the first for
// which stop (if set) says so; tests use it to build a store as an older
// release left it.
func (d *DB) migrate(ctx context.Context, stop func(module string, version int) bool) ([]string, error) {
	mods, ok := Modules[d.Name]
	if !ok {
		return nil, fmt.Errorf("db: unknown store %q", d.Name)
	}
	// A store that has its table of migrations is not asked to create it,
	// which needs the right to create tables: a role with only the right
	// to read and write rows starts on a store its owner migrated.
	if _, err := d.W.ExecContext(ctx, `SELECT 1 FROM schema_migrations WHERE 1 = 0`); err != nil {
		if _, err := d.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			module TEXT NOT NULL, version INTEGER NOT NULL, applied_at BIGINT NOT NULL,
			PRIMARY KEY (module, version))`); err != nil {
			return nil, fmt.Errorf("db: %s store: create schema_migrations: %w%s", d.Name, err, ownerHint(err))
		}
	}
	var applied []string
	for _, mod := range mods {
		ms, err := load(mod)
		if err != nil {
			return applied, err
		}
		for _, m := range ms {
			if stop != nil && stop(m.module, m.version) {
				break
			}
			did := false
			err := d.Update(ctx, func(tx *Tx) error {
				res, err := tx.Tx.ExecContext(ctx, `INSERT INTO schema_migrations (module, version, applied_at)
					VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, m.module, m.version, Micros(tx.Now))
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					return nil
				}
				for _, stmt := range splitStatements(d.dialect(m.sql)) {
					if _, err := tx.Tx.ExecContext(ctx, stmt); err != nil {
						return fmt.Errorf("%s: %w", firstLine(stmt), err)
					}
				}
				did = true
				return nil
			})
			if err != nil {
				return applied, fmt.Errorf("db: %s store: migration %s/%s: %w%s", d.Name, m.module, m.name, err, ownerHint(err))
			}
			if did {
				applied = append(applied, m.module+"/"+m.name)
			}
		}
	}
	return applied, nil
}

// ownerHint is the remedy of a migration the store's role may not run
// (PostgreSQL's insufficient_privilege, 42501).
func ownerHint(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42501" {
		return " (this role may not change the schema: run fenfu migrate as the database's owner, then start again)"
	}
	return ""
}

// sqliteOnly and postgresOnly mark, in a migration, what only one engine
// reads; the other never sees it. The migrations use sqliteOnly for WITHOUT
// ROWID, which stores a table with a text key as one B-tree instead of
// two, and either for whole statements where the engines differ (ledger
// 0002 gives ledger_txns its commit order in each engine's own way).
const (
	sqliteOnly   = "/*sqlite:"
	postgresOnly = "/*postgres:"
)

// dialect adapts a migration to the store's engine: its own engine's
// marked parts are kept, the other's removed.
func (d *DB) dialect(sql string) string {
	keep, drop := postgresOnly, sqliteOnly
	if d.Engine == SQLite {
		keep, drop = sqliteOnly, postgresOnly
	}
	return marked(marked(sql, keep, true), drop, false)
}

// marked keeps (without its marks) or removes each part of sql between
// mark and the next "*/".
func marked(sql, mark string, keep bool) string {
	for {
		i := strings.Index(sql, mark)
		if i < 0 {
			return sql
		}
		j := strings.Index(sql[i:], "*/")
		if j < 0 {
			return sql
		}
		inner := ""
		if keep {
			inner = sql[i+len(mark) : i+j]
		}
		sql = sql[:i] + inner + sql[i+j+2:]
	}
}

// splitStatements splits a migration on semicolons that end a line. The
// migrations contain no procedural code, so this is enough.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "--") || trim == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trim, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
