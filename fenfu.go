// Package fenfu holds the shared vocabulary of the fenfu payment platform:
// money in fen, the domain error with its stable code and remedy, the clock
// and the identifier source. It performs no I/O; every other package builds
// on these types.
package fenfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Fen is an amount of money in fen (1/100 yuan). All money in fenfu is an
// integer number of fen; there is no floating point anywhere money is
// computed or stored.
type Fen int64

// Yuan formats an amount in fen as yuan with two decimals ("12.34").
func Yuan(f Fen) string {
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	return sign + strconv.FormatInt(int64(f/100), 10) + "." + fmt.Sprintf("%02d", f%100)
}

// ParseDecimal parses a decimal number with at most places digits after
// the point ("12.3", "-0.05") into an integer scaled by 10^places, so
// "12.3" with 2 places is 1230. It takes no exponent, sign other than a
// leading minus, or more than 15 whole digits.
func ParseDecimal(s string, places int) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" || len(whole) > 15 || len(frac) > places || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("%q is not a number with at most %d decimals", s, places)
	}
	frac += strings.Repeat("0", places-len(frac))
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt("0"+frac, 10, 64)
	for range places {
		w *= 10
	}
	if neg {
		return -(w + f), nil
	}
	return w + f, nil
}

func digits(s string) bool { return strings.Trim(s, "0123456789") == "" }

// ParseYuan parses an amount in yuan with at most two decimals, as bills
// write it, into fen.
func ParseYuan(s string) (Fen, error) {
	v, err := ParseDecimal(s, 2)
	return Fen(v), err
}

// Code is a stable, machine-readable error code. Where the WeChat Pay
// protocol defines a code, fenfu uses the same spelling.
type Code string

// Error codes. Each has one HTTP status, message and remedy, in codes.
const (
	ParamError        Code = "PARAM_ERROR"         // a field is missing or malformed
	InvalidRequest    Code = "INVALID_REQUEST"     // the request is well-formed but not allowed in this state
	SignError         Code = "SIGN_ERROR"          // the request signature did not verify
	MchNotExists      Code = "MCH_NOT_EXISTS"      // no such merchant
	NoAuth            Code = "NO_AUTH"             // the merchant lacks the permission
	Forbidden         Code = "FORBIDDEN"           // the staff member lacks the permission
	OrderNotExist     Code = "ORDER_NOT_EXIST"     // no such order
	OutTradeNoUsed    Code = "OUT_TRADE_NO_USED"   // out_trade_no reused with different parameters
	OrderPaid         Code = "ORDERPAID"           // the order has already been paid
	OrderClosed       Code = "ORDER_CLOSED"        // the order is closed or expired
	UserPaying        Code = "USERPAYING"          // a payment of the order is in progress
	NotEnough         Code = "NOT_ENOUGH"          // the credit line or balance is short
	RuleLimit         Code = "RULE_LIMIT"          // a business rule forbids the operation
	TradeError        Code = "TRADE_ERROR"         // the trade cannot proceed
	ResourceNotExists Code = "RESOURCE_NOT_EXISTS" // a refund or other resource does not exist
	FrequencyLimited  Code = "FREQUENCY_LIMITED"   // too many requests
	Unauthenticated   Code = "UNAUTHENTICATED"     // a consumer must log in first
	SystemError       Code = "SYSTEM_ERROR"        // an internal failure; safe to retry
	NoStatementExist  Code = "NO_STATEMENT_EXIST"  // the bill asked for does not exist (yet)
	BatchRunning      Code = "BATCH_RUNNING"       // a settlement batch is running on another node
	AuthCodeError     Code = "AUTH_CODE_ERROR"     // auth_code is not the form of a payment code
	AuthCodeInvalid   Code = "AUTH_CODE_INVALID"   // the payment code is unknown or already used
	AuthCodeExpire    Code = "AUTHCODEEXPIRE"      // the payment code expired or was replaced
	InvalidOrderState Code = "INVALID_ORDER_STATE" // a service order's state does not allow the operation
	ReverseExpire     Code = "REVERSE_EXPIRE"      // the order is past its reverse window
)

// codeInfo is what fenfu says about a code on every surface: the HTTP
// status the v3, v2, staff, cashier and portal adapters answer with (the
// WeChat Pay v3 status where the protocol defines the code), a default
// message, and the default advice given to the caller (SPEC §8).
type codeInfo struct {
	status  int
	message string
	remedy  string
}

// codes is the one table from error code to transport status, message and
// remedy. The statuses are HTTP's; the root package names them as numbers
// so that it stays free of I/O packages.
var codes = map[Code]codeInfo{
	ParamError: {400, "a field is missing or malformed",
		"Check the named field against the API reference and send the request again."},
	InvalidRequest: {400, "the operation is not allowed in the object's current state",
		"Query the object's current state before retrying; the operation is not allowed in it."},
	SignError: {401, "the request signature did not verify",
		"Sign METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n with the private key of the registered serial_no, use a fresh nonce and a clock within 5 minutes of fenfu's."},
	MchNotExists: {400, "no such merchant",
		"Check the mchid; provision a merchant with `fenfu sandbox merchant`."},
	NoAuth: {403, "the merchant lacks the permission",
		"Apply for the permission in the product center, or use the merchant's own resources."},
	Forbidden: {403, "the staff member lacks the permission",
		"Ask a director to grant the permission in the access policy, or have someone who holds it do the work."},
	OrderNotExist: {404, "no such order",
		"Check out_trade_no / transaction_id and mchid; orders are only visible to the merchant that created them."},
	OutTradeNoUsed: {403, "out_trade_no was used with different parameters",
		"Use a new out_trade_no, or resend the original parameters unchanged."},
	OrderPaid: {400, "the order has already been paid",
		"The order is paid; query it instead of paying or closing it again."},
	OrderClosed: {400, "the order is closed",
		"Create a new order with a new out_trade_no."},
	UserPaying: {400, "a payment of the order is in progress",
		"Wait a few seconds and query the order."},
	NotEnough: {403, "the credit line or balance is short",
		"Choose another payment method or a smaller amount; check the available credit line or balance."},
	RuleLimit: {403, "a platform rule forbids the operation",
		"The operation breaks a platform rule; see the message for which one."},
	TradeError: {403, "the trade cannot proceed",
		"See the message; the trade cannot proceed as requested."},
	ResourceNotExists: {404, "no such resource",
		"Check the identifier; the resource is only visible to the merchant that created it."},
	FrequencyLimited: {429, "too many requests",
		"Slow down and retry after a short pause."},
	Unauthenticated: {401, "log in first",
		"Log in with the consumer's phone number and PIN."},
	SystemError: {500, "system error, please retry",
		"Retry with the same parameters; the operation is idempotent. Contact support if it persists."},
	NoStatementExist: {400, "the bill does not exist",
		"Bills of a day exist once the day has ended (Asia/Shanghai); check bill_date, which may be at most 3 months old."},
	AuthCodeError: {400, "auth_code is not a payment code",
		"Send the 18 digits the till scanned from the consumer's payment code, beginning 10 to 15, unchanged."},
	AuthCodeInvalid: {400, "the payment code is not valid",
		"Ask the consumer to show the current payment code on their phone and scan it again; a code pays once."},
	AuthCodeExpire: {400, "the payment code has expired",
		"Ask the consumer to refresh the payment code on their phone and scan the new one."},
	InvalidOrderState: {400, "the service order's state does not allow the operation",
		"Query the service order and follow its state: the consumer confirms a CREATED order, the merchant completes or cancels a DOING one."},
	ReverseExpire: {400, "the order can no longer be reversed",
		"A code payment can be reversed within its reverse window after it was created; refund it instead."},
	BatchRunning: {409, "a settlement batch is running",
		"Wait for the running batch to finish; it resumes by itself if its node stops. Query the batch's status to follow it."},
}

// Codes returns every error code fenfu answers with.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// HTTPStatus is the HTTP status every surface answers the code with; an
// unknown code is an internal error, 500.
func (c Code) HTTPStatus() int {
	if i, ok := codes[c]; ok {
		return i.status
	}
	return 500
}

// Message is the code's default message, safe to show to the caller.
func (c Code) Message() string { return codes[c].message }

// Remedy is the code's default advice to the caller.
func (c Code) Remedy() string { return codes[c].remedy }

// Error is the one domain error type. Message is safe to show to the caller;
// Err, if set, is internal detail that is logged but never sent.
type Error struct {
	Code    Code
	Message string
	Remedy  string
	Field   string // the offending field, if any
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code's default remedy.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Remedy: code.Remedy()}
}

// FieldError returns a PARAM_ERROR naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	e := Errorf(ParamError, format, args...)
	e.Field = field
	return e
}

// Internal wraps an unexpected failure of op, the operation that met it
// (package.Function, as "pay.Refund"), as SYSTEM_ERROR: the caller is told
// to retry, and the cause, named by its operation, is kept for the log.
//
// A database error that the same request will meet however often it is
// sent is not answered SYSTEM_ERROR, whose remedy is to retry: see
// permanent. It is the one place such errors are mapped, so every call
// site that wraps a store's error gets it.
func Internal(op string, err error) *Error {
	code, msg := SystemError, SystemError.Message()
	if c, m, ok := permanent(err); ok {
		code, msg = c, m
	}
	e := Errorf(code, "%s", msg)
	if op != "" {
		err = fmt.Errorf("%s: %w", op, err)
	}
	e.Err = err
	return e
}

// permanent classifies a database error by its SQLSTATE (the SQL
// standard's code, which PostgreSQL's errors carry): class 22, a data
// exception (a value out of its type's range, a character the encoding
// does not allow, U+0000 in text), is PARAM_ERROR; class 23, an integrity
// violation that the code did not turn into its own answer (the
// idempotency keys are handled where they are written), is
// INVALID_REQUEST. Neither goes away if the request is sent again.
func permanent(err error) (Code, string, bool) {
	var s interface{ SQLState() string }
	if err == nil || !errors.As(err, &s) {
		return "", "", false
	}
	switch st := s.SQLState(); {
	case strings.HasPrefix(st, "22"):
		return ParamError, "a value in the request cannot be stored (a number out of range or a character not allowed); sending it again will fail the same way", true
	case strings.HasPrefix(st, "23"):
		return InvalidRequest, "the request conflicts with what is already stored; sending it again will fail the same way", true
	}
	return "", "", false
}

// Op returns a failure of op for the caller: nil for nil, a domain error
// as it is, and any other error as Internal(op, err).
func Op(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(op, err)
}

// LogLevel is how loud a failure is in the log of whichever surface
// answered it: an internal error is an error; a refusal with a cause
// behind it (a store that refused the data) a warning; a plain refusal of
// the caller's request is information.
func (e *Error) LogLevel() slog.Level {
	switch {
	case e.Code == SystemError:
		return slog.LevelError
	case e.Err != nil:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// ErrorCode returns the code of err: the code of the *Error it wraps, or
// for any other non-nil error the code Internal would give it, or "" for
// nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal("", err).Code
}

// Text checks a text field's value: it must be valid UTF-8 made of the
// characters XML 1.0 allows — no U+0000 or other control character but
// tab, line feed and carriage return, no U+FFFE or U+FFFF (valid UTF-8
// holds no surrogates).
// Every such value can be stored on either engine (PostgreSQL refuses
// U+0000) and sent back in a v2 XML answer or notification. It returns a
// PARAM_ERROR naming the field.
func Text(field, v string) error {
	for i, r := range v {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(v[i:]); n == 1 {
				return FieldError(field, "%s is not valid UTF-8 (byte %d)", field, i)
			}
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF:
			return FieldError(field, "%s holds the character U+%04X, which text fields do not allow", field, r)
		}
	}
	return nil
}

// AsError returns err as an *Error, wrapping foreign errors with Internal;
// the adapters use it to turn any error into an answer.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal("", err)
}

// Source is the key failures from a network peer are counted under, by
// the merchant API's failure limit and the cashier's login limit alike:
// the host of a host:port (or a bare address), unmapped and without zone,
// and for IPv6 its /64, which one client commonly holds whole. A value that
// is not an address is kept as it is, cut to 64 bytes.
func Source(addr string) string {
	if addr == "" {
		return ""
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(addr); err2 == nil {
			a, err = ap.Addr(), nil
		}
	}
	if err != nil {
		if len(addr) > 64 {
			addr = addr[:64]
		}
		return addr
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
