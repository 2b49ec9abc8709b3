package consumer

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/login"
)

// Remembered returns those of ids that are consumers not forgotten yet,
// in the order given.
func (s *Service) Remembered(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ph, args := db.In(ids, 0)
	got, err := s.Core.Strings(ctx, `SELECT id FROM consumers WHERE forgotten_at = 0 AND id IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("consumer: remembered: %w", err)
	}
	have := map[string]bool{}
	for _, id := range got {
		have[id] = true
	}
	var out []string
	for _, id := range ids {
		if have[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// Forget removes what identifies the consumers ids as persons, in the
// caller's transaction: the sealed phone and its blind index, the PIN
// hash (so no one logs in as them again), their sessions and their
// phones' wrong-login counts. The id stays, as the opaque key their
// postings and orders name. A consumer forgotten already is left alone;
// it returns how many it forgot.
func Forget(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ph, args := db.In(ids, 0)
	subjects, err := db.All(ctx, tx, func(r db.Scanner) (string, error) {
		var index string
		err := r.Scan(&index)
		return "phone:" + index, err
	}, `SELECT phone_index FROM consumers WHERE forgotten_at = 0 AND phone_index IS NOT NULL AND id IN (`+ph+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("consumer: forget: %w", err)
	}
	if err := login.Forget(ctx, tx, subjects); err != nil {
		return 0, fmt.Errorf("consumer: forget: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM consumer_sessions WHERE consumer_id IN (`+ph+`)`, args...); err != nil {
		return 0, fmt.Errorf("consumer: forget: %w", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE consumers SET phone = '', phone_index = NULL, phone_hash_index = NULL, pin_hash = '', forgotten_at = $`+fmt.Sprint(len(ids)+1)+`
		WHERE forgotten_at = 0 AND id IN (`+ph+`)`, append(args, db.Micros(tx.Now))...)
	if err != nil {
		return 0, fmt.Errorf("consumer: forget: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
