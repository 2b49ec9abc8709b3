package pay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ledger"
)

// Proof summarises a successful Verify.
type Proof struct {
	Orders     int `json:"orders"`
	Paid       int `json:"paid"`
	CreditPaid int `json:"credit_paid"`
	Refunds    int `json:"refunds"`
	InFlight   int `json:"in_flight"` // payments or refunds between the two stores' commits
}

// Verify proves the books of both stores and that every order has exactly
// the postings its state implies: a balance order's payment and refunds in
// the core ledger, a credit order's captured payment and refunds in the
// credit store. It returns the first problem as a *ledger.Problem.
// Payments or refunds caught between their two commits are counted as in
// flight, not as problems; Recover settles them. The postings are proved by
// merging each kind's transactions with its records, in id order, so the
// proof is linear in the books and its memory does not grow with them.
func (s *Service) Verify(ctx context.Context) (Proof, error) {
	var p Proof
	if err := ledger.Verify(ctx, s.Core); err != nil {
		return p, err
	}
	if err := credit.Verify(ctx, s.Credit); err != nil {
		return p, err
	}
	bad := func(store, what, detail string) error {
		return &ledger.Problem{Store: store, What: what, Detail: detail}
	}
	core := s.Core.R
	first := func(q string, args ...any) (string, error) {
		var id string
		err := core.QueryRowContext(ctx, q, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return id, err
	}
	if err := s.verifyBalancePostings(ctx); err != nil {
		return p, err
	}
	if err := s.verifyCodes(ctx); err != nil {
		return p, err
	}
	// A join with an aggregate is materialized before its first row is
	// taken: under ORDER BY … LIMIT 1, PostgreSQL otherwise may rescan the
	// aggregate for every order, which grows with the square of the books.
	checks := []struct{ what, q string }{
		{"order's refunded amount differs from its refunds", `WITH bad AS MATERIALIZED (SELECT o.id FROM orders o
			LEFT JOIN (SELECT order_id, SUM(amount) AS total, COUNT(*) AS n FROM refunds GROUP BY order_id) r ON r.order_id = o.id
			WHERE o.refunded <> COALESCE(r.total, 0) OR o.refund_count <> COALESCE(r.n, 0)
			   OR (o.refunded > 0 AND o.state <> ` + sqlRefund + `)) SELECT id FROM bad ORDER BY id LIMIT 1`},
		{"refund on an unpaid order", `SELECT r.id FROM refunds r JOIN orders o ON o.id = r.order_id
			WHERE o.state <> ` + sqlRefund + ` ORDER BY r.id LIMIT 1`},
		{"reversed order not refunded in full", `SELECT id FROM orders WHERE reversed_at <> 0
			AND (state <> ` + sqlRefund + ` OR refunded <> total) ORDER BY id LIMIT 1`},
		{"paid order without payer or channel", `SELECT id FROM orders WHERE (state IN ` + paidStates + ` OR state = ` + sqlPaying + `)
			AND (consumer_id = '' OR attempt_id = '' OR channel NOT IN (` + sqlCredit + `, ` + sqlBalance + `)) ORDER BY id LIMIT 1`},
		// A completed service order is paid by its PAYSCORE order, of its
		// total, on its consumer's credit; a paid PAYSCORE order's
		// service order is completed.
		{"completed service order without its payment", `SELECT so.id FROM service_orders so LEFT JOIN orders o ON o.id = so.payment_id
			AND o.state IN ` + paidStates + ` AND o.total = so.total_amount AND o.consumer_id = so.consumer_id AND o.channel = ` + sqlCredit + `
			WHERE so.state = 'DONE' AND so.total_amount > 0 AND o.id IS NULL ORDER BY so.id LIMIT 1`},
		{"paid service order payment whose service order is not completed", `SELECT o.id FROM orders o LEFT JOIN service_orders so
			ON so.payment_id = o.id AND so.state = 'DONE' WHERE o.trade_type = 'PAYSCORE' AND o.state IN ` + paidStates + `
			AND so.id IS NULL ORDER BY o.id LIMIT 1`},
	}
	for _, c := range checks {
		id, err := first(c.q)
		if err != nil {
			return p, fmt.Errorf("pay: verify: %w", err)
		}
		if id != "" {
			return p, bad(s.Core.Name, c.what, id)
		}
	}
	if err := core.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN state IN `+paidStates+` THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = `+sqlPaying+` THEN 1 ELSE 0 END), 0) FROM orders`).Scan(&p.Orders, &p.Paid, &p.InFlight); err != nil {
		return p, err
	}
	if err := core.QueryRowContext(ctx, `SELECT COUNT(*) FROM refunds`).Scan(&p.Refunds); err != nil {
		return p, err
	}

	// Every captured credit payment belongs to its order: paid by that
	// attempt, for that amount and consumer (or still PAYING with it).
	type cap struct {
		attempt, mchid, consumer string
		amount, refunded, fee    fenfu.Fen
		installments             int
		planFee                  fenfu.Fen
	}
	batch := map[string]cap{}
	matched := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ids := make([]any, 0, len(batch))
		ph := make([]string, 0, len(batch))
		for id := range batch {
			ids = append(ids, id)
			ph = append(ph, fmt.Sprintf("$%d", len(ids)))
		}
		rows, err := core.QueryContext(ctx, `SELECT id, state, channel, attempt_id, consumer_id, mchid, total, refunded, fee, installments, plan_fee
			FROM orders WHERE id IN (`+strings.Join(ph, ",")+`)`, ids...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, attempt, consumerID, mchid string
			var state State
			var channel Channel
			var total, refunded, orderFee, planFee fenfu.Fen
			var installments int
			if err := rows.Scan(&id, &state, &channel, &attempt, &consumerID, &mchid, &total, &refunded, &orderFee, &installments, &planFee); err != nil {
				return err
			}
			c := batch[id]
			delete(batch, id)
			switch {
			case channel != ChannelCredit || attempt != c.attempt:
				return bad(s.Credit.Name, "credit payment for an order paid otherwise", id)
			case state == Paying:
				continue
			case state != Success && state != Refund:
				return bad(s.Credit.Name, "credit payment for an unpaid order", id)
			case c.amount != total || c.consumer != consumerID || c.mchid != mchid:
				return bad(s.Credit.Name, "credit payment differs from its order", id)
			case c.refunded > refunded:
				return bad(s.Credit.Name, "credit refunds exceed the order's refunds", id)
			case c.fee != orderFee:
				return bad(s.Core.Name, "order's fee differs from the credit payment's", id)
			case max(installments, 1) != c.installments:
				// Orders paid before installments existed record none.
				return bad(s.Core.Name, "order's installments differ from its plan's", id)
			case planFee != c.planFee:
				return bad(s.Core.Name, "order's merchant-borne installment fee differs from its plan's", id)
			}
			matched++
		}
		for id := range batch {
			return bad(s.Credit.Name, "credit payment without an order", id)
		}
		return rows.Err()
	}
	err := credit.ScanCaptured(ctx, s.Credit, func(cp credit.CapturedPayment) error {
		p.CreditPaid++
		batch[cp.OrderID] = cap{cp.AttemptID, cp.MchID, cp.ConsumerID, cp.Amount, cp.Refunded, cp.Fee, cp.Installments, cp.PlanFee}
		if len(batch) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return p, err
	}
	// And every credit order marked paid has its captured payment; every
	// successful credit refund was applied in the credit store.
	var creditPaid int
	if err := core.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE channel = `+sqlCredit+` AND state IN `+paidStates+``).
		Scan(&creditPaid); err != nil {
		return p, err
	}
	if creditPaid != matched {
		return p, bad(s.Core.Name, "paid credit orders without a captured payment",
			fmt.Sprintf("%d orders paid on credit, %d with a captured payment", creditPaid, matched))
	}
	rows, err := core.QueryContext(ctx, `SELECT id, amount, fee, status FROM refunds WHERE channel = `+sqlCredit+` ORDER BY id`)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var status RefundStatus
		var amount, feeBack fenfu.Fen
		if err := rows.Scan(&id, &amount, &feeBack, &status); err != nil {
			return p, err
		}
		got, gotFee, ok, err := credit.RefundAmount(ctx, s.Credit, id)
		if err != nil {
			return p, err
		}
		switch {
		case status == RefundProcessing:
			p.InFlight++
		case !ok:
			return p, bad(s.Credit.Name, "successful credit refund not applied", id)
		case got != amount:
			return p, bad(s.Credit.Name, "credit refund amount differs", id)
		case gotFee != feeBack:
			return p, bad(s.Credit.Name, "credit refund's returned fee differs", id)
		}
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	if err := s.verifyServiceOrders(ctx); err != nil {
		return p, err
	}
	return p, s.verifyPayouts(ctx)
}

// verifyPayouts proves that what every successful refund owes its consumer
// back, as the credit store recorded it, was paid to the consumer's
// balance exactly once, and nothing else was.
func (s *Service) verifyPayouts(ctx context.Context) error {
	_, err := ledger.Prove(ctx, s.Core, ledger.Proof{Kind: payoutKind, Missing: "refund owed back without its payout",
		Extra: "payout without a refund owing it"}, func(yield func(ledger.Want) error) error {
		return credit.ScanOwedBack(ctx, s.Credit, func(o credit.OwedBack) error {
			var status RefundStatus
			err := s.Core.R.QueryRowContext(ctx, `SELECT status FROM refunds WHERE id = $1`, o.RefundID).Scan(&status)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			w := ledger.Want{Ref: o.RefundID}
			switch status {
			case RefundSuccess:
				w.Entries = payoutEntries(o)
			case RefundProcessing:
				w.Entries, w.Maybe = payoutEntries(o), true // between the stores' commits
			}
			return yield(w)
		})
	})
	return err
}

// verifyBalancePostings proves the core store's payment and refund
// transactions against the balance orders and refunds: each paid order
// and each refund has exactly its postings, and every posting its record.
func (s *Service) verifyBalancePostings(ctx context.Context) error {
	core := s.Core
	_, err := ledger.Prove(ctx, core, ledger.Proof{Kind: "payment", Missing: "balance payment without its postings",
		Extra: "payment posting without a paid balance order"}, func(yield func(ledger.Want) error) error {
		rows, err := core.QueryContext(ctx, `SELECT id, consumer_id, mchid, total, fee FROM orders
			WHERE channel = `+sqlBalance+` AND state IN `+paidStates+` ORDER BY `+core.ByteOrder("id"))
		if err != nil {
			return err
		}
		return db.Each(rows, func(r db.Scanner) (ledger.Want, error) {
			var id, consumerID, mchid string
			var total, orderFee fenfu.Fen
			err := r.Scan(&id, &consumerID, &mchid, &total, &orderFee)
			return ledger.Want{Ref: id, Entries: ledger.PaymentEntries(consumer.BalanceAccount(consumerID), mchid,
				total, orderFee, OrdinaryFeeAccount)}, err
		}, yield)
	})
	if err != nil {
		return err
	}
	_, err = ledger.Prove(ctx, core, ledger.Proof{Kind: "refund", Missing: "balance refund without its postings",
		Extra: "refund posting without a balance refund"}, func(yield func(ledger.Want) error) error {
		rows, err := core.QueryContext(ctx, `SELECT r.id, r.status, r.amount, r.fee, o.consumer_id, o.mchid
			FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.channel = `+sqlBalance+` ORDER BY `+core.ByteOrder("r.id"))
		if err != nil {
			return err
		}
		return db.Each(rows, func(r db.Scanner) (ledger.Want, error) {
			var id, consumerID, mchid string
			var status RefundStatus
			var amount, feeBack fenfu.Fen
			if err := r.Scan(&id, &status, &amount, &feeBack, &consumerID, &mchid); err != nil {
				return ledger.Want{}, err
			}
			// A balance refund commits with its postings: it is never
			// in flight.
			if status != RefundSuccess {
				return ledger.Want{}, &ledger.Problem{Store: core.Name, What: "balance refund without its postings",
					Detail: fmt.Sprintf("%s is %s", id, status)}
			}
			return ledger.Want{Ref: id, Entries: ledger.RefundEntries(consumer.BalanceAccount(consumerID), mchid,
				amount, feeBack, OrdinaryFeeAccount)}, nil
		}, yield)
	})
	return err
}

// verifyCodes proves that code payments and the payment codes that paid
// them name each other while the codes' rows are kept (a day past
// expiry): a used code names an order that names it back, and an order
// names a kept code that names it. A code edited back to unused, which
// would pay a second order, fails both ways.
func (s *Service) verifyCodes(ctx context.Context) error {
	codes := s.codes()
	bad := func(what, id string) error { return &ledger.Problem{Store: s.Core.Name, What: what, Detail: id} }
	for after := ""; ; {
		links, err := codes.Used(ctx, after, 500)
		if err != nil {
			return err
		}
		if len(links) == 0 {
			break
		}
		ids := make([]any, len(links))
		ph := make([]string, len(links))
		for i, l := range links {
			ids[i], ph[i] = l.OrderID, fmt.Sprintf("$%d", i+1)
		}
		named := map[string]string{}
		rows, err := s.Core.R.QueryContext(ctx, `SELECT id, code_hash FROM orders WHERE id IN (`+strings.Join(ph, ",")+`)`, ids...)
		if err != nil {
			return fmt.Errorf("pay: verify codes: %w", err)
		}
		for rows.Next() {
			var id, h string
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return fmt.Errorf("pay: verify codes: %w", err)
			}
			named[id] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pay: verify codes: %w", err)
		}
		for _, l := range links {
			if h, ok := named[l.OrderID]; !ok || h != l.Hash {
				return bad("payment code names an order that does not name it", l.OrderID)
			}
		}
		if len(links) < 500 {
			break
		}
		after = links[len(links)-1].Hash
	}
	oldest, err := codes.Oldest(ctx)
	if err != nil || oldest.IsZero() {
		return err
	}
	for after := ""; ; {
		rows, err := s.Core.R.QueryContext(ctx, `SELECT id, code_hash FROM orders WHERE trade_type = $1 AND code_hash <> ''
			AND created_at >= $2 AND id > $3 ORDER BY id LIMIT 500`, Micropay, db.Micros(oldest), after)
		if err != nil {
			return fmt.Errorf("pay: verify codes: %w", err)
		}
		var ids, hashes []string
		for rows.Next() {
			var id, h string
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return fmt.Errorf("pay: verify codes: %w", err)
			}
			ids, hashes = append(ids, id), append(hashes, h)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("pay: verify codes: %w", err)
		}
		orders, err := codes.Orders(ctx, hashes)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if order, kept := orders[hashes[i]]; kept && order != id {
				return bad("code payment whose payment code no longer names it", id)
			}
		}
		if len(ids) < 500 {
			return nil
		}
		after = ids[len(ids)-1]
	}
}
