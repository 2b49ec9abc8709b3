// Package receipt lays out a paid order's receipt: the merchant, the
// terminal, the order's numbers, the time it was paid, the amount and
// channel, the installment plan of a credit payment, and the verification
// code with the QR of its lookup URL. It renders the one layout as ESC/POS
// bytes for 58 mm and 80 mm thermal printers and as a receipt-sized PDF.
// It reads no store: the caller fills a Receipt.
package receipt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
)

// Receipt is what a receipt shows.
type Receipt struct {
	Merchant      string // the merchant's name
	MchID         string
	DeviceID      string // the terminal: the order's scene_info.device_id
	TransactionID string
	OutTradeNo    string
	PaidAt        time.Time // shown in Asia/Shanghai
	Total         fenfu.Fen
	Credit        bool // paid on credit (分付); otherwise from balance (零钱)
	// Installments is the credit payment's repayment plan (one
	// installment for a payment in full), empty for a balance payment.
	Installments []Installment
	// Fee is the plan's whole installment fee, and MerchantPaysFee whether
	// the merchant bears it (the installments then carry none).
	Fee             fenfu.Fen
	MerchantPaysFee bool
	// Code is the verification code (Codes.Code) and LookupURL the page
	// that checks it, which the QR carries.
	Code      string
	LookupURL string
}

// Installment is one installment of the plan.
type Installment struct {
	Seq   int
	DueOn string    // YYYY-MM-DD, Asia/Shanghai
	Due   fenfu.Fen // principal and fee
	Fee   fenfu.Fen
}

// Format is a rendering of a receipt.
type Format string

// The formats.
const (
	ESCPOS58 Format = "escpos-58" // ESC/POS, 58 mm paper: 32 columns of Font A
	ESCPOS80 Format = "escpos-80" // ESC/POS, 80 mm paper: 48 columns of Font A
	PDF      Format = "pdf"
)

// Formats are the formats, as ParseFormat reads them.
var Formats = []Format{ESCPOS58, ESCPOS80, PDF}

// ParseFormat reads a format's name; empty is an error, as is any other
// name, with a PARAM_ERROR naming the field.
func ParseFormat(field, s string) (Format, error) {
	for _, f := range Formats {
		if s == string(f) {
			return f, nil
		}
	}
	shown := s
	if len(shown) > 32 || !utf8.ValidString(shown) {
		shown = "that value"
	}
	e := fenfu.FieldError(field, "%s must be escpos-58, escpos-80 or pdf, not %q", field, shown)
	e.Remedy = "Ask for escpos-58 (58 mm thermal printers), escpos-80 (80 mm) or pdf."
	return "", e
}

// ContentType is the media type of a rendering.
func (f Format) ContentType() string {
	if f == PDF {
		return "application/pdf"
	}
	return "application/octet-stream"
}

// Ext is the file name extension of a rendering.
func (f Format) Ext() string {
	if f == PDF {
		return ".pdf"
	}
	return ".bin"
}

// Codes derives receipts' verification codes from a secret.
type Codes struct{ key []byte }

// NewCodes returns Codes for the secret. The key is derived, as qr's and
// the bill links' are, so the secret serves each purpose apart.
func NewCodes(secret []byte) *Codes {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("fenfu receipt code v1"))
	return &Codes{key: m.Sum(nil)}
}

// CodeDigits is how many digits a verification code has.
const CodeDigits = 8

// Code is the verification code of a payment: 8 digits of an HMAC over
// its transaction_id, amount and paid time (to the second), so a receipt
// whose amount or time was altered does not verify.
func (c *Codes) Code(transactionID string, total fenfu.Fen, paidAt time.Time) string {
	m := hmac.New(sha256.New, c.key)
	fmt.Fprintf(m, "%s|%d|%d", transactionID, total, paidAt.Unix())
	n := binary.BigEndian.Uint64(m.Sum(nil)[:8]) % 100_000_000
	return fmt.Sprintf("%0*d", CodeDigits, n)
}

// Check reports, in constant time, whether code is the payment's.
func (c *Codes) Check(code, transactionID string, total fenfu.Fen, paidAt time.Time) bool {
	return hmac.Equal([]byte(code), []byte(c.Code(transactionID, total, paidAt)))
}

// A layout is the receipt as lines, which each rendering draws in its own
// way: text on a line of its own, a label with its value at the right, a
// row of the installment table, a rule, the QR.
type line struct {
	kind  lineKind
	cells []string // text: one; pair: label, value; row: the columns
	align align
	bold  bool
	big   bool // the title: double height
}

type lineKind int

const (
	text lineKind = iota
	pair
	row
	rule
	code // the QR of cells[0]
	blank
)

type align int

const (
	left align = iota
	center
	right
)

// yuan shows an amount with the fullwidth yuan sign, which GB2312 has
// (the halfwidth ¥ needs GB18030's four-byte codes, which many printers'
// fonts lack).
func yuan(f fenfu.Fen) string { return "￥" + fenfu.Yuan(f) }

// layout is the receipt's content, top to bottom.
func layout(r Receipt) []line {
	ls := []line{
		{kind: text, cells: []string{clean(r.Merchant)}, align: center, bold: true, big: true},
		{kind: text, cells: []string{"分付 · 消费凭证 Receipt"}, align: center},
		{kind: rule},
		{kind: pair, cells: []string{"商户号 MchID", clean(r.MchID)}},
	}
	if r.DeviceID != "" {
		ls = append(ls, line{kind: pair, cells: []string{"终端 Terminal", clean(r.DeviceID)}})
	}
	channel := "零钱 Balance"
	if r.Credit {
		channel = "分付 Credit"
	}
	ls = append(ls,
		line{kind: pair, cells: []string{"交易单号 Transaction", clean(r.TransactionID)}},
		line{kind: pair, cells: []string{"商户单号 Order", clean(r.OutTradeNo)}},
		line{kind: pair, cells: []string{"支付时间 Paid", r.PaidAt.In(fenfu.Shanghai).Format(time.DateTime)}},
		line{kind: pair, cells: []string{"支付方式 Channel", channel}},
		line{kind: pair, cells: []string{"金额 Amount", yuan(r.Total)}, bold: true},
	)
	if len(r.Installments) > 0 {
		ls = append(ls, line{kind: rule},
			line{kind: text, cells: []string{fmt.Sprintf("还款计划 %d 期 Repayment plan", len(r.Installments))}, bold: true},
			line{kind: row, cells: []string{"期", "到期日", "应还", "手续费"}})
		for _, in := range r.Installments {
			ls = append(ls, line{kind: row, cells: []string{strconv.Itoa(in.Seq), in.DueOn, fenfu.Yuan(in.Due), fenfu.Yuan(in.Fee)}})
		}
		who := "您承担 payer"
		if r.MerchantPaysFee {
			who = "商户承担 merchant"
		}
		ls = append(ls, line{kind: pair, cells: []string{"手续费合计 Fee total", yuan(r.Fee)}},
			line{kind: pair, cells: []string{"手续费承担 Fee borne by", who}})
	}
	ls = append(ls, line{kind: rule},
		line{kind: pair, cells: []string{"验证码 Code", r.Code}, bold: true},
		line{kind: code, cells: []string{r.LookupURL}, align: center},
		line{kind: text, cells: []string{"扫码验证真伪 Scan to verify"}, align: center},
		line{kind: text, cells: []string{r.LookupURL}, align: center},
		line{kind: blank},
	)
	return ls
}

// clean drops control characters and the like from text a merchant or
// its request chose, so no byte of it reaches a printer as a command.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
}
