package notify

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/fenfu/fenfu/merchant"
)

// V2Codec is API v2's wire format (sign, XML), supplied by the protocol
// adapter so that this package does not depend on it.
type V2Codec interface {
	Sign(params map[string]string, key, signType string) string
	Encode(params map[string]string) []byte
	Parse(body []byte) (map[string]string, error)
}

// deliverV2 posts a v2 notification and reports whether the merchant
// acknowledged it with return_code SUCCESS.
func (w *Worker) deliverV2(ctx context.Context, d Due, ev Event, m merchant.Merchant) (int, bool, error) {
	if w.V2 == nil {
		return 0, false, errors.New("notify: the worker has no v2 codec")
	}
	if m.APIv2Key == "" {
		return 0, false, errors.New("the merchant has no API v2 key to sign the notification with")
	}
	p := make(map[string]string, len(ev.V2)+2)
	for k, v := range ev.V2 {
		p[k] = v
	}
	p["nonce_str"] = w.IDs.Nonce(32)
	p["sign"] = w.V2.Sign(p, m.APIv2Key, "MD5")
	ctx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.NotifyURL, bytes.NewReader(w.V2.Encode(p)))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hc := w.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	ack, err := w.V2.Parse(body)
	ok := err == nil && strings.EqualFold(ack["return_code"], "SUCCESS") && resp.StatusCode == http.StatusOK
	return resp.StatusCode, ok, nil
}
