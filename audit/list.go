package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

const columns = `seq, at, actor, action, target_kind, target_id, reason, detail, prev_hash, hash`

func scan(rows *sql.Rows) ([]Entry, error) {
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var detail string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target.Kind, &e.Target.ID, &e.Reason, &detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fenfu.Internal("audit.scan", err)
		}
		e.At = time.UnixMicro(at)
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fenfu.Internal("audit.scan", err)
	}
	return out, nil
}

// Filter selects entries for List; empty fields select all.
type Filter struct {
	Actor, Action        string
	TargetKind, TargetID string
	From, To             time.Time // [From, To)
	Limit, Offset        int
}

// Page sizes of List.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// List returns d's entries that match f, newest first.
func List(ctx context.Context, d *db.DB, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	for _, c := range []struct{ col, v string }{{"actor", f.Actor}, {"action", f.Action}, {"target_kind", f.TargetKind}, {"target_id", f.TargetID}} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.From.IsZero() {
		add("at >= ?", db.Micros(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", db.Micros(f.To))
	}
	q := `SELECT ` + columns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 || f.Limit > MaxLimit {
		f.Limit = DefaultLimit
	}
	args = append(args, f.Limit, max(f.Offset, 0))
	q += ` ORDER BY seq DESC LIMIT $` + strconv.Itoa(len(args)-1) + ` OFFSET $` + strconv.Itoa(len(args))
	rows, err := d.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fenfu.Internal("audit.List", err)
	}
	out, err := scan(rows)
	if out == nil && err == nil {
		out = []Entry{}
	}
	return out, err
}
