package wxpay

import "github.com/fenfu/fenfu"

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
