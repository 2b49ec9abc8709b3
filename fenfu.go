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

// Words checks a field people write (a description, an answer, a note):
// text as Text allows, of 1 to max characters (0 to max if optional), and
// not only space. It returns a PARAM_ERROR naming the field.
func Words(field, v string, max int, optional bool) error {
	if err := Text(field, v); err != nil {
		return err
	}
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0 && !optional, strings.TrimSpace(v) == "" && n > 0:
		return FieldError(field, "%s must not be empty", field)
	case n > max:
		return FieldError(field, "%s is %d characters; at most %d are allowed", field, n, max)
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

// AddrOf returns the address of a host:port or of a bare address (a
// request's RemoteAddr, before or after a trusted proxy's X-Forwarded-For
// named the client), unmapped and without zone; ok is false for anything
// else.
func AddrOf(s string) (a netip.Addr, ok bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
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
	a, ok := AddrOf(addr)
	if !ok {
		if len(addr) > 64 {
			addr = addr[:64]
		}
		return addr
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
