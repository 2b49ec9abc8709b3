package repay

// SetHooksForTest makes the repayment fail before or after the credit
// store's commit, as if the process died there.
func (s *Service) SetHooksForTest(before, after func(id string) error) {
	s.beforeCredit, s.afterCredit = before, after
}
