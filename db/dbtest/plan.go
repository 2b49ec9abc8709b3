package dbtest

import (
	"database/sql"
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
	var lines []string
	for _, r := range Rows(t, rows)[1:] {
		lines = append(lines, fmt.Sprint(r[len(r)-1]))
	}
	return strings.Join(lines, "\n")
}

// Rows reads every row of rows as its columns' values, the first row
// being the columns' names, and closes rows; a test compares or prints
// them whatever the statement's columns.
func Rows(t testing.TB, rows *sql.Rows) [][]any {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = c
	}
	out := [][]any{head}
	for rows.Next() {
		v := make([]any, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		if err := rows.Scan(p...); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
