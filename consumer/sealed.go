package consumer

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu/seal"
)

// phoneKind names consumers' phones to the blind index and the sealer.
const phoneKind = "consumers.phone"

func phoneContext(id string) string { return phoneKind + ":" + id }

// Columns are the consumers' sealed columns: their phones.
func Columns() []seal.Column {
	return []seal.Column{{Table: "consumers", Key: "id", Value: "phone", Context: phoneContext}}
}

// phoneIndex returns the blind index login finds a phone by.
func (s *Service) phoneIndex(phone string) string {
	if s.Sealer == nil {
		return phone
	}
	return s.Sealer.Index(phoneKind, phone)
}

// sealPhone seals a consumer's phone for its row.
func (s *Service) sealPhone(id, phone string) (string, error) {
	if s.Sealer == nil || phone == "" {
		return phone, nil
	}
	return s.Sealer.Seal(phone, phoneContext(id))
}

// openPhone opens a stored phone. One not sealed yet (the backfill has
// not reached it) is returned as it is.
func (s *Service) openPhone(id, stored string) (string, error) {
	if !seal.Sealed(stored) {
		return stored, nil
	}
	if s.Sealer == nil {
		return "", fmt.Errorf("consumer %s: the phone is sealed and no sealer is configured", id)
	}
	pt, err := s.Sealer.Open(stored, phoneContext(id))
	if err != nil {
		return "", fmt.Errorf("consumer %s: phone: %w (is this node's master.key the one the store was written with?)", id, err)
	}
	return pt, nil
}

// Backfill seals the phones stored in clear before phones were sealed
// (migration 0018 left them with no blind index) and reports how many it
// sealed. Every command runs it at start. It works 500 rows at a time in
// id order and changes a row only if its phone is still the one it read,
// so it resumes where a stopped run left off and two nodes running it at
// once seal each row once.
func (s *Service) Backfill(ctx context.Context) (int, error) {
	if s.Sealer == nil {
		return 0, nil
	}
	n := 0
	for last := ""; ; {
		rows, err := s.Core.QueryContext(ctx, `SELECT id, phone FROM consumers WHERE phone_index IS NULL AND phone <> '' AND id > $1
			ORDER BY id LIMIT 500`, last)
		if err != nil {
			return n, fmt.Errorf("consumer: backfill: %w", err)
		}
		var ids, phones []string
		for rows.Next() {
			var id, phone string
			if err := rows.Scan(&id, &phone); err != nil {
				rows.Close()
				return n, fmt.Errorf("consumer: backfill: %w", err)
			}
			ids, phones = append(ids, id), append(phones, phone)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, fmt.Errorf("consumer: backfill: %w", err)
		}
		if len(ids) == 0 {
			return n, nil
		}
		for i, id := range ids {
			if seal.Sealed(phones[i]) {
				continue
			}
			sealed, err := s.sealPhone(id, phones[i])
			if err != nil {
				return n, fmt.Errorf("consumer: backfill: %w", err)
			}
			res, err := s.Core.Exec(ctx, `UPDATE consumers SET phone = $1, phone_index = $2 WHERE id = $3 AND phone = $4 AND phone_index IS NULL`,
				sealed, s.phoneIndex(phones[i]), id, phones[i])
			if err != nil {
				return n, fmt.Errorf("consumer: backfill %s: %w", id, err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				n++
			}
		}
		last = ids[len(ids)-1]
	}
}
