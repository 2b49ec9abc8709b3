package wxpay

import (
	"net/http"

	"github.com/fenfu/fenfu"
)

// statuses maps each error code to its HTTP status, as WeChat Pay v3 does.
var statuses = map[fenfu.Code]int{
	fenfu.ParamError:        http.StatusBadRequest,
	fenfu.InvalidRequest:    http.StatusBadRequest,
	fenfu.OrderClosed:       http.StatusBadRequest,
	fenfu.OrderPaid:         http.StatusBadRequest,
	fenfu.MchNotExists:      http.StatusBadRequest,
	fenfu.UserPaying:        http.StatusBadRequest,
	fenfu.SignError:         http.StatusUnauthorized,
	fenfu.Unauthenticated:   http.StatusUnauthorized,
	fenfu.NoAuth:            http.StatusForbidden,
	fenfu.OutTradeNoUsed:    http.StatusForbidden,
	fenfu.NotEnough:         http.StatusForbidden,
	fenfu.RuleLimit:         http.StatusForbidden,
	fenfu.TradeError:        http.StatusForbidden,
	fenfu.OrderNotExist:     http.StatusNotFound,
	fenfu.ResourceNotExists: http.StatusNotFound,
	fenfu.FrequencyLimited:  http.StatusTooManyRequests,
	fenfu.SystemError:       http.StatusInternalServerError,
	fenfu.NoStatementExist:  http.StatusBadRequest,
	fenfu.BatchRunning:      http.StatusConflict,
}

// Status returns the HTTP status for an error code.
func Status(code fenfu.Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the v3 error body: {code, message, detail}, plus fenfu's
// remedy, which clients that do not know it ignore.
type ErrorBody struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Detail  *ErrorDetail `json:"detail,omitempty"`
	Remedy  string       `json:"remedy,omitempty"`
}

// ErrorDetail names the offending field.
type ErrorDetail struct {
	Field    string `json:"field,omitempty"`
	Location string `json:"location,omitempty"`
	Issue    string `json:"issue,omitempty"`
}

// Body returns the error body for e.
func Body(e *fenfu.Error) ErrorBody {
	b := ErrorBody{Code: string(e.Code), Message: e.Message, Remedy: e.Remedy}
	if e.Field != "" {
		b.Detail = &ErrorDetail{Field: e.Field, Location: "body", Issue: e.Message}
	}
	return b
}
