package pay

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Surfaces an exposure of the payment channels is made on.
const (
	SurfaceCashier      = "cashier"          // fenfu's cashier page (or its JSON)
	SurfaceInstalAPI    = "instal_api"       // POST /v3/pay/instal/exposure
	SurfaceTransactions = "transactions_api" // POST /v3/pay/transactions/exposure
)

// Exposure is one showing of the payment channels to a consumer, or one
// answer to a merchant asking whether to show credit pay: what was decided
// for credit, the display reason that decided it and the rule-set version.
type Exposure struct {
	ID         string    `json:"id"`
	Surface    string    `json:"surface"`
	MchID      string    `json:"mchid"`
	OrderID    string    `json:"order_id,omitempty"`
	ConsumerID string    `json:"consumer_id,omitempty"`
	Cohort     string    `json:"cohort,omitempty"`
	Shown      bool      `json:"credit_shown"`
	First      bool      `json:"credit_first"`
	Usable     bool      `json:"credit_usable"`
	Reason     string    `json:"reason"`
	Version    int       `json:"version"`
	At         time.Time `json:"at"`
}

// RecordExposure records an exposure, giving it an id and its time when it
// has none, and returns it; an exposure whose id is recorded already is
// not recorded again.
func (s *Service) RecordExposure(ctx context.Context, x Exposure) (Exposure, error) {
	if x.At.IsZero() {
		x.At = s.Clock.Now()
	}
	if x.ID == "" {
		x.ID = "EX" + s.IDs.New(fenfu.AttemptID, x.At)
	}
	_, err := s.Core.Exec(ctx, `INSERT INTO exposures (id, surface, mchid, order_id, consumer_id, cohort, credit_shown, credit_first,
		credit_usable, reason, version, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
		x.ID, x.Surface, x.MchID, x.OrderID, x.ConsumerID, x.Cohort, db.Flag(x.Shown), db.Flag(x.First), db.Flag(x.Usable),
		x.Reason, x.Version, db.Micros(x.At))
	if err != nil {
		return x, fenfu.Internal("pay.RecordExposure", err)
	}
	return x, nil
}

// PaidSince reports whether the consumer has an order paid at or after t
// and not reversed: a code payment the merchant reversed (撤销) is void,
// refunded in full and answers REVOKED, so it is no transaction of the
// consumer. orders_consumer_paid finds the day's paid orders; reversed_at
// is read of those rows only.
func (s *Service) PaidSince(ctx context.Context, consumerID string, t time.Time) (bool, error) {
	var n int
	err := s.Core.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE consumer_id = $1 AND paid_at >= $2 AND paid_at > 0
		AND reversed_at = 0 LIMIT 1) x`, consumerID, db.Micros(t)).Scan(&n)
	if err != nil {
		return false, fenfu.Internal("pay.PaidSince", err)
	}
	return n > 0, nil
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

// cashierViews are the cashier exposures of a merchant in [$2, $3) to a
// known consumer, once per order and consumer, with the cohort of the
// first.
const cashierViews = `(SELECT order_id, consumer_id, MIN(cohort) AS cohort FROM exposures
	WHERE mchid = $1 AND at >= $2 AND at < $3 AND surface = '` + SurfaceCashier + `' AND consumer_id <> '' AND order_id <> ''
	GROUP BY order_id, consumer_id)`

// ABReport compares a merchant's cohorts over cashier views in [from, to).
func (s *Service) ABReport(ctx context.Context, mchid string, from, to time.Time) ([]CohortStats, error) {
	rows, err := s.Core.QueryContext(ctx, `SELECT v.cohort, COUNT(*),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id THEN o.total ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id THEN o.refunded ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN o.state IN `+paidStates+` AND o.consumer_id = v.consumer_id AND o.channel = `+sqlCredit+` THEN 1 ELSE 0 END), 0)
		FROM `+cashierViews+` v JOIN orders o ON o.id = v.order_id
		GROUP BY v.cohort ORDER BY v.cohort`, mchid, db.Micros(from), db.Micros(to))
	if err != nil {
		return nil, fenfu.Internal("pay.ABReport", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (c CohortStats, err error) {
		var amount, refunded fenfu.Fen
		var credit int
		if err := r.Scan(&c.Cohort, &c.Views, &c.Paid, &amount, &refunded, &credit); err != nil {
			return c, err
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
		return c, nil
	})
	if err != nil {
		return nil, fenfu.Internal("pay.ABReport", err)
	}
	return out, nil
}

// FunnelStep is the exposure → conversion funnel of one display reason:
// how many exposures the reason decided, how many of their orders were
// then paid by the consumer shown them, and how many of those on credit.
// An exposure without an order (the instal exposure API) counts as
// exposed only.
type FunnelStep struct {
	Reason       string `json:"reason"`
	Exposures    int    `json:"exposures"`
	CreditShown  int    `json:"credit_shown"`
	Paid         int    `json:"paid"`
	PaidOnCredit int    `json:"paid_on_credit"`
}

// Funnel counts a merchant's exposures in [from, to) by the reason that
// decided credit, and their conversions: a paid order counts once per
// reason however often, and to however many consumers (anonymous, then
// logged in), it was shown.
func (s *Service) Funnel(ctx context.Context, mchid string, from, to time.Time) ([]FunnelStep, error) {
	// x: the exposures of one reason, order and consumer; y: of one reason
	// and order, paid if any consumer shown it (or the anonymous view)
	// paid it, so an order shown before and after login counts once.
	rows, err := s.Core.QueryContext(ctx, `SELECT y.reason, SUM(y.n), SUM(y.shown), SUM(y.paid), SUM(y.credit) FROM (
		SELECT x.reason, x.order_id, SUM(x.n) AS n, SUM(x.shown) AS shown,
			MAX(CASE WHEN o.state IN `+paidStates+` AND (x.consumer_id = '' OR o.consumer_id = x.consumer_id) THEN 1 ELSE 0 END) AS paid,
			MAX(CASE WHEN o.state IN `+paidStates+` AND (x.consumer_id = '' OR o.consumer_id = x.consumer_id) AND o.channel = `+sqlCredit+` THEN 1 ELSE 0 END) AS credit
		FROM (SELECT reason, order_id, consumer_id, COUNT(*) AS n, MAX(credit_shown) AS shown FROM exposures
			WHERE mchid = $1 AND at >= $2 AND at < $3 GROUP BY reason, order_id, consumer_id) x
		LEFT JOIN orders o ON o.id = x.order_id AND x.order_id <> ''
		GROUP BY x.reason, x.order_id) y
		GROUP BY y.reason ORDER BY y.reason`, mchid, db.Micros(from), db.Micros(to))
	if err != nil {
		return nil, fenfu.Internal("pay.Funnel", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (f FunnelStep, err error) {
		err = r.Scan(&f.Reason, &f.Exposures, &f.CreditShown, &f.Paid, &f.PaidOnCredit)
		return f, err
	})
	if err != nil {
		return nil, fenfu.Internal("pay.Funnel", err)
	}
	return out, nil
}

// ConsumerByOpenID returns the consumer a merchant knows by openid: the
// payer of one of its paid orders under appid ("" if none).
func (s *Service) ConsumerByOpenID(ctx context.Context, mchid, appid, openid string) (string, error) {
	var id string
	err := s.Core.QueryRowContext(ctx, `SELECT consumer_id FROM orders WHERE payer_openid = $1 AND mchid = $2 AND appid = $3 AND paid_at > 0
		LIMIT 1`, openid, mchid, appid).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fenfu.Internal("pay.ConsumerByOpenID", err)
	}
	return id, nil
}

// PaidAt reports whether the consumer has paid an order of merchant
// mchid (orders_consumer_paid answers it from the index).
func (s *Service) PaidAt(ctx context.Context, mchid, consumerID string) (bool, error) {
	var n int
	err := s.Core.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE consumer_id = $1 AND paid_at > 0 AND mchid = $2
		LIMIT 1) x`, consumerID, mchid).Scan(&n)
	if err != nil {
		return false, fenfu.Internal("pay.PaidAt", err)
	}
	return n > 0, nil
}

// FunnelReport is a merchant's funnel over Asia/Shanghai days.
type FunnelReport struct {
	MchID     string       `json:"mchid"`
	BeginDate string       `json:"begin_date"`
	EndDate   string       `json:"end_date"`
	Reasons   []FunnelStep `json:"reasons"`
}

// FunnelDays is Funnel over the Asia/Shanghai days begin to end, both
// included, given as YYYY-MM-DD: by default the 7 days to today, at most
// 92 days.
func (s *Service) FunnelDays(ctx context.Context, mchid, begin, end string) (FunnelReport, error) {
	last := fenfu.DayStart(s.Clock.Now())
	first := last.AddDate(0, 0, -6)
	for _, d := range []struct {
		field, value string
		to           *time.Time
	}{{"begin_date", begin, &first}, {"end_date", end, &last}} {
		if d.value == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.value, fenfu.Shanghai)
		if err != nil {
			return FunnelReport{}, fenfu.FieldError(d.field, "%s is a date like 2026-11-27", d.field)
		}
		*d.to = t
	}
	if last.Before(first) || last.Sub(first) > 92*24*time.Hour {
		return FunnelReport{}, fenfu.FieldError("end_date", "end_date must be on or after begin_date, and at most 92 days later")
	}
	steps, err := s.Funnel(ctx, mchid, first, last.AddDate(0, 0, 1))
	return FunnelReport{MchID: mchid, BeginDate: first.Format(time.DateOnly), EndDate: last.Format(time.DateOnly), Reasons: steps}, err
}
