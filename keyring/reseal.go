package keyring

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/seal"
)

// Columns are the keyring's own sealed columns.
func Columns() []seal.Column {
	return []seal.Column{
		{Table: "platform_keys", Key: "key_id", Value: "private_key", Context: keyContext},
		{Table: "platform_secrets", Key: "name", Value: "value", Context: secretContext},
	}
}

// resealBatch is how many rows Reseal and Status read at a time.
const resealBatch = 500

// scan calls fn with every row of a column that holds a sealed value, a
// batch at a time in key order.
func scan(ctx context.Context, store *db.DB, c seal.Column, fn func(keys, values []string) error) error {
	q := fmt.Sprintf(`SELECT %[1]s, %[2]s FROM %[3]s WHERE %[1]s > $1 AND %[2]s LIKE $2 ORDER BY %[1]s LIMIT %[4]d`,
		c.Key, c.Value, c.Table, resealBatch)
	like := "sm4env%"
	if c.Fields != nil {
		like = "%sm4env%"
	}
	for last := ""; ; {
		rows, err := store.QueryContext(ctx, q, last, like)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name(), err)
		}
		var keys, values []string
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				rows.Close()
				return fmt.Errorf("%s: %w", c.Name(), err)
			}
			keys, values = append(keys, k), append(values, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("%s: %w", c.Name(), err)
		}
		if len(keys) == 0 {
			return nil
		}
		if err := fn(keys, values); err != nil {
			return err
		}
		last = keys[len(keys)-1]
	}
}

// Count is how many sealed values of a column each master wraps, by
// master ID; a value no master of the node opens whose envelope does not
// name its master is counted under "unknown".
type Count struct {
	Column  string         `json:"column"`
	Masters map[string]int `json:"masters"`
}

// Status counts the sealed values of each column by the master that
// wraps them.
func Status(ctx context.Context, store *db.DB, sealer *seal.Sealer, cols []seal.Column) ([]Count, error) {
	var out []Count
	for _, c := range cols {
		n := Count{Column: c.Name(), Masters: map[string]int{}}
		err := scan(ctx, store, c, func(keys, values []string) error {
			for k, key := range keys {
				sealed, contexts := c.Envelopes(key, values[k])
				for i, v := range sealed {
					id, err := seal.MasterOf(v)
					if err == nil && id == "" {
						id, err = sealer.WrappedBy(v, contexts[i])
					}
					if err != nil {
						id = "unknown"
					}
					n.Masters[id]++
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Resealed is what Reseal did to a column: how many rows it read and how
// many it re-wrapped.
type Resealed struct {
	Column    string `json:"column"`
	Rows      int    `json:"rows"`
	Rewrapped int    `json:"rewrapped"`
}

// Reseal wraps the data key of every sealed value of the columns again
// under the sealer's current master; the data stays encrypted as it is.
// It works a batch at a time, each in one transaction, and updates a row
// only if it still holds what was read (reading it again if not), so it
// runs safely beside payments and on two nodes at once, and a rerun
// continues where a stopped one left off: values already under the
// current master are left alone. progress, if not nil, is told of each
// column done.
func Reseal(ctx context.Context, store *db.DB, sealer *seal.Sealer, cols []seal.Column, progress func(Resealed)) ([]Resealed, error) {
	var out []Resealed
	for _, c := range cols {
		r := Resealed{Column: c.Name()}
		update := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %[2]s = $3`, c.Table, c.Value, c.Key)
		err := scan(ctx, store, c, func(keys, values []string) error {
			r.Rows += len(keys)
			// The batch's values rewrapped, then written in one
			// transaction, each only if the row still holds what was read.
			var ks, olds, news []string
			for i, key := range keys {
				next, err := rewrap(sealer, c, key, values[i])
				if err != nil {
					return err
				}
				if next != values[i] {
					ks, olds, news = append(ks, key), append(olds, values[i]), append(news, next)
				}
			}
			var changed []int // rows changed since they were read
			err := store.Update(ctx, func(tx *db.Tx) error {
				changed = changed[:0]
				for i := range ks {
					res, err := tx.ExecContext(ctx, update, news[i], ks[i], olds[i])
					if err != nil {
						return fmt.Errorf("%s %s: %w", c.Name(), ks[i], err)
					}
					if n, _ := res.RowsAffected(); n == 0 {
						changed = append(changed, i)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			r.Rewrapped += len(ks) - len(changed)
			for _, i := range changed {
				n, err := resealRow(ctx, store, sealer, c, ks[i], update)
				if err != nil {
					return err
				}
				r.Rewrapped += n
			}
			return nil
		})
		if err != nil {
			return out, err
		}
		if progress != nil {
			progress(r)
		}
		out = append(out, r)
	}
	return out, nil
}

// resealRow rewraps one row that changed since it was read, reading it
// again until it holds still, and reports whether it rewrapped it.
func resealRow(ctx context.Context, store *db.DB, sealer *seal.Sealer, c seal.Column, key, update string) (int, error) {
	reread := fmt.Sprintf(`SELECT %s FROM %s WHERE %s = $1`, c.Value, c.Table, c.Key)
	for range 5 {
		var value string
		if err := store.QueryRowContext(ctx, reread, key).Scan(&value); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return 0, nil // deleted meanwhile
			}
			return 0, fmt.Errorf("%s %s: %w", c.Name(), key, err)
		}
		next, err := rewrap(sealer, c, key, value)
		if err != nil || next == value {
			return 0, err
		}
		res, err := store.Exec(ctx, update, next, key, value)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", c.Name(), key, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return 1, nil
		}
	}
	return 0, fmt.Errorf("%s %s: the row keeps changing; run fenfu keys reseal again", c.Name(), key)
}

// rewrap returns a row's value with each envelope in it rewrapped under
// the current master.
func rewrap(sealer *seal.Sealer, c seal.Column, key, value string) (string, error) {
	sealed, contexts := c.Envelopes(key, value)
	for i, v := range sealed {
		re, changed, err := sealer.Rewrap(v, contexts[i])
		if err != nil {
			id, _ := seal.MasterOf(v)
			return "", fmt.Errorf("%s %s: the value (master %q) does not open with this node's master keys: %w; "+
				"give the old master as --previous-master-key-file or FENFU_PREVIOUS_MASTER_KEY", c.Name(), key, id, err)
		}
		if changed {
			value = strings.Replace(value, v, re, 1)
		}
	}
	return value, nil
}
