package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// Disputes returns, for each of the orders a ticket names (by its
// transaction_id, or by its merchant and out_trade_no, as a settlement
// exception request does), when its last ticket was resolved or closed,
// or the zero time while one is still open or answered: a ticket is a
// dispute's record, and retention keeps a disputed order's details until
// the dispute is closed and its own period has passed.
func (s *Service) Disputes(ctx context.Context, orders []pay.Expired) (pay.Disputes, error) {
	out := pay.Disputes{}
	if len(orders) == 0 {
		return out, nil
	}
	byID := make(map[string]string, len(orders))
	byRef := make(map[[2]string]string, len(orders))
	ids := make([]string, 0, len(orders))
	nos := make([]string, 0, len(orders))
	for _, o := range orders {
		byID[o.ID] = o.ID
		byRef[[2]string{o.MchID, o.OutTradeNo}] = o.ID
		ids, nos = append(ids, o.ID), append(nos, o.OutTradeNo)
	}
	phIDs, args := db.In(ids, 0)
	phNos, more := db.In(nos, len(args))
	// The conditions on '' match the partial indexes tickets_transaction
	// and tickets_out_trade_no.
	rows, err := s.DB.QueryContext(ctx, `SELECT transaction_id, mchid, out_trade_no, status, resolved_at, closed_at FROM tickets
		WHERE (transaction_id IN (`+phIDs+`) AND transaction_id <> '') OR (out_trade_no IN (`+phNos+`) AND out_trade_no <> '')`,
		append(args, more...)...)
	if err != nil {
		return nil, fmt.Errorf("ticket: disputes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var txn, mchid, no string
		var status Status
		var resolved, closed int64
		if err := rows.Scan(&txn, &mchid, &no, &status, &resolved, &closed); err != nil {
			return nil, fmt.Errorf("ticket: disputes: %w", err)
		}
		id, ok := byID[txn]
		if !ok {
			id, ok = byRef[[2]string{mchid, no}]
		}
		if ok {
			out.Add(id, status == Open || status == Answered, db.Time(max(resolved, closed)))
		}
	}
	return out, rows.Err()
}

// ForgetConsumers clears, in the caller's transaction, whom to call back
// from the tickets the consumers ids opened, as retention forgets them.
// It returns how many tickets it changed.
func ForgetConsumers(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ph, args := db.In(ids, 0)
	res, err := tx.ExecContext(ctx, `UPDATE tickets SET contact = '' WHERE consumer_id IN (`+ph+`) AND consumer_id <> '' AND contact <> ''`, args...)
	if err != nil {
		return 0, fmt.Errorf("ticket: forget consumers: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Ended is a ticket retention may purge: resolved or closed, with whom
// and what it concerns, so a legal hold on any of them keeps it.
type Ended struct {
	ID, MchID, ConsumerID, TransactionID string
	// At is when it was last resolved or closed.
	At time.Time
}

// ExpiredTickets returns up to limit tickets resolved or closed before
// t and not since reopened, after the id after, in id order. Settlement
// delay tickets are not among them: a settlement exception request is
// kept with the settlement records it disputes.
func ExpiredTickets(ctx context.Context, d *db.DB, t time.Time, after string, limit int) ([]Ended, error) {
	rows, err := d.QueryContext(ctx, `SELECT id, mchid, consumer_id, transaction_id, resolved_at, closed_at FROM tickets
		WHERE id > $1 AND status IN ('RESOLVED', 'CLOSED') AND type <> 'SETTLEMENT_DELAY' AND resolved_at < $2 AND closed_at < $2
		ORDER BY `+d.ByteOrder("id")+` LIMIT `+fmt.Sprint(limit), after, db.Micros(t))
	if err != nil {
		return nil, fmt.Errorf("ticket: expired: %w", err)
	}
	out, err := db.Collect(rows, func(r db.Scanner) (e Ended, err error) {
		var resolved, closed int64
		err = r.Scan(&e.ID, &e.MchID, &e.ConsumerID, &e.TransactionID, &resolved, &closed)
		e.At = db.Time(max(resolved, closed))
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("ticket: expired: %w", err)
	}
	return out, nil
}

// PurgeTickets deletes the tickets ids with their history, attachments
// and on-duty alerts in the caller's transaction, and the row in
// ticket_openers of each of their openers left with no ticket; it
// returns how many tickets it deleted.
func PurgeTickets(ctx context.Context, tx *db.Tx, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	ph, args := db.In(ids, 0)
	openers, err := db.All(ctx, tx, func(r db.Scanner) (Actor, error) {
		var source Source
		var mchid, consumer string
		err := r.Scan(&source, &mchid, &consumer)
		if source == FromConsumer {
			return Consumer(consumer), err
		}
		return Merchant(mchid), err
	}, `SELECT DISTINCT source, mchid, consumer_id FROM tickets WHERE id IN (`+ph+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("ticket: purge: %w", err)
	}
	for _, table := range []string{"ticket_events", "ticket_attachments", "ticket_alerts"} {
		if _, err := db.Delete(ctx, tx, table, "ticket_id", ids); err != nil {
			return 0, fmt.Errorf("ticket: purge: %w", err)
		}
	}
	n, err := db.Delete(ctx, tx, "tickets", "id", ids)
	if err != nil {
		return 0, fmt.Errorf("ticket: purge: %w", err)
	}
	for _, o := range openers {
		// The conditions match the indexes tickets_merchant and
		// tickets_consumer.
		left := `SELECT 1 FROM tickets WHERE mchid = $2 AND source = 'MERCHANT'`
		if o.Kind == KindConsumer {
			left = `SELECT 1 FROM tickets WHERE consumer_id = $2 AND consumer_id <> ''`
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_openers WHERE opener = $1 AND NOT EXISTS (`+left+`)`, o.String(), o.ID); err != nil {
			return 0, fmt.Errorf("ticket: purge: %w", err)
		}
	}
	return n, nil
}
