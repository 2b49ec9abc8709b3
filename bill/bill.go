// Package bill renders merchants' daily bills in the WeChat Pay format
// (SPEC §3): the trade bill (交易账单) of a day's payments and refunds,
// and the fund-flow bill (资金账单) of the movements on a merchant's
// accounts. A file is a header row, detail rows whose every field starts
// with a backtick (so spreadsheets keep "0012" and long numbers as text),
// a summary header and a summary row; amounts are yuan with two decimals,
// times Asia/Shanghai.
//
// A trade belongs to the day it was paid or its refund accepted. A bill
// covers one merchant and day, and either channel or both: credit-pay and
// ordinary trades are billed apart when asked, as they are settled apart.
// Bills are snapshots: the first rendering of a day that has ended is
// stored and every later request answers it, byte for byte.
package bill

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/pay"
)

// Kinds of bill.
const (
	Trade    = "trade"
	FundFlow = "fundflow"
)

// Trade bill types.
const (
	All     = "ALL"     // payments and refunds
	Success = "SUCCESS" // payments
	Refund  = "REFUND"  // refunds
)

// Fund-flow account types: BASIC is the merchant's pending settlement
// (payments in, refunds and settlements out), OPERATION its settlement
// account (settlements in), FEES the fees its trades were charged and
// refunds returned.
const (
	Basic     = "BASIC"
	Operation = "OPERATION"
	Fees      = "FEES"
)

// Request names a bill.
type Request struct {
	MchID string
	Date  string // YYYY-MM-DD, Asia/Shanghai
	Kind  string // Trade or FundFlow
	// Type is the bill type (ALL, SUCCESS, REFUND) of a trade bill, or the
	// account type (BASIC, OPERATION, FEES) of a fund-flow bill.
	Type    string
	Channel string // string(pay.ChannelCredit), string(pay.ChannelBalance), or "" for both
}

func (r Request) variant() string {
	ch := r.Channel
	if ch == "" {
		ch = "all"
	}
	return r.Type + "/" + ch
}

// ParseChannel maps the channel parameter of a bill request: CREDIT,
// ORDINARY, or empty (or ALL) for both.
func ParseChannel(s string) (string, error) {
	if s == "" || strings.EqualFold(s, "ALL") {
		return "", nil
	}
	ch, err := pay.ParseChannel(s)
	if err != nil {
		return "", fenfu.FieldError("channel", "channel must be CREDIT, ORDINARY or ALL, not %q", s)
	}
	return string(ch), nil
}

// Service renders and keeps bills.
type Service struct {
	Core  *db.DB
	Clock fenfu.Clock
	// OpenID gives a consumer's identifier under an app (用户标识).
	OpenID func(appid, consumerID string) string
	// BankType names the channel of a paid order (付款银行).
	BankType func(channel string) string
}

// MaxAge is how far back bills can be fetched through the API, as WeChat's
// three months.
const MaxAge = 93 * 24 * time.Hour

// Check validates a request and that its day has ended, returning the
// day's bounds.
func (s *Service) Check(r Request) (from, to time.Time, err error) {
	d, perr := time.ParseInLocation(time.DateOnly, r.Date, fenfu.Shanghai)
	if perr != nil || d.Format(time.DateOnly) != r.Date {
		return from, to, fenfu.FieldError("bill_date", "bill_date must be a date, YYYY-MM-DD, not %q", r.Date)
	}
	switch r.Kind {
	case Trade:
		if r.Type != All && r.Type != Success && r.Type != Refund {
			return from, to, fenfu.FieldError("bill_type", "bill_type must be ALL, SUCCESS or REFUND, not %q", r.Type)
		}
	case FundFlow:
		if r.Type != Basic && r.Type != Operation && r.Type != Fees {
			return from, to, fenfu.FieldError("account_type", "account_type must be BASIC, OPERATION or FEES, not %q", r.Type)
		}
	default:
		return from, to, fmt.Errorf("bill: unknown kind %q", r.Kind)
	}
	if r.Channel != "" && r.Channel != string(pay.ChannelCredit) && r.Channel != string(pay.ChannelBalance) {
		return from, to, fenfu.FieldError("channel", "channel must be CREDIT, ORDINARY or ALL")
	}
	from, to = d, d.AddDate(0, 0, 1)
	now := s.Clock.Now()
	if now.Before(to) {
		return from, to, fenfu.Errorf(fenfu.NoStatementExist, "the bill of %s does not exist yet: the day has not ended (Asia/Shanghai)", r.Date)
	}
	if now.Sub(to) > MaxAge {
		return from, to, fenfu.Errorf(fenfu.NoStatementExist, "bills older than three months are not available through the API")
	}
	return from, to, nil
}

// File is a bill as served.
type File struct {
	Data []byte
	// SHA1 is the hex SHA-1 of Data, as the bill request's hash_value.
	SHA1 string
}

// Get returns a bill: the stored snapshot, or one rendered and stored now.
// gzipped selects the GZIP file (tar_type=GZIP) instead of the text. A day
// with nothing to bill fails with NO_STATEMENT_EXIST, as WeChat does.
func (s *Service) Get(ctx context.Context, r Request, gzipped bool) (File, error) {
	text, err := s.Text(ctx, r)
	if err != nil {
		return File{}, err
	}
	data := []byte(text)
	if gzipped {
		data = Gzip(data)
	}
	sum := sha1.Sum(data)
	return File{Data: data, SHA1: hex.EncodeToString(sum[:])}, nil
}

// Gzip compresses a bill deterministically (no name, no time), so the same
// text always gives the same file and hash.
func Gzip(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return b.Bytes()
}

// Text returns a bill's text, stored or rendered now and stored.
func (s *Service) Text(ctx context.Context, r Request) (string, error) {
	from, to, err := s.Check(r)
	if err != nil {
		return "", err
	}
	var text string
	err = s.Core.QueryRowContext(ctx, `SELECT content FROM bills WHERE mchid = $1 AND bill_date = $2 AND kind = $3 AND variant = $4`,
		r.MchID, r.Date, r.Kind, r.variant()).Scan(&text)
	if err == nil {
		return nonEmpty(text, r)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fenfu.Internal("bill.Text", err)
	}
	text, err = s.render(ctx, r, from, to)
	if err != nil {
		return "", err
	}
	if _, err := s.store(ctx, r, text); err != nil {
		return "", err
	}
	if err := s.Core.QueryRowContext(ctx, `SELECT content FROM bills WHERE mchid = $1 AND bill_date = $2 AND kind = $3 AND variant = $4`,
		r.MchID, r.Date, r.Kind, r.variant()).Scan(&text); err != nil {
		return "", fenfu.Internal("bill.Text", err)
	}
	return nonEmpty(text, r)
}

// store keeps a bill's first rendering: if one is already stored (a
// concurrent rendering that stored first), it stays, and store reports
// false.
func (s *Service) store(ctx context.Context, r Request, text string) (bool, error) {
	res, err := s.Core.Exec(ctx, `INSERT INTO bills (mchid, bill_date, kind, variant, content, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		r.MchID, r.Date, r.Kind, r.variant(), text, db.Micros(s.Clock.Now()))
	if err != nil {
		return false, fenfu.Internal("bill.store", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// empty is the stored text of a bill with no detail rows.
const empty = ""

func nonEmpty(text string, r Request) (string, error) {
	if text == empty {
		return "", fenfu.Errorf(fenfu.NoStatementExist, "merchant %s has no %s bill entries on %s", r.MchID, r.Kind, r.Date)
	}
	return text, nil
}

// Render renders a bill from the stores as they are now, or returns empty
// if it would have no detail rows.
func (s *Service) Render(ctx context.Context, r Request) (string, error) {
	from, to, err := s.Check(r)
	if err != nil {
		return "", err
	}
	return s.render(ctx, r, from, to)
}

func (s *Service) render(ctx context.Context, r Request, from, to time.Time) (string, error) {
	var w writer
	var err error
	switch r.Kind {
	case Trade:
		err = s.trade(ctx, &w, r, from, to)
	default:
		err = s.fundFlow(ctx, &w, r, from, to)
	}
	if err != nil {
		return "", fenfu.Internal("bill.render", err)
	}
	if w.rows == 0 {
		return empty, nil
	}
	return w.b.String(), nil
}

// writer writes the bill format.
type writer struct {
	b    strings.Builder
	rows int
}

func (w *writer) header(cols ...string) {
	w.b.WriteString(strings.Join(cols, ","))
	w.b.WriteString("\r\n")
}

// row writes a detail or summary row, each field after a backtick.
func (w *writer) row(fields ...string) {
	for i, f := range fields {
		if i > 0 {
			w.b.WriteByte(',')
		}
		w.b.WriteByte('`')
		w.b.WriteString(clean(f))
	}
	w.b.WriteString("\r\n")
}

// clean keeps a free-text field from breaking the format: commas become
// full-width commas, backticks and line breaks spaces.
func clean(s string) string {
	if !strings.ContainsAny(s, ",`\r\n") {
		return s
	}
	return strings.NewReplacer(",", "，", "`", " ", "\r", " ", "\n", " ").Replace(s)
}

func stamp(micros int64) string {
	return db.Time(micros).In(fenfu.Shanghai).Format(time.DateTime)
}
