package dbtest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/db"
)

// placeholder is a statement's $N.
var placeholder = regexp.MustCompile(`\$([0-9]+)`)

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Plan returns how the store plans q with args (as many as q takes), a
// line per step: SQLite's EXPLAIN QUERY PLAN after ANALYZE; on PostgreSQL
// the generic plan a prepared statement comes to, which knows no
// argument's value.
func Plan(t *testing.T, d *db.DB, q string, args ...any) string {
	t.Helper()
	ctx := t.Context()
	n := 0
	for _, m := range placeholder.FindAllStringSubmatch(q, -1) {
		n = max(n, atoi(m[1]))
	}
	args = args[:n]
	if _, err := d.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	conn, err := d.R.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// EXPLAIN QUERY PLAN plans with the schema the connection last read,
	// and only a statement that runs reads it again: a reader opened
	// before the last migrations would plan against indexes gone since.
	if d.Engine == db.SQLite {
		if _, err := conn.ExecContext(ctx, `SELECT COUNT(*) FROM sqlite_master`); err != nil {
			t.Fatal(err)
		}
	}
	explain := `EXPLAIN QUERY PLAN ` + q
	if d.Engine == db.Postgres {
		var lits []string
		for _, a := range args {
			lits = append(lits, "'"+strings.ReplaceAll(fmt.Sprint(a), "'", "''")+"'")
		}
		for _, s := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE q AS ` + q} {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				t.Fatal(s, err)
			}
		}
		defer conn.ExecContext(ctx, `DEALLOCATE q`)
		explain, args = `EXPLAIN EXECUTE q(`+strings.Join(lits, ", ")+`)`, nil
	}
	rows, err := conn.QueryContext(ctx, explain, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		v := make([]any, len(cols))
		for i := range v {
			v[i] = new(any)
		}
		if err := rows.Scan(v...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(*v[len(v)-1].(*any)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
