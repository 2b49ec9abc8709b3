package audit

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

const columns = `seq, at, actor, action, target_kind, target_id, reason, detail, prev_hash, hash`

// scanEntry reads an Entry from its columns.
func scanEntry(r db.Scanner) (Entry, error) {
	var e Entry
	var at int64
	var detail string
	err := r.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target.Kind, &e.Target.ID, &e.Reason, &detail, &e.PrevHash, &e.Hash)
	e.At = time.UnixMicro(at)
	if detail != "" {
		e.Detail = json.RawMessage(detail)
	}
	return e, err
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
	out, err := db.All(ctx, d, scanEntry, q, args...)
	if err != nil {
		return nil, fenfu.Internal("audit.List", err)
	}
	return out, nil
}
