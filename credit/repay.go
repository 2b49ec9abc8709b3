package credit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
)

// EarlyPayoff says what becomes of the fee of installments repaid before
// their statement: charged as scheduled, or waived.
type EarlyPayoff string

// Early payoff policies.
const (
	PayoffCharged EarlyPayoff = "charged"
	PayoffWaived  EarlyPayoff = "waived"
)

// RepaymentState is what became of a repayment. Like a payment attempt, a
// repayment is written once in its final state: the repayment and
// recovery's fence race to insert it, and the first wins.
type RepaymentState string

// Repayment states.
const (
	RepaymentApplied RepaymentState = "APPLIED"
	RepaymentVoid    RepaymentState = "VOID"
)

// Sources of repayments: the consumer's balance in the core store, or a
// funding partner's transfer ("partner:NAME").
const SourceBalance = "balance"

var (
	partnerRE = regexp.MustCompile(`^partner:[a-z0-9_-]{1,32}$`)
	keyRE     = regexp.MustCompile(`^[0-9A-Za-z_\-|*@.:]{1,64}$`)
)

// Repayment is money a consumer pays back on its plans.
type Repayment struct {
	ID         string
	ConsumerID string
	// Source is SourceBalance or "partner:NAME".
	Source string
	// Key makes the repayment idempotent per consumer and source: the
	// same key again returns the first repayment.
	Key    string
	Amount fenfu.Fen
	Payoff EarlyPayoff
	// Calendar decides which installments are due now; the rest are paid
	// early.
	Calendar Calendar
}

// Repaid is an applied repayment: how much went to principal (and back to
// the line), to fee, and how much fee an early payoff waived.
type Repaid struct {
	ID         string         `json:"repayment_id"`
	ConsumerID string         `json:"consumer_id"`
	State      RepaymentState `json:"state"`
	Source     string         `json:"source"`
	Key        string         `json:"idempotency_key"`
	Amount     fenfu.Fen      `json:"amount"`
	Principal  fenfu.Fen      `json:"principal"`
	Fee        fenfu.Fen      `json:"fee"`
	Waived     fenfu.Fen      `json:"waived"`
	CreatedAt  string         `json:"created_at"`
}

func (r Repayment) validate() error {
	if r.Amount <= 0 || r.Amount > 100_000_000_00 {
		return fenfu.FieldError("amount", "amount must be a positive number of fen")
	}
	if r.Source != SourceBalance && !partnerRE.MatchString(r.Source) {
		return fenfu.FieldError("source", "source must be balance or partner:NAME (a-z, 0-9, _ and -, at most 32)")
	}
	if !keyRE.MatchString(r.Key) {
		return fenfu.FieldError("idempotency_key", "the idempotency key must be 1 to 64 characters of 0-9, A-Z, a-z, _-|*@.:")
	}
	if r.Payoff != PayoffCharged && r.Payoff != PayoffWaived {
		return fmt.Errorf("credit: repayment %s: early payoff %q", r.ID, r.Payoff)
	}
	return nil
}

// FundingAccount is where a repayment's money comes from: the platform's
// funding from the consumer's balance or from a partner.
func FundingAccount(source string) ledger.Account {
	return ledger.AccountOf(ledger.PlatformFunding, "repayment-"+source)
}

// repaymentEntries are a repayment's postings: the funding comes in, the
// consumer's receivable and fee due go down.
func repaymentEntries(consumerID, source string, principal, fee fenfu.Fen) []ledger.Entry {
	es := []ledger.Entry{ledger.Debit(FundingAccount(source), principal+fee)}
	if principal > 0 {
		es = append(es, ledger.Credit(Account(consumerID), principal))
	}
	if fee > 0 {
		es = append(es, ledger.Credit(FeeDueAccount(consumerID), fee))
	}
	return es
}

// waiverEntries are the postings of fee an early payoff waived.
func waiverEntries(consumerID string, waived fenfu.Fen) []ledger.Entry {
	return []ledger.Entry{ledger.Debit(InstallmentFeeAccount, waived), ledger.Credit(FeeDueAccount(consumerID), waived)}
}

// ErrRepaymentVoided is returned by Repay for a repayment recovery fenced
// off.
var ErrRepaymentVoided = errors.New("credit: repayment was voided")

// Repay applies a repayment in the caller's transaction: to the oldest
// due installments first, each its fee then its principal; installments
// not yet due are paid early, their fee charged or, once their principal
// is paid, waived, by r.Payoff. Every fen of principal lowers the line's
// used amount. It may be partial; more than is owed fails with
// PARAM_ERROR, naming the most that can be repaid. The same repayment (by
// id, or by consumer, source and key) applied again returns the first;
// one recovery voided fails with ErrRepaymentVoided.
func Repay(ctx context.Context, tx *db.Tx, r Repayment) (Repaid, error) {
	if err := r.validate(); err != nil {
		return Repaid{}, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO credit_repayments (repayment_id, consumer_id, state, source, idem_key, amount, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		r.ID, r.ConsumerID, string(RepaymentApplied), r.Source, r.Key, r.Amount, db.Micros(tx.Now))
	if err != nil {
		return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		prev, err := repaymentBy(ctx, tx, `consumer_id = $1 AND source = $2 AND idem_key = $3`, r.ConsumerID, r.Source, r.Key)
		if errors.Is(err, sql.ErrNoRows) {
			prev, err = repaymentBy(ctx, tx, `repayment_id = $1`, r.ID)
		}
		if err != nil {
			return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
		}
		if prev.State == RepaymentVoid {
			return prev, ErrRepaymentVoided
		}
		if prev.Amount != r.Amount || prev.ConsumerID != r.ConsumerID {
			return prev, fenfu.Errorf(fenfu.ParamError, "idempotency key %s was already used for a repayment of %s yuan", r.Key, fenfu.Yuan(prev.Amount))
		}
		return prev, nil
	}
	if _, ok, err := Lock(ctx, tx, r.ConsumerID); err != nil {
		return Repaid{}, err
	} else if !ok {
		return Repaid{}, fenfu.Errorf(fenfu.ResourceNotExists, "consumer %s has no credit line", r.ConsumerID)
	}
	open, err := installmentsOf(ctx, tx, `consumer_id = $1 AND state IN `+unpaid, r.ConsumerID)
	if err != nil {
		return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
	}
	horizon := r.Calendar.NextDue(tx.Now)
	out := Repaid{ID: r.ID, ConsumerID: r.ConsumerID, State: RepaymentApplied, Source: r.Source, Key: r.Key, Amount: r.Amount,
		CreatedAt: tx.Now.In(fenfu.Shanghai).Format("2006-01-02T15:04:05-07:00")}
	left := r.Amount
	touched := map[string]bool{}
	var most fenfu.Fen
	for _, old := range open {
		in := old
		early := in.DueOn > horizon && r.Payoff == PayoffWaived
		var payFee, payP, waive fenfu.Fen
		if !early {
			payFee = min(left, in.Fee-in.PaidFee)
			left -= payFee
			most += in.Fee - in.PaidFee
		}
		payP = min(left, in.Principal-in.PaidPrincipal)
		left -= payP
		most += in.Principal - in.PaidPrincipal
		in.PaidFee += payFee
		in.PaidPrincipal += payP
		if early && in.PaidPrincipal == in.Principal {
			waive = in.Fee - in.PaidFee
			in.Fee = in.PaidFee
		}
		if payFee == 0 && payP == 0 && waive == 0 {
			continue
		}
		if err := setInstallment(ctx, tx, "repayment:"+r.ID, old, in); err != nil {
			return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO credit_repayment_parts (repayment_id, plan_id, seq, principal, fee, waived, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ID, in.PlanID, in.Seq, payP, payFee, waive, db.Micros(tx.Now)); err != nil {
			return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
		}
		touched[in.PlanID] = true
		out.Principal += payP
		out.Fee += payFee
		out.Waived += waive
	}
	if left > 0 {
		return Repaid{}, fenfu.FieldError("amount", "the repayment of %s yuan is more than is owed: at most %s yuan",
			fenfu.Yuan(r.Amount), fenfu.Yuan(most))
	}
	for id := range touched {
		if err := closePlanIfDone(ctx, tx, id); err != nil {
			return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
		}
	}
	if out.Principal > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE credit_lines SET used = used - $1, updated_at = $2 WHERE consumer_id = $3`,
			out.Principal, db.Micros(tx.Now), r.ConsumerID); err != nil {
			return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE credit_repayments SET principal = $1, fee = $2, waived = $3 WHERE repayment_id = $4`,
		out.Principal, out.Fee, out.Waived, r.ID); err != nil {
		return Repaid{}, fmt.Errorf("credit: repayment %s: %w", r.ID, err)
	}
	if err := ledger.Post(ctx, tx, ledger.Txn{Kind: "repayment", Ref: r.ID,
		Entries: repaymentEntries(r.ConsumerID, r.Source, out.Principal, out.Fee)}); err != nil {
		return Repaid{}, err
	}
	if out.Waived > 0 {
		if err := ledger.Post(ctx, tx, ledger.Txn{Kind: "fee_waiver", Ref: r.ID, Entries: waiverEntries(r.ConsumerID, out.Waived)}); err != nil {
			return Repaid{}, err
		}
	}
	return out, nil
}

// VoidRepayment fences off a repayment that has not been applied, so it
// never can be, and returns the repayment as it stands: APPLIED if it was
// applied first, otherwise VOID.
func VoidRepayment(ctx context.Context, tx *db.Tx, id, consumerID, source string) (Repaid, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO credit_repayments (repayment_id, consumer_id, state, source, idem_key, amount, created_at)
		VALUES ($1, $2, $3, $4, $1, 0, $5) ON CONFLICT DO NOTHING`, id, consumerID, string(RepaymentVoid), source, db.Micros(tx.Now)); err != nil {
		return Repaid{}, fmt.Errorf("credit: void repayment %s: %w", id, err)
	}
	r, err := repaymentBy(ctx, tx, `repayment_id = $1`, id)
	if err != nil {
		return r, fmt.Errorf("credit: void repayment %s: %w", id, err)
	}
	return r, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

const repaymentCols = `repayment_id, consumer_id, state, source, idem_key, amount, principal, fee, waived, created_at`

func scanRepaid(s db.Scanner) (Repaid, error) {
	var r Repaid
	var at int64
	err := s.Scan(&r.ID, &r.ConsumerID, &r.State, &r.Source, &r.Key, &r.Amount, &r.Principal, &r.Fee, &r.Waived, &at)
	r.CreatedAt = db.Time(at).In(fenfu.Shanghai).Format("2006-01-02T15:04:05-07:00")
	return r, err
}

func repaymentBy(ctx context.Context, q rowQuerier, where string, args ...any) (Repaid, error) {
	return scanRepaid(q.QueryRowContext(ctx, `SELECT `+repaymentCols+` FROM credit_repayments WHERE `+where, args...))
}

// Owed is what a consumer owes on its plans now: what is due by the next
// due day, and what paying everything off would take under payoff.
type Owed struct {
	NextDue  string        `json:"next_due"`
	DueNow   fenfu.Fen     `json:"due_now"`
	Payoff   fenfu.Fen     `json:"payoff"`
	Upcoming []Installment `json:"upcoming"`
}

// OwedBy returns what a consumer owes at now.
func OwedBy(ctx context.Context, d *db.DB, consumerID string, cal Calendar, payoff EarlyPayoff) (Owed, error) {
	open, err := installmentsOf(ctx, d, `consumer_id = $1 AND state IN `+unpaid, consumerID)
	if err != nil {
		return Owed{}, fmt.Errorf("credit: owed: %w", err)
	}
	o := Owed{NextDue: cal.NextDue(d.Clock.Now()), Upcoming: open}
	for _, in := range open {
		if in.DueOn <= o.NextDue {
			o.DueNow += in.Outstanding()
			o.Payoff += in.Outstanding()
		} else if payoff == PayoffWaived {
			o.Payoff += in.Principal - in.PaidPrincipal
		} else {
			o.Payoff += in.Outstanding()
		}
	}
	return o, nil
}

// RepaymentOf returns a repayment by id; ok is false if there is none.
func RepaymentOf(ctx context.Context, d *db.DB, id string) (r Repaid, ok bool, err error) {
	r, err = repaymentBy(ctx, d, `repayment_id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("credit: repayment %s: %w", id, err)
	}
	return r, true, nil
}

// Repayments returns a consumer's repayments, newest first, at most limit.
func Repayments(ctx context.Context, d *db.DB, consumerID string, limit int) ([]Repaid, error) {
	return repaymentsWhere(ctx, d, `consumer_id = $1 AND state = 'APPLIED' ORDER BY created_at DESC, repayment_id LIMIT `+fmt.Sprint(limit), consumerID)
}

func repaymentsWhere(ctx context.Context, d *db.DB, where string, args ...any) ([]Repaid, error) {
	out, err := db.All(ctx, d, scanRepaid, `SELECT `+repaymentCols+` FROM credit_repayments WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("credit: repayments: %w", err)
	}
	return out, nil
}

// ScanRepayments calls fn for every repayment from source, applied or
// void, in repayment-id byte order (db.ByteOrder), so another store's
// records of them can be proved against it without loading either.
func ScanRepayments(ctx context.Context, d *db.DB, source string, fn func(Repaid) error) error {
	rows, err := d.QueryContext(ctx, `SELECT repayment_id, state, amount FROM credit_repayments WHERE source = $1
		ORDER BY `+d.ByteOrder("repayment_id"), source)
	if err != nil {
		return err
	}
	return db.Each(rows, func(row db.Scanner) (Repaid, error) {
		r := Repaid{Source: source}
		err := row.Scan(&r.ID, &r.State, &r.Amount)
		return r, err
	}, fn)
}
