package wxpay

import (
	"bytes"
	"context"
	"net/http"

	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
)

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

// ReadUpload reads a media upload's body of the given Content-Type as
// the upload route does, and answers its meta and file.
func ReadUpload(contentType string, body []byte) (meta, file []byte, err error) {
	r, _ := http.NewRequest("POST", "/v3/merchant/media/upload", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	req := &request{}
	meta, err = readUpload(r, req)
	if err != nil {
		return nil, nil, err
	}
	return meta, req.Upload.data, nil
}
