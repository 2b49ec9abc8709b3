package consumer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/login"
)

// A session is a consumer's login on the cashier, kept in the store so
// that any node can check it and logging out ends it everywhere. Its
// token is a random secret the cashier puts in a cookie; the store keeps
// only the token's hash, so reading the table does not give one.

// StartSession records a new session of a consumer that lasts ttl and
// returns its token.
func (s *Service) StartSession(ctx context.Context, consumerID string, ttl time.Duration) (string, error) {
	token := rand.Text()
	now := s.Clock.Now()
	if _, err := s.Core.Exec(ctx, `INSERT INTO consumer_sessions (token_hash, consumer_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
		login.TokenHash(token), consumerID, db.Micros(now.Add(ttl)), db.Micros(now)); err != nil {
		return "", fenfu.Internal("consumer.StartSession", err)
	}
	return token, nil
}

// Session returns the consumer of a session that has neither ended nor
// expired, or "" for any other token.
func (s *Service) Session(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	var id string
	err := s.Core.QueryRowContext(ctx, `SELECT consumer_id FROM consumer_sessions WHERE token_hash = $1 AND expires_at > $2`,
		login.TokenHash(token), db.Micros(s.Clock.Now())).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fenfu.Internal("consumer.Session", err)
	}
	return id, nil
}

// EndSession ends a session on every node. Ending one that has already
// ended is not an error.
func (s *Service) EndSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if _, err := s.Core.Exec(ctx, `DELETE FROM consumer_sessions WHERE token_hash = $1`, login.TokenHash(token)); err != nil {
		return fenfu.Internal("consumer.EndSession", err)
	}
	return nil
}
