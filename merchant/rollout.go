package merchant

import (
	"context"
	"crypto/sha256"
	"encoding/binary"

	"github.com/fenfu/fenfu"
)

// Cohorts of a gray release.
const (
	CohortCredit  = "credit"  // offered credit pay
	CohortControl = "control" // not offered it yet
)

// Bucket returns a consumer's bucket, 0 to 99, for a merchant: a hash of
// both, so a consumer stays in one cohort at a merchant while the rollout
// grows, and cohorts at different merchants are independent.
func Bucket(mchid, consumerID string) int {
	sum := sha256.Sum256([]byte("fenfu rollout|" + mchid + "|" + consumerID))
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// Cohort returns the consumer's cohort at the merchant.
func (m Merchant) Cohort(consumerID string) string {
	if Bucket(m.MchID, consumerID) < m.CreditRollout {
		return CohortCredit
	}
	return CohortControl
}

// SetRollout sets the percentage of a merchant's consumers offered credit
// pay (0 to 100).
func (s *Service) SetRollout(ctx context.Context, mchid string, percent int) error {
	if percent < 0 || percent > 100 {
		return fenfu.FieldError("percent", "the rollout is a percentage from 0 to 100")
	}
	return s.update(ctx, mchid, `credit_rollout = $1`, percent)
}
