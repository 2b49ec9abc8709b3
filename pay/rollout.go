package pay

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// RecordView records that a consumer saw an order at the cashier, with
// the gray-release cohort it was in, once per order and consumer.
func (s *Service) RecordView(ctx context.Context, o Order, consumerID, cohort string) error {
	_, err := s.Core.Exec(ctx, `INSERT INTO cashier_views (order_id, consumer_id, mchid, cohort, at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, o.ID, consumerID, o.MchID, cohort, db.Micros(s.Clock.Now()))
	return err
}

// CohortStats compare one cohort of a gray release.
type CohortStats struct {
	Cohort string `json:"cohort"`
	// Views counts consumers who opened an order at the cashier; Paid,
	// those of them who paid it.
	Views int `json:"views"`
	Paid  int `json:"paid"`
	// Conversion is Paid ÷ Views.
	Conversion float64 `json:"conversion"`
	// AverageTicket is the mean amount of the paid orders, in fen.
	AverageTicket fenfu.Fen `json:"average_ticket"`
	// RefundRate is refunded ÷ paid amounts.
	RefundRate float64 `json:"refund_rate"`
	// CreditShare is the share of paid orders paid on credit.
	CreditShare float64 `json:"credit_share"`
}

// ABReport compares a merchant's cohorts over cashier views in [from, to).
func (s *Service) ABReport(ctx context.Context, mchid string, from, to time.Time) ([]CohortStats, error) {
	rows, err := s.Core.QueryContext(ctx, `SELECT v.cohort, COUNT(*),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id THEN o.total ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id THEN o.refunded ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id AND o.channel = `+sqlCredit+` THEN 1 ELSE 0 END), 0)
		FROM cashier_views v JOIN orders o ON o.id = v.order_id
		WHERE v.mchid = $1 AND v.at >= $2 AND v.at < $3 GROUP BY v.cohort ORDER BY v.cohort`, mchid, db.Micros(from), db.Micros(to))
	if err != nil {
		return nil, fenfu.Internal("pay.ABReport", err)
	}
	defer rows.Close()
	out := []CohortStats{}
	for rows.Next() {
		var c CohortStats
		var amount, refunded fenfu.Fen
		var credit int
		if err := rows.Scan(&c.Cohort, &c.Views, &c.Paid, &amount, &refunded, &credit); err != nil {
			return nil, fenfu.Internal("pay.ABReport", err)
		}
		if c.Views > 0 {
			c.Conversion = float64(c.Paid) / float64(c.Views)
		}
		if c.Paid > 0 {
			c.AverageTicket = amount / fenfu.Fen(c.Paid)
			c.CreditShare = float64(credit) / float64(c.Paid)
		}
		if amount > 0 {
			c.RefundRate = float64(refunded) / float64(amount)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
