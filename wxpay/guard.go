package wxpay

import (
	"context"
	"time"

	"github.com/fenfu/fenfu"
)

// Nonces decides whether a request nonce is fresh within the replay
// window (2 × MaxClockSkew). MemoryNonces keeps them for one node;
// merchant.SharedNonces keeps them in the core store, for every node on it.
type Nonces interface {
	Use(ctx context.Context, mchid, nonce string, now time.Time) (bool, error)
}

// memoryNonces adapts a NonceCache to Nonces.
type memoryNonces struct{ c *NonceCache }

// MemoryNonces returns a per-node nonce set.
func MemoryNonces() Nonces { return memoryNonces{NewNonceCache()} }

func (m memoryNonces) Use(_ context.Context, mchid, nonce string, now time.Time) (bool, error) {
	return m.c.Use(mchid, nonce, now), nil
}

func rateLimited(mchid string) error {
	e := fenfu.Errorf(fenfu.FrequencyLimited, "merchant %s is over its request rate", mchid)
	return e
}

// failedTooOften is the answer to a source address that has spent its
// budget of failed authentications.
func failedTooOften() error {
	return fenfu.Errorf(fenfu.FrequencyLimited, "too many requests from this address failed authentication; check the signature, then retry after a pause")
}
