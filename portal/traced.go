package portal

import (
	"errors"
	"net/http"
)

// tracedRead is a read's answer, recorded in the audit log the moment its
// status is written, once: with what the handler set by then (a bill's
// hash in call.done, a refusal). A read the log cannot record is not
// answered: the error page is, and what the handler writes after it is
// dropped.
type tracedRead struct {
	http.ResponseWriter
	record func() error
	fail   func(error)
	state  traceState
}

type traceState int

const (
	unanswered traceState = iota
	recorded
	untraced
)

// errUntraced is what a handler's writes return once its read was not
// recorded, so a download stops.
var errUntraced = errors.New("portal: the read was not recorded in the audit log, so it is not answered")

// WriteHeader records the read, then writes status; or, if the read
// cannot be recorded, answers the error instead.
func (t *tracedRead) WriteHeader(status int) {
	switch t.state {
	case recorded:
		t.ResponseWriter.WriteHeader(status)
		return
	case untraced:
		return
	}
	if err := t.record(); err != nil {
		t.state = untraced
		h := t.ResponseWriter.Header()
		for k := range h {
			delete(h, k) // a download's headers are not the error page's
		}
		t.fail(err)
		return
	}
	t.state = recorded
	t.ResponseWriter.WriteHeader(status)
}

func (t *tracedRead) Write(b []byte) (int, error) {
	t.answer()
	if t.state == untraced {
		return 0, errUntraced
	}
	return t.ResponseWriter.Write(b)
}

// answer writes 200 if nothing was written yet.
func (t *tracedRead) answer() {
	if t.state == unanswered {
		t.WriteHeader(http.StatusOK)
	}
}

// Unwrap lets http.ResponseController reach the connection (a CSV
// download moves its write deadline).
func (t *tracedRead) Unwrap() http.ResponseWriter { return t.ResponseWriter }
