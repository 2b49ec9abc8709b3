package consumer

import (
	"context"
	"fmt"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
)

// Funded is a consumer to load with an opening balance. It has no phone.
type Funded struct {
	ID      string
	Balance fenfu.Fen
}

// LoadFunded writes consumers in the caller's core transaction as Create
// would, without a phone or PIN (they cannot log in), each with its balance account
// opened and its opening balance posted as a top-up. It loads generated
// stores for the benchmarks; their credit lines are credit.Open's.
func LoadFunded(ctx context.Context, tx *db.Tx, cs []Funded) error {
	var txns []ledger.Txn
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO consumers (id, phone, pin_hash, created_at) VALUES ($1, '', '', $2)`,
			c.ID, db.Micros(tx.Now)); err != nil {
			return fmt.Errorf("consumer: load %s: %w", c.ID, err)
		}
		if err := ledger.Open(ctx, tx, BalanceAccount(c.ID)); err != nil {
			return err
		}
		if c.Balance > 0 {
			txns = append(txns, topUpTxn(c.ID, "open:"+c.ID, c.Balance))
		}
	}
	return ledger.PostMany(ctx, tx, txns)
}
