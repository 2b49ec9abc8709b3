package settle

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// Made is a settlement as the merchant's fund flow sees it: when it was
// made, and the net it moved.
type Made struct {
	ID      string
	At      int64 // microseconds
	Channel pay.Channel
	Net     fenfu.Fen
}

// MadeBetween lists the merchant's settlements of a channel (or both, with
// "") made in [from, to), in time order.
func MadeBetween(ctx context.Context, core *db.DB, mchid string, channel pay.Channel, from, to time.Time) ([]Made, error) {
	q := `SELECT id, created_at, channel, net FROM settlements WHERE mchid = $1 AND created_at >= $2 AND created_at < $3`
	args := []any{mchid, db.Micros(from), db.Micros(to)}
	if channel != "" {
		q += ` AND channel = $4`
		args = append(args, string(channel))
	}
	rows, err := core.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	return db.Collect(rows, func(r db.Scanner) (m Made, err error) {
		err = r.Scan(&m.ID, &m.At, &m.Channel, &m.Net)
		return m, err
	})
}

// NetBefore is what the merchant's settlements of a channel (or both, with
// "") made before at moved into its settlement account.
func NetBefore(ctx context.Context, core *db.DB, mchid string, channel pay.Channel, at time.Time) (fenfu.Fen, error) {
	q := `SELECT COALESCE(SUM(net), 0) FROM settlements WHERE mchid = $1 AND created_at < $2`
	args := []any{mchid, db.Micros(at)}
	if channel != "" {
		q += ` AND channel = $3`
		args = append(args, string(channel))
	}
	var net fenfu.Fen
	err := core.QueryRowContext(ctx, q, args...).Scan(&net)
	return net, err
}
