package ticket

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/audit"
	"github.com/fenfu/fenfu/db"
)

// Actions the ticket service records in the core store's audit log, in
// the transaction of the change.
const (
	ActionLaneChange = "ticket lane change"
	ActionAssign     = "ticket assignment"
)

// Lane is a ticket type's SLA lane: how soon staff must first answer a
// ticket of the type (SLA), and whether the on-duty staff are alerted the
// moment one opens. The SLA and the alert are data, which staff change;
// the names and the advice, the seed's "solution", are the type's.
type Lane struct {
	Type        Type     `json:"type"`
	Name        string   `json:"name"`
	NameZH      string   `json:"name_zh"`
	SLA         Duration `json:"sla"`
	AlertOnOpen bool     `json:"alert_on_open"`
	// Advice is what the opener can do meanwhile.
	Advice    string    `json:"advice,omitempty"`
	AdviceZH  string    `json:"advice_zh,omitempty"`
	ChangedBy string    `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at,omitzero"`
}

// The default SLAs of the lanes (SPEC §8): interface timeouts answered
// within 30 minutes; payment failures in real time, the on-duty staff
// alerted at once and an answer due within 5 minutes; settlement delays
// within 24 hours; anything else within 24 hours.
const (
	DefaultInterfaceTimeoutSLA = 30 * time.Minute
	DefaultPaymentFailureSLA   = 5 * time.Minute
	DefaultSettlementDelaySLA  = 24 * time.Hour
	DefaultGeneralSLA          = 24 * time.Hour
)

// The bounds of a lane's SLA.
const (
	MinSLA = time.Minute
	MaxSLA = 30 * 24 * time.Hour
)

// DefaultLanes are the lanes a new store is seeded with.
func DefaultLanes() []Lane {
	return []Lane{
		{Type: InterfaceTimeout, Name: "Interface timeout", NameZH: "接口超时错误", SLA: Duration(DefaultInterfaceTimeoutSLA),
			Advice:   "Check that your HTTPS certificate is valid and that your firewall lets fenfu's requests and notifications through.",
			AdviceZH: "检查HTTPS证书有效性,调整网络防火墙规则。"},
		{Type: PaymentFailure, Name: "Payment failure", NameZH: "用户支付失败", SLA: Duration(DefaultPaymentFailureSLA), AlertOnOpen: true,
			Advice:   "Ask the payer to update the app to its latest version and to check the credit available on their line.",
			AdviceZH: "引导用户更新至最新版本,检查分付额度。"},
		{Type: SettlementDelay, Name: "Settlement delay", NameZH: "资金结算延迟", SLA: Duration(DefaultSettlementDelaySLA),
			Advice:   "File a settlement exception request with the transaction record attached (POST /v3/fenfu/settlement-exceptions).",
			AdviceZH: "提交《分付结算异常申请表》,附交易流水。"},
		{Type: General, Name: "General", NameZH: "其他问题", SLA: Duration(DefaultGeneralSLA)},
	}
}

// defaultLane is a type's lane as seeded by default.
func defaultLane(t Type) Lane {
	for _, l := range DefaultLanes() {
		if l.Type == t {
			return l
		}
	}
	return Lane{Type: t, Name: string(t), NameZH: string(t), SLA: Duration(DefaultGeneralSLA)}
}

// Seed stores the lanes a store has none of yet, as of its first start;
// a lane already stored, as staff may have changed it, is left as it is.
func Seed(ctx context.Context, d *db.DB, lanes []Lane) error {
	err := d.Update(ctx, func(tx *db.Tx) error {
		for _, l := range lanes {
			if err := checkSLA(time.Duration(l.SLA)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_lanes (type, sla_us, alert_on_open, created_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (type) DO NOTHING`, string(l.Type), time.Duration(l.SLA).Microseconds(), db.Flag(l.AlertOnOpen), db.Micros(tx.Now)); err != nil {
				return err
			}
		}
		return nil
	})
	return fenfu.Op("ticket.Seed", err)
}

func checkSLA(d time.Duration) error {
	if d < MinSLA || d > MaxSLA {
		return fenfu.FieldError("sla", "a lane's SLA is from %s to %s, not %s", MinSLA, MaxSLA, d)
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// lane reads a type's lane; a store without the lane has its default.
func (s *Service) lane(ctx context.Context, q querier, t Type) (Lane, error) {
	l := defaultLane(t)
	var sla, changed int64
	var alert bool
	err := q.QueryRowContext(ctx, `SELECT sla_us, alert_on_open, changed_by, changed_at FROM ticket_lanes WHERE type = $1`, string(t)).
		Scan(&sla, &alert, &l.ChangedBy, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return l, nil
	}
	if err != nil {
		return l, err
	}
	l.SLA, l.AlertOnOpen, l.ChangedAt = Duration(time.Duration(sla)*time.Microsecond), alert, db.Time(changed)
	return l, nil
}

// Lane returns a type's lane.
func (s *Service) Lane(ctx context.Context, t Type) (Lane, error) {
	if _, err := ParseType(string(t)); err != nil {
		return Lane{}, err
	}
	l, err := s.lane(ctx, s.DB, t)
	if err != nil {
		return l, fenfu.Internal("ticket.Lane", err)
	}
	return l, nil
}

// Lanes returns every lane, in the order of Types.
func (s *Service) Lanes(ctx context.Context) ([]Lane, error) {
	out := make([]Lane, 0, len(Types))
	for _, t := range Types {
		l, err := s.Lane(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// LaneChange is a change of a lane: its SLA, whether it alerts on open,
// or both, and why.
type LaneChange struct {
	SLA         *time.Duration
	AlertOnOpen *bool
	Reason      string
}

// SetLane changes a lane, recorded with the staff member and the reason
// in the core store's audit log, in the change's transaction. Tickets
// opened from then on take the new SLA; those open keep the due time
// they were opened with.
func (s *Service) SetLane(ctx context.Context, by Actor, t Type, ch LaneChange) (Lane, error) {
	if by.Kind != KindStaff || by.ID == "" {
		return Lane{}, fenfu.Errorf(fenfu.InvalidRequest, "a lane is changed by a staff member")
	}
	if _, err := ParseType(string(t)); err != nil {
		return Lane{}, err
	}
	if ch.SLA == nil && ch.AlertOnOpen == nil {
		return Lane{}, fenfu.FieldError("sla", "give the lane's new sla (a duration such as 30m), alert_on_open, or both")
	}
	if ch.SLA != nil {
		if err := checkSLA(*ch.SLA); err != nil {
			return Lane{}, err
		}
	}
	if err := fenfu.Words("reason", ch.Reason, MaxText, false); err != nil {
		return Lane{}, err
	}
	var out Lane
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		was, err := s.lane(ctx, tx, t)
		if err != nil {
			return err
		}
		out = was
		if ch.SLA != nil {
			out.SLA = Duration(*ch.SLA)
		}
		if ch.AlertOnOpen != nil {
			out.AlertOnOpen = *ch.AlertOnOpen
		}
		out.ChangedBy, out.ChangedAt = by.String(), db.Time(db.Micros(tx.Now))
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_lanes (type, sla_us, alert_on_open, changed_by, changed_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (type) DO UPDATE SET sla_us = EXCLUDED.sla_us,
			alert_on_open = EXCLUDED.alert_on_open, changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at`,
			string(t), time.Duration(out.SLA).Microseconds(), db.Flag(out.AlertOnOpen), out.ChangedBy, db.Micros(tx.Now)); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Actor: by.String(), Action: ActionLaneChange, Target: audit.Target{Kind: "ticket lane", ID: string(t)},
			Reason: ch.Reason, Detail: audit.Detail(map[string]any{
				"from": map[string]any{"sla": time.Duration(was.SLA).String(), "alert_on_open": was.AlertOnOpen},
				"to":   map[string]any{"sla": time.Duration(out.SLA).String(), "alert_on_open": out.AlertOnOpen}})})
		return err
	})
	if err != nil {
		return Lane{}, fenfu.Op("ticket.SetLane", err)
	}
	return out, nil
}
