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
)

// ExceptionSLA is how long the platform has to answer a settlement
// exception request (SPEC §8).
const ExceptionSLA = 24 * time.Hour

func (s *Service) exceptionSLA() time.Duration {
	if s.ExceptionSLA > 0 {
		return s.ExceptionSLA
	}
	return ExceptionSLA
}

// MaxAttachment bounds an exception's attachment (the transaction record
// the merchant sends along).
const MaxAttachment = 40 << 10

// Exception states.
const (
	ExceptionOpen     = "OPEN"
	ExceptionResolved = "RESOLVED"
	ExceptionRejected = "REJECTED"
)

// exceptions is an exception request's state machine: open until staff
// resolve or reject it.
var exceptions = db.Machine[string]{Table: "settlement_exceptions", Column: "status", Allowed: map[string][]string{
	ExceptionOpen: {ExceptionResolved, ExceptionRejected},
}}

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
	// Overdue is set while an open request is past its SLA.
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

// FileException records a merchant's settlement exception request and
// starts its SLA (ExceptionSLA of the service).
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
	}
	now := s.Clock.Now()
	x := Exception{ID: "SE" + ids.New(fenfu.RequestID, now), MchID: mchid, SettleDate: in.SettleDate, OutTradeNo: in.OutTradeNo,
		Description: in.Description, AttachmentName: in.AttachmentName, Attachment: in.Attachment, Status: ExceptionOpen,
		CreatedAt: db.Time(db.Micros(now)), DueAt: db.Time(db.Micros(now.Add(s.exceptionSLA())))}
	if len(in.Attachment) > 0 {
		sum := sha256.Sum256(in.Attachment)
		x.AttachmentSHA256 = hex.EncodeToString(sum[:])
	}
	att := base64.StdEncoding.EncodeToString(x.Attachment)
	if s.Sealer != nil && len(x.Attachment) > 0 {
		var err error
		if att, err = s.Sealer.Seal(att, attachmentContext(x.ID)); err != nil {
			return Exception{}, fenfu.Internal("settle.FileException", err)
		}
	}
	_, err := s.Core.Exec(ctx, `INSERT INTO settlement_exceptions (id, mchid, settle_date, out_trade_no, description, attachment_name,
		attachment, attachment_sha256, status, created_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		x.ID, mchid, x.SettleDate, x.OutTradeNo, x.Description, x.AttachmentName, att,
		x.AttachmentSHA256, x.Status, db.Micros(x.CreatedAt), db.Micros(x.DueAt))
	if err != nil {
		return Exception{}, fenfu.Internal("settle.FileException", err)
	}
	return s.Exception(ctx, mchid, x.ID)
}

func attachmentContext(id string) string { return "settlement_exceptions.attachment:" + id }

const exceptionCols = `id, mchid, settle_date, out_trade_no, description, attachment_name, attachment, attachment_sha256, status,
	resolution, created_at, due_at, resolved_at`

func (s *Service) scanException(row interface{ Scan(...any) error }) (Exception, error) {
	var x Exception
	var att string
	var created, due, resolved int64
	if err := row.Scan(&x.ID, &x.MchID, &x.SettleDate, &x.OutTradeNo, &x.Description, &x.AttachmentName, &att,
		&x.AttachmentSHA256, &x.Status, &x.Resolution, &created, &due, &resolved); err != nil {
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
	x.CreatedAt, x.DueAt = db.Time(created), db.Time(due)
	if resolved > 0 {
		x.ResolvedAt = db.Time(resolved)
	}
	x.Overdue = x.Status == ExceptionOpen && s.Clock.Now().After(x.DueAt)
	return x, nil
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

// Exceptions lists exception requests, oldest due first: a merchant's
// (mchid set), or every open one for the staff (mchid "").
func (s *Service) Exceptions(ctx context.Context, mchid string) ([]Exception, error) {
	q, args := `SELECT `+exceptionCols+` FROM settlement_exceptions WHERE status = 'OPEN' ORDER BY due_at, id`, []any{}
	if mchid != "" {
		q, args = `SELECT `+exceptionCols+` FROM settlement_exceptions WHERE mchid = $1 ORDER BY created_at DESC, id`, []any{mchid}
	}
	rows, err := s.Core.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fenfu.Internal("settle.Exceptions", err)
	}
	defer rows.Close()
	out := []Exception{}
	for rows.Next() {
		x, err := s.scanException(rows)
		if err != nil {
			return nil, fenfu.Internal("settle.Exceptions", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// ResolveException closes an open request as RESOLVED or REJECTED with
// the staff's answer, which the merchant sees.
func (s *Service) ResolveException(ctx context.Context, id, status, resolution string) (Exception, error) {
	if status != ExceptionResolved && status != ExceptionRejected {
		return Exception{}, fenfu.FieldError("status", "status must be RESOLVED or REJECTED")
	}
	if resolution == "" || utf8.RuneCountInString(resolution) > 1000 {
		return Exception{}, fenfu.FieldError("resolution", "answer the merchant in 1 to 1000 characters")
	}
	q, args, err := exceptions.SQL(db.Move[string]{From: []string{ExceptionOpen}, To: status, Set: ", resolution = $1, resolved_at = $2",
		Where: "id = $3", Args: []any{resolution, db.Micros(s.Clock.Now()), id}})
	if err != nil {
		return Exception{}, fenfu.Internal("settle.ResolveException", err)
	}
	res, err := s.Core.Exec(ctx, q, args...)
	if err != nil {
		return Exception{}, fenfu.Internal("settle.ResolveException", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		x, err := s.Exception(ctx, "", id)
		if err != nil {
			return x, err
		}
		return x, fenfu.Errorf(fenfu.InvalidRequest, "settlement exception %s is already %s", id, x.Status)
	}
	return s.Exception(ctx, "", id)
}

// Columns are settlement's sealed columns: the exceptions' attachments.
func Columns() []seal.Column {
	return []seal.Column{{Table: "settlement_exceptions", Key: "id", Value: "attachment", Context: attachmentContext}}
}
