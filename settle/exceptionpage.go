package settle

import (
	"context"
	"strconv"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// Page sizes of ExceptionsPage.
const (
	DefaultExceptionPage = 50
	MaxExceptionPage     = 200
)

// ExceptionsPage returns the page p of a merchant's exception requests,
// newest first, each with its ticket's status and SLA, and the cursor of
// the next page ("" after the last): a range of the index of the
// merchant's requests by (created_at, id), as fast on the thousandth page
// as on the first (see fenfu.Keyset).
func (s *Service) ExceptionsPage(ctx context.Context, mchid string, p fenfu.Keyset) ([]Exception, string, error) {
	if mchid == "" {
		return nil, "", fenfu.FieldError("mchid", "a merchant's exception requests need its mchid")
	}
	key, err := p.Key(2)
	if err != nil {
		return nil, "", err
	}
	q, args := `SELECT `+exceptionCols+` FROM settlement_exceptions WHERE mchid = $1`, []any{mchid}
	if key != nil {
		at, err := p.Int(key[0])
		if err != nil {
			return nil, "", err
		}
		// The bound on the index's time, then the request after the
		// cursor's.
		q += ` AND created_at <= $2 AND (created_at, id) < ($2, $3)`
		args = append(args, at, key[1])
	}
	limit := p.Size(DefaultExceptionPage, MaxExceptionPage)
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(limit+1)
	out, err := db.All(ctx, s.Core, s.scanException, q, args...)
	if err != nil {
		return nil, "", fenfu.Internal("settle.ExceptionsPage", err)
	}
	out, next := fenfu.NextPage(out, limit, func(x Exception) []string {
		return []string{strconv.FormatInt(db.Micros(x.CreatedAt), 10), x.ID}
	})
	if len(out) > 0 {
		if err := s.withTickets(ctx, out); err != nil {
			return nil, "", fenfu.Op("settle.ExceptionsPage", err)
		}
	}
	return out, next, nil
}
