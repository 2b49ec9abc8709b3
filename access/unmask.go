package access

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
)

// Unmasking is a staff member having one masked field of one record shown
// in the clear, for a reason.
type Unmasking struct {
	ID     string    `json:"id"`
	Staff  string    `json:"staff"`
	Kind   string    `json:"kind"` // the kind of record, e.g. application
	Record string    `json:"record_id"`
	Field  string    `json:"field"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Recorder records unmaskings. Service records each in its table and in
// the core store's audit log, in one transaction.
type Recorder interface {
	RecordUnmasking(ctx context.Context, u Unmasking) error
}

// RecordUnmasking records u, with its time and id, in staff_unmasks and
// as an unmask entry of the core store's audit log, which commit
// together.
func (s *Service) RecordUnmasking(ctx context.Context, u Unmasking) error {
	if strings.TrimSpace(u.Reason) == "" || len(u.Reason) > 500 {
		return fenfu.FieldError("reason", "say why the field is needed in the clear (at most 500 characters); it is recorded")
	}
	return s.DB.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO staff_unmasks (id, staff_name, kind, record_id, field, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, "um_"+strings.ToLower(rand.Text()[:20]), u.Staff, u.Kind, u.Record, u.Field, u.Reason,
			db.Micros(tx.Now)); err != nil {
			return fenfu.Internal("access.RecordUnmasking", err)
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Actor: "staff:" + u.Staff, Action: audit.ActionUnmask,
			Target: audit.Target{Kind: u.Kind, ID: u.Record}, Reason: u.Reason, Detail: audit.Detail(map[string]string{"field": u.Field})})
		return err
	})
}

// Unmaskings lists the recorded unmaskings, newest first; of one staff
// member if name is set.
func (s *Service) Unmaskings(ctx context.Context, name string, limit int) ([]Unmasking, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, staff_name, kind, record_id, field, reason, created_at FROM staff_unmasks
		WHERE $1 = '' OR staff_name = $1 ORDER BY created_at DESC, id LIMIT $2`, name, limit)
	if err != nil {
		return nil, fenfu.Internal("access.Unmaskings", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (u Unmasking, err error) {
		var at int64
		err = r.Scan(&u.ID, &u.Staff, &u.Kind, &u.Record, &u.Field, &u.Reason, &at)
		u.At = db.Time(at)
		return u, err
	})
	if err != nil {
		return nil, fenfu.Internal("access.Unmaskings", err)
	}
	return out, nil
}
