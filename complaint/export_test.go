package complaint

// SetCrashAfterCommit makes every act stop after its credit commit, before
// its notification and hold reach the core store, while f fails.
func (s *Service) SetCrashAfterCommit(f func() error) { s.crashAfterCommit = f }

// SetBeforeHold runs f each time a hold is about to be placed on an order.
func (s *Service) SetBeforeHold(f func()) { s.beforeHold = f }
