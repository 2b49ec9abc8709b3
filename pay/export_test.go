package pay

import (
	"time"

	"github.com/fenfu/fenfu/db"
)

// SetAfterCreditCommit makes s run fn after a credit payment or refund
// commits in the credit store and before the core store is updated; an
// error from fn simulates the process dying there.
func SetAfterCreditCommit(s *Service, fn func(orderID string) error) { s.afterCreditCommit = fn }

// SetBeforeCapture makes s run fn after a credit payment's order is
// claimed PAYING and before the credit store is written; an error from fn
// simulates the process dying there.
func SetBeforeCapture(s *Service, fn func(orderID string) error) { s.beforeCapture = fn }

// ValidateServiceOrder is NewServiceOrder's validation at now, returning
// the end time it read.
func ValidateServiceOrder(r NewServiceOrder, now time.Time) (time.Time, error) {
	return r.validate(now)
}

// OrdersOfCodeSQL are the queries of OrdersOfCode on an engine, counting
// and listing.
func OrdersOfCodeSQL(e db.Engine) []string { return []string{countOfCode[e], ordersOfCode[e]} }

// ValidateRefund is a refund request's validation.
func ValidateRefund(r RefundRequest) error { return r.validate() }
