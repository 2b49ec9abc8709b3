package wxpay

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/scheme"
)

// Client is a minimal v3 merchant client: it signs requests with the
// merchant's key and verifies responses with the platform public key. The
// demo and the load generator use it; merchants use the official SDKs.
type Client struct {
	BaseURL       string
	MchID         string
	SerialNo      string
	Key           crypto.Signer    // the merchant's RSA or SM2 key
	PlatformKey   crypto.PublicKey // the platform key of the same scheme
	PlatformKeyID string
	HTTP          *http.Client
	IDs           fenfu.IDs
	Clock         fenfu.Clock // the time requests are signed at; nil is the system clock
}

// APIError is a non-2xx answer.
type APIError struct {
	Status int
	Body   ErrorBody
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Body.Code, e.Body.Message)
}

// Sign returns the Authorization header for a request.
func (c *Client) Sign(method, uri string, body []byte, now time.Time) (string, error) {
	nonce := c.IDs.Nonce(32)
	ts := now.Unix()
	sch, err := scheme.Of(c.Key)
	if err != nil {
		return "", err
	}
	sig, err := Sign(c.Key, scheme.Message(method, uri, ts, nonce, body))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf(`%s mchid="%s",nonce_str="%s",timestamp="%d",serial_no="%s",signature="%s"`,
		sch, c.MchID, nonce, ts, c.SerialNo, sig), nil
}

// Do sends a signed request and decodes a 2xx JSON answer into out (which
// may be nil). The response signature is verified first.
func (c *Client) Do(ctx context.Context, method, uri string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	clock := c.Clock
	if clock == nil {
		clock = fenfu.SystemClock{}
	}
	auth, err := c.Sign(method, uri, body, clock.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+uri, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Wechatpay-Serial", c.PlatformKeyID) // the key we verify with, as the SDKs send it
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := c.VerifyResponse(resp.Header, rb); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Status: resp.StatusCode}
		_ = json.Unmarshal(rb, &e.Body)
		return e
	}
	if out != nil && len(rb) > 0 {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// VerifyResponse checks a response's Wechatpay-* signature headers.
func (c *Client) VerifyResponse(h http.Header, body []byte) error {
	if h.Get("Wechatpay-Serial") != c.PlatformKeyID {
		return fmt.Errorf("response signed with key %q, expected %q", h.Get("Wechatpay-Serial"), c.PlatformKeyID)
	}
	ts, err := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
	if err != nil {
		return errors.New("response lacks Wechatpay-Timestamp")
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		return errors.New("response signature is not base64")
	}
	if err := scheme.Verify(c.PlatformKey, scheme.ResponseMessage(ts, h.Get("Wechatpay-Nonce"), body), sig); err != nil {
		return fmt.Errorf("response signature does not verify: %w", err)
	}
	return nil
}
