package onboard

import (
	"context"
	"errors"
	"fmt"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
	"github.com/fenfu/fenfu/merchant"
)

// DepositAccount is the ledger account holding a merchant's risk deposit.
func DepositAccount(mchid string) ledger.Account {
	return ledger.AccountOf(ledger.MerchantDeposit, mchid)
}

var depositSource = ledger.AccountOf(ledger.PlatformFunding, "deposits")

// PayDeposit records that an approved merchant paid its risk deposit (the
// amount its industry's policy sets), posting it to the ledger in the
// same transaction as the state change. ref identifies the payment (a
// bank transfer's reference) and makes the call idempotent.
func (s *Service) PayDeposit(ctx context.Context, id, ref, actor string) (Record, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return r, err
	}
	rule, ok := s.Policy.Industries[r.Application.Industry]
	if !ok {
		return r, fenfu.Errorf(fenfu.InvalidRequest, "industry %q has no deposit under policy %s", r.Application.Industry, s.Policy.Version)
	}
	if ref == "" {
		return r, fenfu.FieldError("ref", "the deposit's payment reference is required")
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := transition(ctx, tx, id, Approved, DepositPaid, actor,
			fmt.Sprintf("risk deposit ¥%s received, reference %s", fenfu.Yuan(rule.DepositFen), ref)); err != nil {
			return err
		}
		if err := ledger.Open(ctx, tx, DepositAccount(r.MchID)); err != nil {
			return err
		}
		if rule.DepositFen == 0 {
			return nil
		}
		return ledger.Post(ctx, tx, ledger.Txn{Kind: "deposit", Ref: id, Entries: []ledger.Entry{
			ledger.Debit(depositSource, rule.DepositFen), ledger.Credit(DepositAccount(r.MchID), rule.DepositFen)}})
	})
	if err != nil {
		return r, fenfu.Op("onboard.PayDeposit", err)
	}
	return s.Get(ctx, id)
}

// Activate is the product center granting the credit-pay permission to a
// merchant whose deposit is paid: from then on its credit payments succeed.
// A deployment that takes sandbox merchants only refuses to activate a
// production one.
func (s *Service) Activate(ctx context.Context, id, actor string) (Record, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return r, err
	}
	if s.Merchants != nil && s.Merchants.SandboxOnly {
		m, err := s.Merchants.Get(ctx, r.MchID)
		if err != nil {
			return r, err
		}
		if err := s.Merchants.Allowed(m.Env); err != nil {
			return r, err
		}
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := transition(ctx, tx, id, DepositPaid, Active, actor, "credit-pay permission granted"); err != nil {
			return err
		}
		return merchant.SetCreditPay(ctx, tx, r.MchID, true, false)
	})
	if err != nil {
		return r, fenfu.Op("onboard.Activate", err)
	}
	s.forget(r.MchID)
	return s.Get(ctx, id)
}

// Close ends an active or suspended merchant's credit pay and refunds its
// deposit through the ledger.
func (s *Service) Close(ctx context.Context, id, actor, reason string) (Record, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return r, err
	}
	if r.State != Active && r.State != Suspended {
		return r, fenfu.Errorf(fenfu.InvalidRequest, "only an active or suspended merchant can leave, not a %s one", r.State)
	}
	held, err := ledger.Balance(ctx, s.DB, DepositAccount(r.MchID))
	if err != nil {
		return r, fenfu.Internal("onboard.Close", err)
	}
	err = s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := transition(ctx, tx, id, r.State, Closed, actor, reason); err != nil {
			return err
		}
		if err := merchant.SetCreditPay(ctx, tx, r.MchID, false, false); err != nil {
			return err
		}
		if held == 0 {
			return nil
		}
		return ledger.Post(ctx, tx, ledger.Txn{Kind: "deposit_refund", Ref: id, Entries: []ledger.Entry{
			ledger.Debit(DepositAccount(r.MchID), held), ledger.Credit(depositSource, held)}})
	})
	if err != nil {
		return r, fenfu.Op("onboard.Close", err)
	}
	s.forget(r.MchID)
	return s.Get(ctx, id)
}

// Rescreened counts what a screening run did.
type Rescreened struct {
	Screened  int `json:"screened"`
	Suspended int `json:"suspended"`
}

// Rescreen checks every active merchant against the risk list again and
// suspends any that now appears on it: its new credit payments are
// refused from then on. Run daily (fenfu serve does) and safe to repeat.
func (s *Service) Rescreen(ctx context.Context) (Rescreened, error) {
	var out Rescreened
	ids, err := s.DB.Strings(ctx, `SELECT id FROM applications WHERE state = $1 ORDER BY id`, Active)
	if err != nil {
		return out, fenfu.Internal("onboard.Rescreen", err)
	}
	for _, id := range ids {
		r, err := s.Get(ctx, id)
		if err != nil {
			return out, err
		}
		out.Screened++
		listed, why, err := s.Bureau.Listed(ctx, r.Application.LicenceNumber)
		if err != nil {
			return out, fenfu.Internal("onboard.Rescreen", err)
		}
		if !listed {
			continue
		}
		err = s.DB.Update(ctx, func(tx *db.Tx) error {
			if err := transition(ctx, tx, id, Active, Suspended, "system", "daily risk screening: "+why); err != nil {
				return err
			}
			return merchant.SetCreditPay(ctx, tx, r.MchID, true, true)
		})
		var fe *fenfu.Error
		if errors.As(err, &fe) && fe.Code == fenfu.InvalidRequest {
			continue // changed meanwhile
		}
		if err != nil {
			return out, fenfu.Op("onboard.Rescreen", err)
		}
		s.forget(r.MchID)
		out.Suspended++
	}
	return out, nil
}

func (s *Service) forget(mchid string) {
	if s.Merchants != nil {
		s.Merchants.Forget(mchid)
	}
}
