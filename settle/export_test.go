package settle

// SetAfterMerchant makes s run fn after each merchant's settlement is
// recorded and before it is posted; an error from fn crashes the batch
// there.
func SetAfterMerchant(s *Service, fn func(mchid string) error) { s.afterMerchant = fn }
