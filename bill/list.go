package bill

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Stored is a bill as rendered and kept: its merchant, day, kind and
// variant (the type and channel it was asked with), its size and when it
// was made.
type Stored struct {
	MchID     string    `json:"mchid"`
	Date      string    `json:"bill_date"`
	Kind      string    `json:"kind"`
	Type      string    `json:"type"`
	Channel   string    `json:"channel"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// Request is the request that downloads the stored bill.
func (b Stored) Request() Request {
	ch := b.Channel
	if ch == "all" {
		ch = ""
	}
	return Request{MchID: b.MchID, Date: b.Date, Kind: b.Kind, Type: b.Type, Channel: ch}
}

// Page sizes of List.
const (
	DefaultPage = 50
	MaxPage     = 500
)

// List returns a page of the stored bills of mchid and date (each if
// set), the newest day first, and the cursor of the next page: a range
// of the bills' index by day, or of their key by merchant.
func (s *Service) List(ctx context.Context, mchid, date string, p fenfu.Keyset) ([]Stored, string, error) {
	if date != "" {
		if d, err := time.Parse(time.DateOnly, date); err != nil || d.Format(time.DateOnly) != date {
			return nil, "", fenfu.FieldError("date", "date must be a date, YYYY-MM-DD")
		}
	}
	key, err := p.Key(4)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT mchid, bill_date, kind, variant, LENGTH(content), created_at FROM bills WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if mchid != "" {
		add("mchid = $%d", mchid)
	}
	if date != "" {
		add("bill_date = $%d", date)
	}
	if key != nil {
		args = append(args, key[0], key[1], key[2], key[3])
		n := len(args) - 3
		// The bound on the index's day, then the row after the cursor: an
		// index range however deep the page.
		q += fmt.Sprintf(` AND bill_date <= $%d AND (bill_date, mchid, kind, variant) < ($%d, $%d, $%d, $%d)`, n, n, n+1, n+2, n+3)
	}
	limit := p.Size(DefaultPage, MaxPage)
	rows, err := s.Core.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY bill_date DESC, mchid DESC, kind DESC, variant DESC LIMIT %d`, limit+1), args...)
	if err != nil {
		return nil, "", fenfu.Internal("bill.List", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (b Stored, err error) {
		var variant string
		var created int64
		err = r.Scan(&b.MchID, &b.Date, &b.Kind, &variant, &b.Size, &created)
		b.Type, b.Channel, _ = strings.Cut(variant, "/")
		b.CreatedAt = db.Time(created)
		return b, err
	})
	if err != nil {
		return nil, "", fenfu.Internal("bill.List", err)
	}
	out, next := fenfu.NextPage(out, limit, func(b Stored) []string { return []string{b.Date, b.MchID, b.Kind, b.Type + "/" + b.Channel} })
	return out, next, nil
}
