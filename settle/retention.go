package settle

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// Disputes returns, for each of the orders a settlement exception request
// named (by its merchant and out_trade_no), when its last request was
// resolved or rejected, or the zero time while one is still open: as a
// complaint does, a request keeps the order's details for the dispute's
// period after it closes.
func (s *Service) Disputes(ctx context.Context, orders []pay.Expired) (pay.Disputes, error) {
	out := pay.Disputes{}
	if len(orders) == 0 {
		return out, nil
	}
	byRef := map[[2]string]string{}
	nos := make([]string, 0, len(orders))
	for _, o := range orders {
		byRef[[2]string{o.MchID, o.OutTradeNo}] = o.ID
		nos = append(nos, o.OutTradeNo)
	}
	ph, args := db.In(nos, 0)
	rows, err := s.Core.QueryContext(ctx, `SELECT mchid, out_trade_no, status, resolved_at FROM settlement_exceptions
		WHERE out_trade_no IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("settle: disputes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mchid, no, status string
		var resolved int64
		if err := rows.Scan(&mchid, &no, &status, &resolved); err != nil {
			return nil, fmt.Errorf("settle: disputes: %w", err)
		}
		if id, ok := byRef[[2]string{mchid, no}]; ok {
			out.Add(id, status == ExceptionOpen, db.Time(resolved))
		}
	}
	return out, rows.Err()
}
