package bill

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// ExpiredBills returns up to limit merchant-days of stored bills whose
// day began before t, after the key after, in key order. A key is
// "DATE/MCHID"; At is the day's start (Asia/Shanghai). A purged bill is
// rendered again, from the rows as they then are, if it is asked for.
func ExpiredBills(ctx context.Context, d *db.DB, t time.Time, after string, limit int) ([]db.Aged, error) {
	rows, err := d.QueryContext(ctx, `SELECT DISTINCT bill_date, mchid FROM bills WHERE bill_date < $1 AND bill_date || '/' || mchid > $2
		ORDER BY bill_date, mchid LIMIT `+fmt.Sprint(limit), t.In(fenfu.Shanghai).Format(time.DateOnly), after)
	if err != nil {
		return nil, fmt.Errorf("bill: expired bills: %w", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (db.Aged, error) {
		var date, mchid string
		if err := r.Scan(&date, &mchid); err != nil {
			return db.Aged{}, err
		}
		at, err := time.ParseInLocation(time.DateOnly, date, fenfu.Shanghai)
		if err != nil {
			return db.Aged{}, fmt.Errorf("stored date %q: %w", date, err)
		}
		return db.Aged{Key: date + "/" + mchid, MchID: mchid, At: at}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("bill: expired bills: %w", err)
	}
	return out, nil
}

// PurgeBills deletes the stored bills of the merchant-days keys
// ("DATE/MCHID") in the caller's transaction and returns how many it
// deleted.
func PurgeBills(ctx context.Context, tx *db.Tx, keys []string) (int, error) {
	n := 0
	for _, k := range keys {
		date, mchid, ok := strings.Cut(k, "/")
		if !ok {
			return n, fmt.Errorf("bill: purge: %q is not DATE/MCHID", k)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM bills WHERE bill_date = $1 AND mchid = $2`, date, mchid)
		if err != nil {
			return n, fmt.Errorf("bill: purge: %w", err)
		}
		m, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += int(m)
	}
	return n, nil
}
