package consumer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// phoneHashKind is the blind-index kind of a phone number's SHA-256.
const phoneHashKind = "consumers.phone_sha256"

// PhoneHash is how a merchant names a consumer by phone to the exposure
// API (phone_number_hash): the lowercase hex SHA-256 of the 11-digit
// phone number.
func PhoneHash(phone string) string {
	h := sha256.Sum256([]byte(phone))
	return hex.EncodeToString(h[:])
}

// phoneHashIndex is the keyed index of a phone hash the store keeps: its
// blind index under the sealed index key, never the bare hash; nil
// (NULL) without a Sealer.
func (s *Service) phoneHashIndex(hash string) any {
	if s.Sealer == nil {
		return nil
	}
	return s.Sealer.Index(phoneHashKind, hash)
}

// ByPhoneHash returns the id of the consumer whose phone hashes to hash
// (PhoneHash), "" if none.
func (s *Service) ByPhoneHash(ctx context.Context, hash string) (string, error) {
	idx := s.phoneHashIndex(hash)
	if idx == nil {
		return "", nil
	}
	var id string
	err := s.Core.QueryRowContext(ctx, `SELECT id FROM consumers WHERE phone_hash_index = $1 LIMIT 1`, idx).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("consumer: by phone hash: %w", err)
	}
	return id, nil
}

// BackfillPhoneHashes sets the keyed phone-hash index of the consumers
// made before it was kept, opening their sealed phones. It returns how
// many it set.
func (s *Service) BackfillPhoneHashes(ctx context.Context) (int, error) {
	if s.Sealer == nil {
		return 0, nil
	}
	n := 0
	for last := ""; ; {
		rows, err := s.Core.QueryContext(ctx, `SELECT id, phone FROM consumers WHERE phone_hash_index IS NULL AND phone <> '' AND id > $1
			ORDER BY id LIMIT 500`, last)
		if err != nil {
			return n, fmt.Errorf("consumer: backfill phone hashes: %w", err)
		}
		var ids, phones []string
		for rows.Next() {
			var id, phone string
			if err := rows.Scan(&id, &phone); err != nil {
				rows.Close()
				return n, fmt.Errorf("consumer: backfill phone hashes: %w", err)
			}
			ids, phones = append(ids, id), append(phones, phone)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return n, err
		}
		for i, id := range ids {
			phone, err := s.openPhone(id, phones[i])
			if err != nil {
				return n, fmt.Errorf("consumer: backfill phone hashes %s: %w", id, err)
			}
			if _, err := s.Core.Exec(ctx, `UPDATE consumers SET phone_hash_index = $1 WHERE id = $2 AND phone_hash_index IS NULL AND phone <> ''`,
				s.phoneHashIndex(PhoneHash(phone)), id); err != nil {
				return n, fmt.Errorf("consumer: backfill phone hashes %s: %w", id, err)
			}
			n++
		}
		last = ids[len(ids)-1]
	}
}
