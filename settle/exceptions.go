package settle

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/seal"
	"github.com/fenfu/fenfu/ticket"
)

// ExceptionSLA is how long the platform has by default to answer a
// settlement exception request (SPEC §8): the SLA of the settlement-delay
// lane a new store is seeded with (--exception-sla).
const ExceptionSLA = ticket.DefaultSettlementDelaySLA

// MaxAttachment bounds an exception's attachment (the transaction record
// the merchant sends along).
const MaxAttachment = ticket.MaxAttachment

// Exception states, as the request's ticket stands: open until staff
// answer it, resolved, or rejected (its ticket closed without a fix).
const (
	ExceptionOpen     = "OPEN"
	ExceptionResolved = "RESOLVED"
	ExceptionRejected = "REJECTED"
)

// Exception is a merchant's settlement exception request: a settlement
// that is late, short or missing, against a business day or an order.
type Exception struct {
	ID          string `json:"exception_id"`
	MchID       string `json:"mchid"`
	SettleDate  string `json:"settle_date,omitempty"`
	OutTradeNo  string `json:"out_trade_no,omitempty"`
	Description string `json:"description"`
	// Attachment is the file's name and content, base64 in the API.
	AttachmentName   string    `json:"attachment_name,omitempty"`
	Attachment       []byte    `json:"-"`
	AttachmentSHA256 string    `json:"attachment_sha256,omitempty"`
	Status           string    `json:"status"`
	Resolution       string    `json:"resolution,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	DueAt            time.Time `json:"due_at"`
	ResolvedAt       time.Time `json:"resolved_at,omitzero"`
	// Overdue is set while an open request is at or past its due time.
	Overdue bool `json:"overdue"`
	// Settlements are the merchant's settlements the request concerns:
	// those of its day, or the one that took its order.
	Settlements []Settlement `json:"settlements,omitempty"`
}

// NewException is what a merchant files.
type NewException struct {
	SettleDate     string
	OutTradeNo     string
	Description    string
	AttachmentName string
	Attachment     []byte
}

// tickets is the ticket service exception requests are filed with: the
// service's, or one over its own store.
func (s *Service) tickets() *ticket.Service {
	if s.Tickets != nil {
		return s.Tickets
	}
	return &ticket.Service{DB: s.Core, Clock: s.Clock, Sealer: s.Sealer, Log: s.Log}
}

// FileException records a merchant's settlement exception request and, in
// the same transaction, files it as the SETTLEMENT_DELAY ticket of the
// same id, whose lane's SLA it is answered within: the request keeps the
// day or order it is about and its attachment, the ticket its
// description, timer, escalation and history.
func (s *Service) FileException(ctx context.Context, ids fenfu.IDs, mchid string, in NewException) (Exception, error) {
	switch {
	case in.SettleDate == "" && in.OutTradeNo == "":
		return Exception{}, fenfu.FieldError("settle_date", "name the settlement day (settle_date) or the order (out_trade_no) concerned")
	case utf8.RuneCountInString(in.Description) < 1 || utf8.RuneCountInString(in.Description) > 1000:
		return Exception{}, fenfu.FieldError("description", "describe the problem in 1 to 1000 characters")
	case len(in.Attachment) > MaxAttachment:
		return Exception{}, fenfu.FieldError("attachment", "the attachment must be at most %d KiB", MaxAttachment>>10)
	case len(in.Attachment) > 0 && (in.AttachmentName == "" || len(in.AttachmentName) > 128):
		return Exception{}, fenfu.FieldError("attachment.name", "name the attachment (at most 128 bytes)")
	}
	subject := "Settlement exception: " + in.SettleDate
	if in.SettleDate != "" {
		if _, err := Day(in.SettleDate); err != nil {
			return Exception{}, fenfu.FieldError("settle_date", "settle_date must be a date, YYYY-MM-DD")
		}
	}
	if in.OutTradeNo != "" {
		_, err := pay.SettlementOf(ctx, s.Core, mchid, in.OutTradeNo)
		if fenfu.ErrorCode(err) == fenfu.OrderNotExist {
			return Exception{}, fenfu.Errorf(fenfu.OrderNotExist, "order %s does not exist", in.OutTradeNo)
		}
		if err != nil {
			return Exception{}, err
		}
		subject = "Settlement exception: order " + in.OutTradeNo
	}
	id := "SE" + ids.New(fenfu.RequestID, s.Clock.Now())
	var sum string
	if len(in.Attachment) > 0 {
		h := sha256.Sum256(in.Attachment)
		sum = hex.EncodeToString(h[:])
	}
	att := base64.StdEncoding.EncodeToString(in.Attachment)
	if s.Sealer != nil && len(in.Attachment) > 0 {
		var err error
		if att, err = s.Sealer.Seal(att, attachmentContext(id)); err != nil {
			return Exception{}, fenfu.Internal("settle.FileException", err)
		}
	}
	var t ticket.Ticket
	err := s.Core.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settlement_exceptions (id, mchid, settle_date, out_trade_no, attachment_name,
			attachment, attachment_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, mchid, in.SettleDate, in.OutTradeNo, in.AttachmentName, att, sum, db.Micros(tx.Now)); err != nil {
			return err
		}
		var err error
		t, err = s.tickets().File(ctx, tx, ticket.Merchant(mchid), ticket.New{ID: id, Type: ticket.SettlementDelay, Subject: subject,
			Description: in.Description, OutTradeNo: in.OutTradeNo})
		return err
	})
	if err != nil {
		return Exception{}, fenfu.Op("settle.FileException", err)
	}
	s.tickets().Opened(ctx, t)
	return s.Exception(ctx, mchid, id)
}

func attachmentContext(id string) string { return "settlement_exceptions.attachment:" + id }

const exceptionCols = `id, mchid, settle_date, out_trade_no, attachment_name, attachment, attachment_sha256, created_at`

func (s *Service) scanException(row interface{ Scan(...any) error }) (Exception, error) {
	var x Exception
	var att string
	var created int64
	if err := row.Scan(&x.ID, &x.MchID, &x.SettleDate, &x.OutTradeNo, &x.AttachmentName, &att, &x.AttachmentSHA256, &created); err != nil {
		return x, err
	}
	if seal.Sealed(att) {
		if s.Sealer == nil {
			return x, fmt.Errorf("settle: exception %s: attachment is sealed and no sealer is set", x.ID)
		}
		pt, err := s.Sealer.Open(att, attachmentContext(x.ID))
		if err != nil {
			return x, err
		}
		att = pt
	}
	x.Attachment, _ = base64.StdEncoding.DecodeString(att)
	x.CreatedAt = db.Time(created)
	return x, nil
}

// of fills in what a request's ticket keeps: its description, its due
// time and whether it is past it unanswered, its status and answer. A
// request is open while its ticket is open or answered, resolved once its
// ticket was resolved, and rejected when its ticket was closed without.
func (x *Exception) of(t ticket.Ticket) {
	x.Description, x.DueAt, x.Overdue, x.Resolution = t.Description, t.DueAt, t.Overdue, t.Resolution
	switch {
	case t.Status == ticket.Open || t.Status == ticket.Answered:
		x.Status = ExceptionOpen
	case !t.ResolvedAt.IsZero():
		x.Status, x.ResolvedAt = ExceptionResolved, t.ResolvedAt
	default:
		x.Status, x.ResolvedAt = ExceptionRejected, t.ClosedAt
	}
}

// withTickets fills in each request's ticket.
func (s *Service) withTickets(ctx context.Context, xs []Exception) error {
	ids := make([]string, len(xs))
	for i, x := range xs {
		ids[i] = x.ID
	}
	ts, err := s.tickets().Of(ctx, ids)
	if err != nil {
		return err
	}
	for i := range xs {
		t, ok := ts[xs[i].ID]
		if !ok {
			return fmt.Errorf("settle: exception %s has no ticket", xs[i].ID)
		}
		xs[i].of(t)
	}
	return nil
}

// Exception returns a merchant's exception request with the settlements
// it concerns; mchid "" is the platform's staff, who see every merchant's.
func (s *Service) Exception(ctx context.Context, mchid, id string) (Exception, error) {
	x, err := s.scanException(s.Core.QueryRowContext(ctx, `SELECT `+exceptionCols+` FROM settlement_exceptions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && mchid != "" && x.MchID != mchid) {
		return Exception{}, fenfu.Errorf(fenfu.ResourceNotExists, "settlement exception %s does not exist", id)
	}
	if err != nil {
		return Exception{}, fenfu.Internal("settle.Exception", err)
	}
	xs := []Exception{x}
	if err := s.withTickets(ctx, xs); err != nil {
		return Exception{}, fenfu.Op("settle.Exception", err)
	}
	x = xs[0]
	f := Filter{MchID: x.MchID, Date: x.SettleDate}
	if x.OutTradeNo != "" {
		sid, err := pay.SettlementOf(ctx, s.Core, x.MchID, x.OutTradeNo)
		if err != nil {
			return x, err
		}
		if sid == "" {
			return x, nil // not settled yet
		}
		f.Date = sid[2:6] + "-" + sid[6:8] + "-" + sid[8:10]
	}
	x.Settlements, err = s.List(ctx, f)
	return x, err
}

// Exceptions lists exception requests: a merchant's (mchid set), newest
// first, or every open one for the staff (mchid ""), the earliest due
// first.
func (s *Service) Exceptions(ctx context.Context, mchid string) ([]Exception, error) {
	out := []Exception{}
	if mchid != "" {
		out, err := db.All(ctx, s.Core, s.scanException, `SELECT `+exceptionCols+` FROM settlement_exceptions WHERE mchid = $1 ORDER BY created_at DESC, id`, mchid)
		if err != nil {
			return nil, fenfu.Internal("settle.Exceptions", err)
		}
		for i := 0; i < len(out); i += 500 {
			if err := s.withTickets(ctx, out[i:min(i+500, len(out))]); err != nil {
				return nil, fenfu.Op("settle.Exceptions", err)
			}
		}
		return out, nil
	}
	// The open ones are the open settlement-delay tickets that are
	// exception requests, in the order of their tickets.
	f := ticket.Filter{Type: ticket.SettlementDelay, Order: ticket.Urgent, Keyset: fenfu.Keyset{Limit: ticket.MaxLimit}}
	for {
		page, err := s.tickets().List(ctx, ticket.Platform, f)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(page.Tickets))
		for i, t := range page.Tickets {
			ids[i] = t.ID
		}
		if len(ids) > 0 {
			ph, args := db.In(ids, 0)
			xs, err := db.All(ctx, s.Core, s.scanException, `SELECT `+exceptionCols+` FROM settlement_exceptions WHERE id IN (`+ph+`)`, args...)
			if err != nil {
				return nil, fenfu.Internal("settle.Exceptions", err)
			}
			byID := make(map[string]Exception, len(xs))
			for _, x := range xs {
				byID[x.ID] = x
			}
			for _, t := range page.Tickets {
				if x, ok := byID[t.ID]; ok {
					x.of(t)
					out = append(out, x)
				}
			}
		}
		if page.Next == "" {
			return out, nil
		}
		f.After = page.Next
	}
}

// ResolveException closes an open request as RESOLVED or REJECTED with
// the answer, which the merchant sees, on behalf of the platform; see
// ResolveExceptionAs.
func (s *Service) ResolveException(ctx context.Context, id, status, resolution string) (Exception, error) {
	return s.ResolveExceptionAs(ctx, ticket.Platform, id, status, resolution)
}

// ResolveExceptionAs closes an open request as RESOLVED or REJECTED with
// the answer, which the merchant sees: its ticket is resolved, or closed
// without a fix, by the staff member by, which stops its timer.
func (s *Service) ResolveExceptionAs(ctx context.Context, by ticket.Actor, id, status, resolution string) (Exception, error) {
	if status != ExceptionResolved && status != ExceptionRejected {
		return Exception{}, fenfu.FieldError("status", "status must be RESOLVED or REJECTED")
	}
	if resolution == "" || utf8.RuneCountInString(resolution) > 1000 {
		return Exception{}, fenfu.FieldError("resolution", "answer the merchant in 1 to 1000 characters")
	}
	x, err := s.Exception(ctx, "", id)
	if err != nil {
		return x, err
	}
	if x.Status == ExceptionOpen {
		if status == ExceptionResolved {
			_, err = s.tickets().Resolve(ctx, by, id, resolution)
		} else {
			_, err = s.tickets().Close(ctx, by, id, resolution)
		}
		if fenfu.ErrorCode(err) != fenfu.InvalidRequest {
			if err != nil {
				return Exception{}, err
			}
			return s.Exception(ctx, "", id)
		}
		// Answered meanwhile.
		if x, err = s.Exception(ctx, "", id); err != nil {
			return x, err
		}
	}
	return x, fenfu.Errorf(fenfu.InvalidRequest, "settlement exception %s is already %s", id, x.Status)
}

// Columns are settlement's sealed columns: the exceptions' attachments.
func Columns() []seal.Column {
	return []seal.Column{{Table: "settlement_exceptions", Key: "id", Value: "attachment", Context: attachmentContext}}
}
