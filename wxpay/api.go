// Package wxpay speaks the WeChat Pay API v3 wire protocol over fenfu's
// domain: it authenticates merchants' signed requests, decodes and
// validates their JSON, calls package pay, and answers with WeChat's field
// names, error codes and HTTP statuses, every response signed with the
// platform key so the official SDKs' validators accept it. It holds no
// business rules of its own.
package wxpay

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/aggregate"
	"github.com/fenfu/fenfu/bill"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/display"
	"github.com/fenfu/fenfu/doctor"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/qr"
	"github.com/fenfu/fenfu/ratelimit"
	"github.com/fenfu/fenfu/repay"
	"github.com/fenfu/fenfu/route"
	"github.com/fenfu/fenfu/sandbox"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
)

// MaxBody is the largest request body accepted.
const MaxBody = 64 << 10

// API serves the v3 merchant endpoints.
type API struct {
	Services // the domain the protocol is a skin over

	// The protocol's own settings.
	Keys   *keyring.Keyring   // the platform keys that sign responses
	Nonces Nonces             // replay protection
	Limits *ratelimit.Limiter // per-merchant rate of authenticated requests; nil for none
	// Failures limits, per source address, the requests that fail
	// authentication; an address out of tokens is refused before its
	// requests are checked. Nil for no limit.
	Failures  *ratelimit.Limiter
	PublicURL func() string // the base of code_url, e.g. https://pay.example.com
	// ReceiptFont is the CJK TrueType font PDF receipts are drawn in, read
	// at start from ReceiptFontPath; nil when there was none there, and
	// PDF receipts are then refused with the remedy.
	ReceiptFont     []byte
	ReceiptFontPath string
	// Lookups limits, per source address, the public receipt lookups that
	// find no genuine receipt. It is a budget of its own, so consumers
	// checking receipts from a shop's address never spend the failures
	// budget of the shop's tills. Nil for no limit.
	Lookups *ratelimit.Limiter
	// Codes, if set, verifies the marks under codes for their merchants.
	Codes   *qr.Checker
	pdfOnce sync.Once
	pdfs    chan struct{} // slots for PDF receipts drawn at once

	// Clock is the time of the protocol: signatures' timestamps, nonces,
	// rate limits, bill links. Merchants check it against their own
	// clocks, so it is the system's, also on a sandbox clock (whose time
	// the services keep).
	Clock fenfu.Clock
	IDs   fenfu.IDs
	Log   *slog.Logger
}

// Services are the domain services the API calls.
type Services struct {
	Pay       *pay.Service
	Merchants *merchant.Service
	Onboard   *onboard.Service
	Bills     *bill.Service
	Settle    *settle.Service
	// Notifications reports and resends merchants' notification events.
	Notifications *notify.Events
	// Sandbox, if set, records sandbox merchants' calls and builds their
	// sandbox test reports.
	Sandbox Sandbox
	// Complaints, if set, serves the consumer complaints API.
	Complaints *complaint.Service
	// Repay, if set, reads credit payments' repayment plans for their
	// receipts.
	Repay *repay.Service
	// Aggregate, if set, serves merchants' aggregate codes (聚合码).
	Aggregate *aggregate.Service
	// Display, if set, serves the exposure API: whether to show 分付.
	Display *display.Service
	// Doctor, if set, checks merchants' integrations for
	// GET /v3/fenfu/doctor.
	Doctor *doctor.Doctor
	// Tickets, if set, serves merchants' support tickets.
	Tickets *ticket.Service
}

// Sandbox is what the API asks of the sandbox environment; package
// sandbox's Service provides it.
type Sandbox interface {
	Record(sandbox.Call)
	Report(ctx context.Context, mchid string, now time.Time) (sandbox.Report, error)
}

// Register adds the v3 routes to mux.
func (a *API) Register(mux route.Mux) {
	mux.Handle("POST /v3/pay/transactions/native", a.v3Guarded(a.createNative))
	mux.Handle("GET /v3/pay/transactions/out-trade-no/{out_trade_no}", a.v3Guarded(a.queryByOutTradeNo))
	mux.Handle("GET /v3/pay/transactions/id/{transaction_id}", a.v3Guarded(a.queryByID))
	mux.Handle("POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close", a.v3(a.closeOrder))
	mux.Handle("POST /v3/pay/transactions/codepay", a.v3(a.codepay))
	mux.Handle("POST /v3/pay/transactions/out-trade-no/{out_trade_no}/reverse", a.v3(a.reverse))
	if a.Display != nil {
		mux.Handle("POST /v3/pay/instal/exposure", a.v3(a.instalExposure))
		mux.Handle("POST /v3/pay/transactions/exposure", a.v3(a.transactionsExposure))
		mux.Handle("GET /v3/fenfu/exposures/funnel", a.v3(a.exposureFunnel))
	}
	mux.Handle("POST /v3/refund/domestic/refunds", a.v3(a.createRefund))
	mux.Handle("GET /v3/refund/domestic/refunds/{out_refund_no}", a.v3(a.queryRefund))
	mux.Handle("GET /v3/certificates", a.v3(a.certificates))
	mux.Handle("POST /v3/fenfu/applications", a.v3(a.createApplication))
	mux.Handle("POST /v3/fenfu/applications/{id}/submit", a.v3(a.submitApplication))
	mux.Handle("GET /v3/fenfu/applications/{id}", a.v3(a.getApplication))
	mux.Handle("POST /v3/merchant/media/upload", a.v3Body(a.uploadMedia, readUpload))
	mux.Handle("GET /v3/fenfu/sandbox/report", a.v3(a.sandboxReport))
	mux.Handle("GET /v3/fenfu/doctor", a.v3(a.doctorReport))
	mux.Handle("GET /v3/fenfu/notifications/{event_id}", a.v3(a.notificationStatus))
	mux.Handle("POST /v3/fenfu/notifications/{event_id}/resend", a.v3(a.resendNotification))
	mux.Handle("GET /v3/bill/tradebill", a.v3(a.tradeBill))
	mux.Handle("GET /v3/bill/fundflowbill", a.v3(a.fundFlowBill))
	mux.Handle("GET /v3/billdownload/file", a.v3(a.downloadBill))
	mux.Handle("POST /v3/fenfu/bill/reconcile", a.v3(a.reconcile))
	mux.Handle("GET /v3/fenfu/settlements", a.v3(a.settlements))
	mux.Handle("POST /v3/fenfu/settlement-exceptions", a.v3(a.fileException))
	mux.Handle("GET /v3/fenfu/settlement-exceptions", a.v3(a.listExceptions))
	mux.Handle("GET /v3/fenfu/settlement-exceptions/{id}", a.v3(a.getException))
	a.registerReceipts(mux)
	mux.Handle("GET /v3/fenfu/qrcodes/verify", a.v3(a.verifyCode))
	if a.Complaints != nil {
		a.registerComplaints(mux)
	}
	a.registerPayScore(mux)
	if a.Aggregate != nil {
		a.registerAggregate(mux)
	}
	if a.Tickets != nil {
		a.registerTickets(mux)
	}
}

// request is an authenticated v3 request.
type request struct {
	*http.Request
	MchID string
	Auth  Authorization
	// Key is the merchant's public key the request verified with.
	Key  crypto.PublicKey
	Body []byte
	// Upload is the file of a media upload, whose meta is Body.
	Upload *upload
	// note is what the answer said that the sandbox report looks for.
	note string
}

// handler answers an authenticated request with a status and a body to
// encode as JSON (nil for none), or an error.
type handler func(ctx context.Context, r *request) (int, any, error)

func (a *API) v3(h handler) http.Handler { return a.v3Body(h, readBody) }

// v3Guarded serves a v3 route whose handler may run before the request's
// nonce and its merchant's key are checked in the store, the checks going
// with its first statement on the core store (see authenticate). Its
// handler must do nothing before that statement that the checks failing
// would have to undo (no write elsewhere, no statement on the core store
// in a transaction or outside its context), since it is then run again.
func (a *API) v3Guarded(h handler) http.Handler { return a.serve(h, readBody, true) }

// v3Body serves a v3 route whose body read reads.
func (a *API) v3Body(h handler, read bodyReader) http.Handler { return a.serve(h, read, false) }

// serve serves a v3 route; guarded as v3Guarded.
func (a *API) serve(h handler, read bodyReader, guarded bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := a.IDs.New(fenfu.RequestID, a.Clock.Now())
		status, body, auth, note, err := a.serveBody(r, h, read, guarded)
		mchid := auth.MchID
		var out []byte
		contentType := "application/json; charset=utf-8"
		if err != nil {
			e := fenfu.AsError(err)
			status = e.Code.HTTPStatus()
			out, _ = json.Marshal(Body(e))
			a.Log.Log(r.Context(), e.LogLevel(), "v3 request failed", "request_id", reqID, "method", r.Method, "path", r.URL.Path,
				"mchid", mchid, "status", status, "code", e.Code, "error", err.Error())
		} else if f, ok := body.(rawFile); ok {
			out, contentType = f.data, f.contentType
		} else if body != nil {
			out, _ = json.Marshal(body)
		}
		a.write(w, reqID, auth.Scheme, r.Header.Get("Wechatpay-Serial"), status, contentType, out)
		a.record(r, mchid, status, err, note)
		a.Log.Debug("v3 request", "request_id", reqID, "method", r.Method, "path", r.URL.Path, "mchid", mchid,
			"status", status, "duration", time.Since(start))
	})
}

// bodyReader reads a request's body into the request and answers the
// bytes its signature covers.
type bodyReader func(r *http.Request, req *request) (signed []byte, err error)

// readBody reads a JSON body of at most MaxBody bytes, all of it signed.
func readBody(r *http.Request, req *request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fenfu.Errorf(fenfu.ParamError, "request body exceeds %d bytes", MaxBody)
		}
		return nil, fenfu.Errorf(fenfu.ParamError, "could not read the request body")
	}
	req.Body = body
	return body, nil
}

func (a *API) serveBody(r *http.Request, h handler, read bodyReader, guarded bool) (int, any, Authorization, string, error) {
	src, now := fenfu.Source(r.RemoteAddr), a.Clock.Now()
	if a.Failures.Exhausted(src, now) {
		// Unchecked, the Authorization header still names the scheme the
		// client verifies answers with: sign the refusal in it.
		claimed, _ := ParseAuthorization(r.Header.Get("Authorization"))
		return 0, nil, Authorization{Scheme: claimed.Scheme}, "", failedTooOften()
	}
	req := &request{Request: r}
	signed, err := read(r, req)
	if err != nil {
		a.Failures.Allow(src, now)
		return 0, nil, Authorization{}, "", err
	}
	au, err := a.authenticate(r, signed, guarded)
	if err != nil {
		if fenfu.ErrorCode(err) == fenfu.SignError {
			a.Failures.Allow(src, now)
		}
		return 0, nil, au.Authorization, "", err
	}
	req.MchID, req.Auth, req.Key = au.MchID, au.Authorization, au.key
	status, out, err := h(au.ctx, req)
	if au.guard == nil {
		return status, out, au.Authorization, req.note, err
	}
	held, gerr := au.guard.Hold(r.Context())
	if gerr != nil {
		au.giveBack()
		return 0, nil, au.Authorization, "", fenfu.Internal("wxpay.authenticate", gerr)
	}
	if !held {
		// The nonce was used before, or the merchant's keys changed
		// since its key was cached: nothing the handler did on the core
		// store stood. Check the request the long way, and if it
		// passes, run it again.
		if req.Key, err = a.check(r, au.Authorization, signed, au.now, au.giveBack); err != nil {
			if fenfu.ErrorCode(err) == fenfu.SignError {
				a.Failures.Allow(src, now)
			}
			return 0, nil, au.Authorization, "", err
		}
		req.note = ""
		status, out, err = h(r.Context(), req)
	}
	return status, out, au.Authorization, req.note, err
}

// record keeps an authenticated sandbox merchant's call for its report.
func (a *API) record(r *http.Request, mchid string, status int, err error, note string) {
	if a.Sandbox == nil || mchid == "" {
		return
	}
	if e := fenfu.AsError(err); err != nil && e.Code == fenfu.SignError {
		return // not the merchant's call, or not one it signed right
	}
	m, merr := a.Merchants.Get(r.Context(), mchid)
	if merr != nil || m.Env != "sandbox" {
		return
	}
	code := ""
	if err != nil {
		e := fenfu.AsError(err)
		code, status = string(e.Code), e.Code.HTTPStatus()
	}
	a.Sandbox.Record(sandbox.Call{MchID: mchid, At: a.Clock.Now(), Method: r.Method, Route: r.Pattern, Status: status, Code: code, Note: note})
}

// sandboxReport answers GET /v3/fenfu/sandbox/report: which sandbox
// scenarios the merchant's integration has passed, from its own calls.
func (a *API) sandboxReport(ctx context.Context, r *request) (int, any, error) {
	if a.Sandbox == nil {
		return 0, nil, fenfu.Errorf(fenfu.ResourceNotExists, "this server keeps no sandbox reports")
	}
	rep, err := a.Sandbox.Report(ctx, r.MchID, a.Clock.Now())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rep, nil
}

func signError(format string, args ...any) *fenfu.Error {
	return fenfu.Errorf(fenfu.SignError, format, args...)
}

// guardedNonces is Nonces that can hand a request's checks to its first
// statement on the store that keeps the nonces, so that they cost no
// round trip of their own: merchant.SharedNonces on PostgreSQL.
type guardedNonces interface {
	Nonces
	Guard(ctx context.Context, mchid, nonce string, now time.Time, version int64) (context.Context, *merchant.Guard)
}

// authn is an authenticated request: its Authorization, the key it
// verified with and the context to serve it under. With a guard, its
// nonce and its merchant's key are still to be checked in the store (the
// guard goes with the handler's first statement on the core store);
// giveBack returns its rate token if they fail.
type authn struct {
	Authorization
	key      crypto.PublicKey
	ctx      context.Context
	now      time.Time
	guard    *merchant.Guard
	giveBack func()
}

// authenticate checks the Authorization header and returns the key the
// request verified with. It returns what it could parse even on failure,
// so the answer is signed in the caller's scheme.
// Only a request that authenticates spends the merchant's rate: it takes
// its token once the signature has verified, and gives it back if the
// nonce turns out to be a replay.
//
// On a guarded route, with nonces in the store, a request whose key this
// node has cached verifies with it at once, and its nonce and the
// merchant's version (unchanged, the key is not retired) are checked by a
// guard that goes with the handler's first statement on the core store:
// one round trip for both checks and the handler's work. If the guard
// fails, nothing of that work stands, and serveBody checks the request
// the long way and runs it again.
func (a *API) authenticate(r *http.Request, body []byte, guarded bool) (authn, error) {
	au := authn{ctx: r.Context(), now: a.Clock.Now(), giveBack: func() {}}
	h := r.Header.Get("Authorization")
	if h == "" {
		return au, signError("missing Authorization header")
	}
	auth, err := ParseAuthorization(h)
	if err != nil {
		au.Scheme = auth.Scheme
		return au, signError("%s", err.Error())
	}
	au.Authorization = auth
	if err := checkTimestamp(auth.Timestamp, au.now); err != nil {
		return au, err
	}
	ctx, g := r.Context(), (*merchant.Guard)(nil)
	var key crypto.PublicKey
	if gn, ok := a.Nonces.(guardedNonces); ok && guarded {
		if k, version, cached := a.Merchants.CachedKey(auth.MchID, auth.SerialNo); cached {
			key = k
			ctx, g = gn.Guard(ctx, auth.MchID, auth.NonceStr, au.now, version)
		}
	}
	if g == nil {
		if key, err = a.Merchants.PublicKey(r.Context(), auth.MchID, auth.SerialNo); err != nil {
			return au, err
		}
	}
	// A key cached under a serial is the key registered under it (the
	// serial is its hash): if the signature does not verify with it, it
	// verifies with no key of that serial.
	if err := verify(r, auth, key, body); err != nil {
		return au, err
	}
	ok, giveBack := a.Limits.Take(auth.MchID, au.now)
	if !ok {
		return au, rateLimited(auth.MchID)
	}
	au.key, au.giveBack = key, giveBack
	if g != nil {
		au.ctx, au.guard = ctx, g
		return au, nil
	}
	return au, a.spend(r.Context(), auth, au.now, giveBack)
}

// check verifies a request with its merchant's key as the store has it
// now and spends its nonce, giving its rate token back if it fails.
func (a *API) check(r *http.Request, auth Authorization, body []byte, now time.Time, giveBack func()) (crypto.PublicKey, error) {
	key, err := a.Merchants.PublicKey(r.Context(), auth.MchID, auth.SerialNo)
	if err == nil {
		err = verify(r, auth, key, body)
	}
	if err != nil {
		giveBack()
		return nil, err
	}
	return key, a.spend(r.Context(), auth, now, giveBack)
}

// spend records a request's nonce, refusing a replay and giving its rate
// token back if it fails.
func (a *API) spend(ctx context.Context, auth Authorization, now time.Time, giveBack func()) error {
	fresh, err := a.Nonces.Use(ctx, auth.MchID, auth.NonceStr, now)
	if err != nil {
		giveBack()
		return fenfu.Internal("wxpay.authenticate", err)
	}
	if !fresh {
		giveBack()
		return signError("nonce_str %s was already used; every request needs a fresh nonce", auth.NonceStr)
	}
	return nil
}

// verify checks a request's signature with key.
func verify(r *http.Request, auth Authorization, key crypto.PublicKey, body []byte) error {
	if ks, _ := scheme.Of(key); ks != auth.Scheme {
		return signError("serial_no %s is a %s key; sign with %s", auth.SerialNo, ks.Algorithm(), ks)
	}
	msg := scheme.Message(r.Method, r.RequestURI, auth.Timestamp, auth.NonceStr, body)
	if err := scheme.Verify(key, msg, auth.Signature); err != nil {
		return signError("signature does not verify with the key of serial_no %s over METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n", auth.SerialNo)
	}
	return nil
}

// checkTimestamp checks that a request's timestamp is within MaxClockSkew
// of now. It compares whole seconds against bounds computed from now, so
// no timestamp, however far off, overflows into the window: neither
// now-ts nor its conversion to a Duration is ever computed.
func checkTimestamp(ts int64, now time.Time) error {
	skew := int64(MaxClockSkew / time.Second)
	t := now.Unix() // any clock fenfu runs on is far from int64's ends
	switch {
	case ts < t-skew: // t-ts, as unsigned, is exact for any ts
		return signError("timestamp %d is %d s behind fenfu's clock; it must be within 5 minutes", ts, uint64(t)-uint64(ts))
	case ts > t+skew:
		return signError("timestamp %d is %d s ahead of fenfu's clock; it must be within 5 minutes", ts, uint64(ts)-uint64(t))
	}
	return nil
}

// write sends a response signed with the platform key of the request's
// scheme (RSA when the request did not say). Wechatpay-Serial names the
// key as the client asked for it: the platform certificate's serial if the
// request's own Wechatpay-Serial header named it (SDKs in certificate
// mode), otherwise the public key ID.
func (a *API) write(w http.ResponseWriter, reqID string, sch scheme.Name, accept string, status int, contentType string, body []byte) {
	ts := a.Clock.Now().Unix()
	nonce := a.IDs.Nonce(32)
	pk := a.Keys.ForSerial(sch, accept)
	sig, err := Sign(pk.Key, scheme.ResponseMessage(ts, nonce, body))
	if err != nil {
		a.Log.Error("sign response", "error", err)
	}
	hd := w.Header()
	hd.Set("Request-ID", reqID)
	hd.Set("Wechatpay-Nonce", nonce)
	hd.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	serial := pk.ID
	if accept != "" && accept == pk.Certificate.SerialNo {
		serial = accept
	}
	hd.Set("Wechatpay-Serial", serial)
	hd.Set("Wechatpay-Signature", sig)
	hd.Set("Wechatpay-Signature-Type", string(pk.Scheme))
	if len(body) > 0 {
		hd.Set("Content-Type", contentType)
		hd.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decode parses a JSON body into v, turning type errors into PARAM_ERROR
// naming the field. Every string in the body must pass fenfu.Text, which
// encoding/json alone does not see to: it turns invalid UTF-8 into U+FFFD
// and \u0000 into a NUL that PostgreSQL will not store.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fenfu.Errorf(fenfu.ParamError, "the request body is empty; send a JSON object")
	}
	if err := jsonTexts(body); err != nil {
		return err
	}
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return fenfu.FieldError(te.Field, "field %s must be a JSON %s", te.Field, te.Type.Kind())
	default:
		var pe *time.ParseError
		if errors.As(err, &pe) {
			return fenfu.FieldError("time_expire", "time_expire must be RFC 3339, e.g. 2026-11-27T10:00:00+08:00")
		}
		return fenfu.Errorf(fenfu.ParamError, "the request body is not valid JSON: %v", err)
	}
}

// badEscape reports whether body has a \u escape that fenfu.Text may
// refuse: \u0000 to \u001f, \ufffe or \uffff, in either case.
func badEscape(body []byte) bool {
	for rest := body; ; {
		i := bytes.Index(rest, []byte(`\u`))
		if i < 0 || len(rest) < i+6 {
			return false
		}
		hex := bytes.ToLower(rest[i+2 : i+6])
		if bytes.HasPrefix(hex, []byte("000")) || bytes.HasPrefix(hex, []byte("001")) ||
			bytes.Equal(hex, []byte("fffe")) || bytes.Equal(hex, []byte("ffff")) {
			return true
		}
		rest = rest[i+2:]
	}
}

// jsonTexts checks every string of a JSON body with fenfu.Text, naming
// the field it is in (amount.currency; an array's elements by the array's
// name). Only a body that could hold a bad string is walked: one that is
// not valid UTF-8, or that has a U+FFFE or U+FFFF, or a \u escape of a
// control character or of those two, in it — not every \u escape, since
// many JSON encoders escape &, < and all non-ASCII text by default. A body
// that is not JSON is left to the decoder to report.
func jsonTexts(body []byte) error {
	if utf8.Valid(body) && !bytes.Contains(body, []byte("\uFFFE")) && !bytes.Contains(body, []byte("\uFFFF")) &&
		!badEscape(body) {
		return nil
	}
	type frame struct {
		object  bool
		wantKey bool // the next string is a key
		key     string
	}
	var stack []frame
	path := func(last string) string {
		var parts []string
		for _, f := range stack {
			if f.object && f.key != "" {
				parts = append(parts, f.key)
			}
		}
		if last != "" {
			parts = append(parts, last)
		}
		return strings.Join(parts, ".")
	}
	// valueDone notes that the innermost object's value has been read.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	d := json.NewDecoder(bytes.NewReader(body))
	var prev int64
	for {
		tok, err := d.Token()
		if err != nil {
			return nil
		}
		raw := body[prev:d.InputOffset()] // the token, with the separators before it
		prev = d.InputOffset()
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				stack = append(stack, frame{object: t == '{', wantKey: true})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				if !utf8.Valid(raw) {
					stack[n-1].key = ""
					return fenfu.FieldError(path(""), "a field name in %s is not valid UTF-8", cmp.Or(path(""), "the body"))
				}
				stack[n-1].key, stack[n-1].wantKey = t, false
				continue
			}
			field := cmp.Or(path(""), "body")
			if !utf8.Valid(raw) {
				return fenfu.FieldError(field, "%s is not valid UTF-8", field)
			}
			if err := fenfu.Text(field, t); err != nil {
				return err
			}
		}
		valueDone()
	}
}

// requireMchID checks that the mchid a request names is the signer's.
func requireMchID(signer, named, field string) error {
	if named == "" {
		return fenfu.FieldError(field, "%s is required", field)
	}
	if named != signer {
		return fenfu.FieldError(field, "%s %s is not the merchant that signed the request", field, named)
	}
	return nil
}

// timeString formats a time as the protocol does: RFC 3339 in +08:00.
func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(fenfu.Shanghai).Format(time.RFC3339)
}

// OpenID returns the consumer's stable identifier under an appid, as
// WeChat's openid: distinct per app, so apps cannot correlate consumers.
func OpenID(secret []byte, appid, consumerID string) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "openid|%s|%s", appid, consumerID)
	return "o" + strings.ReplaceAll(base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:27], "-", "_")
}
