package cashier

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/credit"
	"github.com/fenfu/fenfu/mask"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/paycode"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/web"
)

// The consumer's payment code (付款码): a page that shows a code for the
// channel the consumer picks as a Code 128 barcode and a QR code, with
// the first digits printed under the barcode and the rest behind a
// control, a new code every minute, and what became of the code — paid
// at a merchant, waiting for the consumer's confirmation, expired. The
// page's small script fetches the next code and the code's status as
// JSON; without script the page reloads itself each minute. A code never
// travels in a URL the page requests: the images are data: URIs in the
// page and in the JSON, and the page asks for a code's status with the
// code in a header.

// codeHeader is the request header the page sends the code whose status
// it asks for in; programs may use the code query parameter instead.
const codeHeader = "X-Payment-Code"

// registerPaycode adds the payment code routes.
func (c *Cashier) registerPaycode(mux route.Mux) {
	mux.HandleFunc("GET /cashier/paycode", c.handlePaycode)
	mux.HandleFunc("POST /cashier/paycode", c.handleIssue)
	mux.HandleFunc("GET /cashier/paycode/status", c.handleCodeStatus)
}

// Issued is a code as the JSON answers give it, with its images.
type Issued struct {
	Code      string `json:"code"`
	Channel   string `json:"channel"`
	IssuedAt  string `json:"issued_at"`
	ExpiresAt string `json:"expires_at"`
	// RefreshAfter is the seconds after which the page shows the next
	// code, before this one expires.
	RefreshAfter int `json:"refresh_after"`
	// Images are the barcode and the QR code as data: URIs of PNGs.
	Images codeImages `json:"images"`
}

type codeImages struct {
	Barcode template.URL `json:"barcode"`
	QR      template.URL `json:"qr"`
}

// Masked is the code as the page prints it before the consumer asks for
// every digit: the first four, the rest hidden, in groups of four.
func (i Issued) Masked() string { return group(i.Code[:4] + strings.Repeat("•", len(i.Code)-4)) }

// Grouped is every digit of the code, in groups of four.
func (i Issued) Grouped() string { return group(i.Code) }

func group(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ExpiresText is the code's expiry as the consumer reads it, Shanghai
// time to the second.
func (i Issued) ExpiresText() string {
	t, err := time.Parse(time.RFC3339, i.ExpiresAt)
	if err != nil {
		return i.ExpiresAt
	}
	return t.In(fenfu.Shanghai).Format(time.TimeOnly)
}

// codeChannel is a channel the page offers a code for.
type codeChannel struct {
	Name      string
	Label     string
	Available fenfu.Fen
	// Disabled is why no code of the channel can be issued now: no
	// credit line, or a line that takes no credit payment now.
	Disabled *fenfu.Error
}

// paycodePage is what the payment code page shows.
type paycodePage struct {
	LoggedIn bool
	Next     string
	Phone    string
	Channels []codeChannel
	Channel  string
	Code     *Issued
	// Wait is, when a code was issued a moment ago, the seconds until the
	// page can show another.
	Wait    int
	Nonce   string
	Problem *problem
}

// Label is the label of the channel the code is for.
func (p paycodePage) Label() string {
	for _, ch := range p.Channels {
		if ch.Name == p.Channel {
			return ch.Label
		}
	}
	return p.Channel
}

// codeChannels are the channels the consumer may show a code for, with what
// each has available and why credit is disabled, if it is: the same
// credit.Paused decision, and words, as the account page's and the
// payment's.
func (c *Cashier) codeChannels(ctx context.Context, x consumer.Consumer) ([]codeChannel, error) {
	cr := codeChannel{Name: paycode.Credit, Label: "分付 · pay later on credit", Available: x.Credit.Available}
	switch {
	case x.Credit.State == "":
		cr.Disabled = fenfu.Errorf(fenfu.NotEnough, "you have no credit line")
		cr.Disabled.Remedy = "Show a balance code; a credit line is granted by the platform."
	case c.Repay != nil:
		if err := c.Repay.Paused(ctx, x.Credit); fenfu.ErrorCode(err) == fenfu.RuleLimit {
			cr.Disabled = fenfu.AsError(err)
		} else if err != nil {
			return nil, err
		}
	default:
		if err := credit.Paused(x.Credit.State, credit.Overdue{}); err != nil {
			cr.Disabled = fenfu.AsError(err)
		}
	}
	return []codeChannel{cr, {Name: paycode.Balance, Label: "零钱 · balance", Available: x.Balance}}, nil
}

// pick is the channel a code is issued for: the one asked for, or, when
// none is, credit if it can be shown, else balance.
func pick(chs []codeChannel, asked string) (string, error) {
	if asked == "" {
		for _, ch := range chs {
			if ch.Disabled == nil {
				return ch.Name, nil
			}
		}
	}
	for _, ch := range chs {
		if ch.Name == asked {
			if ch.Disabled != nil {
				return asked, ch.Disabled
			}
			return asked, nil
		}
	}
	return "", fenfu.FieldError("channel", "channel must be credit or balance")
}

// issue issues the consumer a code for the channel asked for and renders
// its images.
func (c *Cashier) issue(ctx context.Context, p *paycodePage, consumerID, asked string) error {
	x, err := c.Consumers.Get(ctx, consumerID)
	if err != nil {
		return err
	}
	p.Phone = mask.Phone(x.Phone)
	if p.Channels, err = c.codeChannels(ctx, x); err != nil {
		return err
	}
	if p.Channel, err = pick(p.Channels, asked); err != nil {
		return err
	}
	code, err := c.Paycodes.Issue(ctx, consumerID, p.Channel)
	if err != nil {
		return err
	}
	bar, err := paycode.BarcodePNG(code.Code)
	if err != nil {
		return err
	}
	qr, err := paycode.QRPNG(code.Code)
	if err != nil {
		return err
	}
	p.Code = &Issued{Code: code.Code, Channel: code.Channel, IssuedAt: rfc3339(code.IssuedAt), ExpiresAt: rfc3339(code.ExpiresAt),
		RefreshAfter: int(paycode.Refresh / time.Second), Images: codeImages{Barcode: dataURI(bar), QR: dataURI(qr)}}
	return nil
}

func rfc3339(t time.Time) string { return t.In(fenfu.Shanghai).Format(time.RFC3339) }

// dataURI is png as a data: URI, which the page shows as it is: the
// bytes are ours, not the consumer's.
func dataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// handlePaycode answers the payment code page with a new code, for the
// channel of ?channel= or the first that can be shown; a program gets the
// code as JSON, as from POST.
func (c *Cashier) handlePaycode(w http.ResponseWriter, r *http.Request) {
	c.showCode(w, r, r.URL.Query().Get("channel"))
}

// handleIssue issues a code for a channel: {channel} as JSON (or no
// body, for the channel the page would pick), answered as JSON, or the
// page's channel form, answered with the page.
func (c *Cashier) handleIssue(w http.ResponseWriter, r *http.Request) {
	form, ok := c.pagePost(w, r, "payment code")
	if !ok {
		return
	}
	var req struct {
		Channel string `json:"channel"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if form {
		req.Channel = r.PostFormValue("channel")
	} else if err := json.NewDecoder(r.Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) { // no body: no channel asked
		r.Header.Set("Accept", "application/json")
		c.fail(w, r, fenfu.Errorf(fenfu.ParamError, "the body must be a JSON object {channel}"))
		return
	}
	c.showCode(w, r, req.Channel)
}

// showCode issues the logged-in consumer a code for the channel and
// answers it: JSON to a program, the page to a browser (with the reason
// when no code could be issued).
func (c *Cashier) showCode(w http.ResponseWriter, r *http.Request, channel string) {
	id, ok := c.loggedIn(w, r)
	if !ok {
		return
	}
	p := paycodePage{LoggedIn: true, Next: "/cashier/paycode"}
	err := c.issue(r.Context(), &p, id, channel)
	if !wantsPage(r) {
		if err != nil {
			r.Header.Set("Accept", "application/json")
			c.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		web.WriteJSON(w, http.StatusOK, p.Code)
		return
	}
	status := http.StatusOK
	if err != nil {
		e := fenfu.AsError(err)
		if e.Code == fenfu.SystemError || p.Channels == nil {
			c.fail(w, r, err)
			return
		}
		c.logFailure(r, e, err)
		p.Problem, status = c.problemOf(r, err, "", nil), e.Code.HTTPStatus()
		if e.Code == fenfu.FrequencyLimited {
			p.Wait, p.Problem, status = max(int(c.Paycodes.Gap/time.Second), 1), nil, http.StatusOK
		}
	}
	c.renderCode(w, r, status, p)
}

// renderCode renders the payment code page, whose inline script runs
// under the response's nonce and whose images are data: URIs; a page
// with a code is never stored.
func (c *Cashier) renderCode(w http.ResponseWriter, r *http.Request, status int, p paycodePage) {
	p.Nonce = web.Nonce()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", web.ScriptPolicy(p.Nonce))
	c.render(w, r, status, "paycode.html", p)
}

// CodeStatus is what became of a code, as the page polls it.
type CodeStatus struct {
	// State is unused, paying, paid, confirm (an order waits for the
	// consumer to confirm it), used (its order is not to be read, or did
	// not complete) or expired (also a code a newer one replaced).
	State     string `json:"state"`
	Channel   string `json:"channel"`
	ExpiresAt string `json:"expires_at"`
	// The order the code paid or is paying, for paying, paid and confirm.
	TransactionID string    `json:"transaction_id,omitempty"`
	Merchant      string    `json:"merchant,omitempty"`
	Amount        fenfu.Fen `json:"amount,omitempty"`
	// AmountText is Amount as the pages print it, in yuan with thousands
	// separators (12,345.67).
	AmountText string `json:"amount_text,omitempty"`
	PaidAt     string `json:"paid_at,omitempty"`
	// ConfirmURL is the page where the consumer confirms the payment.
	ConfirmURL string `json:"confirm_url,omitempty"`
}

// Code states.
const (
	CodeUnused  = "unused"
	CodePaying  = "paying"
	CodePaid    = "paid"
	CodeConfirm = "confirm"
	CodeUsed    = "used"
	CodeExpired = "expired"
)

// handleCodeStatus answers what became of one of the consumer's codes:
// the code in the X-Payment-Code header, never in the URL, which proxies
// log. Another consumer's code reads as RESOURCE_NOT_EXISTS.
func (c *Cashier) handleCodeStatus(w http.ResponseWriter, r *http.Request) {
	r.Header.Set("Accept", "application/json")
	id, ok := c.loggedIn(w, r)
	if !ok {
		return
	}
	code := r.Header.Get(codeHeader)
	pc, err := c.Paycodes.Status(r.Context(), id, code)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	var o *pay.Order
	var merchant string
	if pc.OrderID != "" {
		// Read as the confirm page reads it: a payment its consumer did
		// not confirm in time is no longer waiting.
		if x, err := c.Orders.Waiting(r.Context(), pc.OrderID, id); err == nil {
			o = &x
			merchant = x.MchID
			if m, err := c.Merchants.Get(r.Context(), x.MchID); err == nil {
				merchant = m.Name
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	web.WriteJSON(w, http.StatusOK, codeStatus(pc, o, merchant, c.Clock.Now()))
}

// codeStatus is what became of code: o is the order it paid or is paying,
// nil when there is none or it cannot be read, and merchant its
// merchant's name.
func codeStatus(code paycode.Code, o *pay.Order, merchant string, now time.Time) CodeStatus {
	s := CodeStatus{Channel: code.Channel, ExpiresAt: rfc3339(code.ExpiresAt)}
	switch {
	case code.OrderID == "" && code.ExpiresAt.After(now):
		s.State = CodeUnused
		return s
	case code.OrderID == "":
		s.State = CodeExpired
		return s
	case o == nil || (o.ConsumerID != "" && o.ConsumerID != code.ConsumerID):
		s.State = CodeUsed
		return s
	}
	s.TransactionID, s.Merchant, s.Amount, s.AmountText = o.ID, merchant, o.Total, web.Money(o.Total)
	switch {
	case o.State == pay.Success || o.State == pay.Refund:
		s.State, s.PaidAt = CodePaid, rfc3339(o.PaidAt)
	case o.State == pay.Paying:
		s.State = CodePaying
	case o.State == pay.NotPay && o.ConsumerID != "":
		s.State, s.ConfirmURL = CodeConfirm, "/cashier/paycode/orders/"+o.ID
	default:
		s = CodeStatus{State: CodeUsed, Channel: s.Channel, ExpiresAt: s.ExpiresAt}
	}
	return s
}
