package wxpay

import (
	"context"
	"net/http"

	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
)

// Held is how many merchants' limiters l holds.
func (l *RateLimiter) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.limiters)
}

// SweepAbove is how many limiters a RateLimiter holds before it sweeps.
const SweepAbove = sweepAbove

// CheckTimestamp is checkTimestamp.
var CheckTimestamp = checkTimestamp

// OpenApplication decodes a body as createApplication does and decrypts
// its personal fields as a request in scheme sch naming serial in
// Wechatpay-Serial would have them decrypted.
func (a *API) OpenApplication(sch scheme.Name, serial string, body []byte) (onboard.Application, error) {
	var app onboard.Application
	if err := decode(body, &app); err != nil {
		return app, err
	}
	r := &request{Request: &http.Request{Header: http.Header{"Wechatpay-Serial": {serial}}}, Auth: Authorization{Scheme: sch}}
	err := a.openApplication(r, &app)
	return app, err
}

// LookupParams is lookupParams.
var LookupParams = lookupParams

// HoldPDFSlots takes every slot for drawing PDF receipts until the
// returned func gives them back.
func HoldPDFSlots(a *API) (release func()) {
	var held []func()
	for {
		r, err := a.pdfSlot(context.Background())
		if err != nil {
			break
		}
		held = append(held, r)
	}
	return func() {
		for _, r := range held {
			r()
		}
	}
}
