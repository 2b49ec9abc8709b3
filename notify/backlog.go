package notify

import (
	"context"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Waiting is the notifications waiting to be delivered as staff read
// them: how many, since when the longest has waited (pending_since, as
// PendingBacklog dates it), and a page of the same per merchant, in the
// order of the merchants' numbers; Next is the cursor of the page after
// it, "" after the last.
type Waiting struct {
	Pending   int               `json:"pending"`
	Oldest    time.Time         `json:"oldest_since,omitzero"`
	OldestAge string            `json:"oldest_age,omitempty"`
	Merchants []MerchantWaiting `json:"merchants"`
	Next      string            `json:"next,omitempty"`
}

// MerchantWaiting is one merchant's waiting notifications.
type MerchantWaiting struct {
	MchID   string    `json:"mchid"`
	Pending int       `json:"pending"`
	Oldest  time.Time `json:"oldest_since"`
}

// Page sizes of Waiting's merchants.
const (
	DefaultWaitingPage = 50
	MaxWaitingPage     = 200
)

// Waiting reads the notifications pending delivery, of mchid if set: in
// all, over the index of the pending events (PendingBacklog's statement),
// and the page p of the merchants that have any, each with its count and
// oldest, in mchid order after the cursor's merchant. Each page reads the
// index of the pending events by merchant (notify_outbox_waiting) from
// the cursor's merchant on, for the page's merchants alone; it never
// groups every merchant's backlog to sort it.
func (e *Events) Waiting(ctx context.Context, mchid string, p fenfu.Keyset) (Waiting, error) {
	w := Waiting{Merchants: []MerchantWaiting{}}
	key, err := p.Key(1)
	if err != nil {
		return w, err
	}
	b, err := backlogOf(ctx, e.DB, mchid)
	if err != nil {
		return w, fenfu.Internal("notify.Waiting", err)
	}
	w.Pending = b.Pending
	if b.Oldest > 0 {
		w.Oldest = db.Time(b.Oldest)
		w.OldestAge = e.Clock.Now().Sub(w.Oldest).Round(time.Second).String()
	}
	limit := p.Size(DefaultWaitingPage, MaxWaitingPage)
	q, args := `SELECT mchid, COUNT(*), MIN(pending_since) FROM notify_outbox WHERE due_at > 0`, []any{}
	if mchid != "" {
		args = append(args, mchid)
		q += ` AND mchid = $1`
	}
	if key != nil {
		args = append(args, key[0])
		q += ` AND mchid > $` + strconv.Itoa(len(args))
	}
	q += ` GROUP BY mchid ORDER BY mchid LIMIT ` + strconv.Itoa(limit+1)
	list, err := db.All(ctx, e.DB, func(r db.Scanner) (m MerchantWaiting, err error) {
		var at int64
		err = r.Scan(&m.MchID, &m.Pending, &at)
		m.Oldest = db.Time(at)
		return m, err
	}, q, args...)
	if err != nil {
		return w, fenfu.Internal("notify.Waiting", err)
	}
	w.Merchants, w.Next = fenfu.NextPage(list, limit, func(m MerchantWaiting) []string { return []string{m.MchID} })
	return w, nil
}
