package merchant

import (
	"context"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
)

// MaxSearch is the most merchants a search by name finds.
const MaxSearch = 200

// Search returns the mchids of the merchants whose mchid is q or whose
// name contains q (case-insensitive), at most MaxSearch of them, by
// mchid: what staff lists filter by when they search "name or mchid".
func Search(ctx context.Context, d *db.DB, q string) ([]string, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	if len(q) > 100 {
		return nil, fenfu.FieldError("q", "a search is at most 100 characters")
	}
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(q)) + "%"
	ids, err := d.Strings(ctx, `SELECT mchid FROM merchants WHERE mchid = $1 OR LOWER(name) LIKE $2 ESCAPE '\'
		ORDER BY mchid LIMIT $3`, q, like, MaxSearch)
	if err != nil {
		return nil, fenfu.Internal("merchant.Search", err)
	}
	return ids, nil
}

// Names returns the names of the merchants of mchids, by mchid; a mchid
// of no merchant is left out.
func Names(ctx context.Context, d *db.DB, mchids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(mchids) == 0 {
		return out, nil
	}
	in, args := db.In(mchids, 0)
	rows, err := d.QueryContext(ctx, `SELECT mchid, name FROM merchants WHERE mchid IN (`+in+`)`, args...)
	if err != nil {
		return nil, fenfu.Internal("merchant.Names", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fenfu.Internal("merchant.Names", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}
