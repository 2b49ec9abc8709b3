package notify

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Waiting is the notifications waiting to be delivered as staff read
// them: how many, since when the longest has waited (pending_since, as
// PendingBacklog dates it), and the same per merchant, the longest
// backlogs first.
type Waiting struct {
	Pending   int               `json:"pending"`
	Oldest    time.Time         `json:"oldest_since,omitzero"`
	OldestAge string            `json:"oldest_age,omitempty"`
	Merchants []MerchantWaiting `json:"merchants"`
}

// MerchantWaiting is one merchant's waiting notifications.
type MerchantWaiting struct {
	MchID   string    `json:"mchid"`
	Pending int       `json:"pending"`
	Oldest  time.Time `json:"oldest_since"`
}

// MaxWaitingMerchants is the most merchants Waiting lists.
const MaxWaitingMerchants = 200

// Waiting reads the notifications pending delivery over the index of the
// pending events (due_at > 0), of mchid if set: in all, and per
// merchant, the MaxWaitingMerchants with the most first.
func (e *Events) Waiting(ctx context.Context, mchid string) (Waiting, error) {
	var w Waiting
	rows, err := e.DB.QueryContext(ctx, `SELECT mchid, COUNT(*), MIN(pending_since) FROM notify_outbox
		WHERE due_at > 0 AND ($1 = '' OR mchid = $1) GROUP BY mchid ORDER BY COUNT(*) DESC, mchid`, mchid)
	if err != nil {
		return w, fenfu.Internal("notify.Waiting", err)
	}
	defer rows.Close()
	w.Merchants = []MerchantWaiting{}
	for rows.Next() {
		var m MerchantWaiting
		var oldest int64
		if err := rows.Scan(&m.MchID, &m.Pending, &oldest); err != nil {
			return w, fenfu.Internal("notify.Waiting", err)
		}
		m.Oldest = db.Time(oldest)
		w.Pending += m.Pending
		if w.Oldest.IsZero() || m.Oldest.Before(w.Oldest) {
			w.Oldest = m.Oldest
		}
		if len(w.Merchants) < MaxWaitingMerchants {
			w.Merchants = append(w.Merchants, m)
		}
	}
	if err := rows.Err(); err != nil {
		return w, fenfu.Internal("notify.Waiting", err)
	}
	if !w.Oldest.IsZero() {
		w.OldestAge = e.Clock.Now().Sub(w.Oldest).Round(time.Second).String()
	}
	return w, nil
}
