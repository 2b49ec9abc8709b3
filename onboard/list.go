package onboard

import (
	"context"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/merchant"
)

// Filter selects applications for staff: those in State (InReview when
// empty), of Industry if set, submitted in [From, To) where set, of the
// merchants whose name or mchid matches Search if set; a Page of them,
// oldest submission first.
type Filter struct {
	State    State
	Industry string
	From, To time.Time
	Search   string
	fenfu.Keyset
}

// Listed is an application in a list: the record with its merchant's
// name.
type Listed struct {
	Record
	MerchantName string    `json:"merchant_name"`
	SubmittedAt  time.Time `json:"submitted_at"`
}

// Page sizes of List.
const (
	DefaultPage = 50
	MaxPage     = 200
)

// List returns a page of the applications f selects, and the cursor of
// the next page ("" after the last). It reads the index of applications
// by state and submission.
func (s *Service) List(ctx context.Context, f Filter) ([]Listed, string, error) {
	if f.State == "" {
		f.State = InReview
	}
	if _, err := ParseState(string(f.State)); err != nil {
		return nil, "", err
	}
	if len(f.Industry) > 64 {
		return nil, "", fenfu.FieldError("industry", "an industry is at most 64 characters")
	}
	key, err := f.Key(2)
	if err != nil {
		return nil, "", err
	}
	limit := f.Size(DefaultPage, MaxPage)
	q := `SELECT id, submitted_at FROM applications WHERE state = $1`
	args := []any{string(f.State)}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Industry != "" {
		q += ` AND industry = ` + arg(f.Industry)
	}
	if !f.From.IsZero() {
		q += ` AND submitted_at >= ` + arg(db.Micros(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND submitted_at < ` + arg(db.Micros(f.To))
	}
	if f.Search != "" {
		ids, err := merchant.Search(ctx, s.DB, f.Search)
		if err != nil {
			return nil, "", err
		}
		if len(ids) == 0 {
			return []Listed{}, "", nil
		}
		in, more := db.In(ids, len(args))
		q += ` AND mchid IN (` + in + `)`
		args = append(args, more...)
	}
	if key != nil {
		at, err := f.Int(key[0])
		if err != nil {
			return nil, "", err
		}
		a, b := arg(at), arg(key[1])
		// The bound on the index's column, then the row after the cursor:
		// an index range however deep the page, where an OR of the two
		// would scan the index from its start.
		q += ` AND submitted_at >= ` + a + ` AND (submitted_at, id) > (` + a + `, ` + b + `)`
	}
	q += ` ORDER BY submitted_at, id LIMIT ` + arg(limit+1)
	type row struct {
		id string
		at int64
	}
	found, err := db.All(ctx, s.DB, func(sc db.Scanner) (r row, err error) {
		err = sc.Scan(&r.id, &r.at)
		return r, err
	}, q, args...)
	if err != nil {
		return nil, "", fenfu.Internal("onboard.List", err)
	}
	found, next := fenfu.NextPage(found, limit, func(r row) []string { return []string{strconv.FormatInt(r.at, 10), r.id} })
	out := make([]Listed, 0, len(found))
	var mchids []string
	for _, r := range found {
		rec, err := s.Get(ctx, r.id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, Listed{Record: rec, SubmittedAt: rec.Application.SubmittedAt})
		mchids = append(mchids, rec.MchID)
	}
	names, err := merchant.Names(ctx, s.DB, mchids)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].MerchantName = names[out[i].MchID]
	}
	return out, next, nil
}
