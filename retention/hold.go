package retention

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Kind is what a legal hold is on.
type Kind string

// Kinds of hold. A hold on a merchant keeps its orders, refunds,
// notification logs, sandbox calls, bills and risk records; on a consumer, the
// consumer's authorization, orders and risk records; on an order, the
// order, its refunds and its risk records.
const (
	OnMerchant Kind = "merchant"
	OnConsumer Kind = "consumer"
	OnOrder    Kind = "order"
)

// Hold is a legal hold: while it is not released, retention removes
// nothing of its subject.
type Hold struct {
	ID         string    `json:"hold_id"`
	Kind       Kind      `json:"kind"`
	Subject    string    `json:"subject"`
	Reason     string    `json:"reason"`
	Actor      string    `json:"actor"`
	CreatedAt  time.Time `json:"created_at"`
	ReleasedBy string    `json:"released_by,omitempty"`
	ReleasedAt time.Time `json:"released_at,omitzero"`
}

// NewHold is a hold staff place.
type NewHold struct {
	Kind    Kind   `json:"kind"`
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
}

const holdCols = `id, kind, subject, reason, actor, created_at, released_by, released_at`

func scanHold(row interface{ Scan(...any) error }) (Hold, error) {
	var h Hold
	var created, released int64
	err := row.Scan(&h.ID, &h.Kind, &h.Subject, &h.Reason, &h.Actor, &created, &h.ReleasedBy, &released)
	h.CreatedAt, h.ReleasedAt = db.Time(created), db.Time(released)
	return h, err
}

// Place places a legal hold, recorded with the staff member placing it
// and why.
func (s *Service) Place(ctx context.Context, n NewHold, actor string) (Hold, error) {
	n.Subject, n.Reason = strings.TrimSpace(n.Subject), strings.TrimSpace(n.Reason)
	switch {
	case n.Kind != OnMerchant && n.Kind != OnConsumer && n.Kind != OnOrder:
		return Hold{}, fenfu.FieldError("kind", "kind must be merchant, consumer or order, not %q", n.Kind)
	case n.Subject == "" || len(n.Subject) > 64 || strings.ContainsFunc(n.Subject, func(r rune) bool { return r <= ' ' || r > '~' }):
		return Hold{}, fenfu.FieldError("subject", "subject must be the held %s's id: 1 to 64 printable ASCII characters", n.Kind)
	case n.Reason == "" || len(n.Reason) > 500:
		return Hold{}, fenfu.FieldError("reason", "give the hold's reason (the case or order of the authority), at most 500 bytes; it is recorded")
	case actor == "":
		return Hold{}, fenfu.FieldError("actor", "a hold is placed by a named staff member")
	}
	now := s.Clock.Now()
	h := Hold{ID: "lh_" + strings.TrimPrefix(s.IDs.New(fenfu.AttemptID, now), "pa_"), Kind: n.Kind, Subject: n.Subject, Reason: n.Reason,
		Actor: actor, CreatedAt: now}
	_, err := s.Core.Exec(ctx, `INSERT INTO legal_holds (id, kind, subject, reason, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		h.ID, string(h.Kind), h.Subject, h.Reason, h.Actor, db.Micros(now))
	if err != nil {
		return Hold{}, fenfu.Internal("retention.Place", err)
	}
	h.CreatedAt = db.Time(db.Micros(now))
	return h, nil
}

// Holds lists the legal holds in force, or with all every one ever
// placed, newest first.
func (s *Service) Holds(ctx context.Context, all bool) ([]Hold, error) {
	q := `SELECT ` + holdCols + ` FROM legal_holds`
	if !all {
		q += ` WHERE released_at = 0`
	}
	out, err := db.All(ctx, s.Core, scanHold, q+` ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fenfu.Internal("retention.Holds", err)
	}
	return out, nil
}

// Release releases a hold, recorded with the staff member releasing it;
// the next retention run may remove what it kept. Releasing a released
// hold is refused.
func (s *Service) Release(ctx context.Context, id, actor string) (Hold, error) {
	if actor == "" {
		return Hold{}, fenfu.FieldError("actor", "a hold is released by a named staff member")
	}
	var h Hold
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		var err error
		h, err = scanHold(tx.QueryRowContext(ctx, `SELECT `+holdCols+` FROM legal_holds WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fenfu.Errorf(fenfu.ResourceNotExists, "no legal hold %s", id)
		}
		if err != nil {
			return err
		}
		if !h.ReleasedAt.IsZero() {
			e := fenfu.Errorf(fenfu.InvalidRequest, "legal hold %s was released on %s by %s", id,
				h.ReleasedAt.In(fenfu.Shanghai).Format(time.DateTime), h.ReleasedBy)
			e.Remedy = "Place a new hold if the subject must be kept again."
			return e
		}
		res, err := tx.ExecContext(ctx, `UPDATE legal_holds SET released_by = $1, released_at = $2 WHERE id = $3 AND released_at = 0`,
			actor, db.Micros(tx.Now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("retention: release %s: %d rows, %v", id, n, err)
		}
		h.ReleasedBy, h.ReleasedAt = actor, db.Time(db.Micros(tx.Now))
		return nil
	})
	return h, fenfu.Op("retention.Release", err)
}

// holds are the holds in force, by kind and subject.
type holds map[Kind]map[string]string

// on returns the id of a hold on any of the subjects, by kind, or "".
func (h holds) on(merchant, consumer, order string) string {
	for _, k := range []struct {
		kind    Kind
		subject string
	}{{OnOrder, order}, {OnConsumer, consumer}, {OnMerchant, merchant}} {
		if id := h[k.kind][k.subject]; k.subject != "" && id != "" {
			return id
		}
	}
	return ""
}

func (s *Service) inForce(ctx context.Context) (holds, error) {
	list, err := s.Holds(ctx, false)
	if err != nil {
		return nil, err
	}
	h := holds{OnMerchant: {}, OnConsumer: {}, OnOrder: {}}
	for _, x := range list {
		h[x.Kind][x.Subject] = x.ID
	}
	return h, nil
}
