// Package sdkwalk is the README's first payment with the official WeChat
// Pay Go SDK: a merchant's client pointed at fenfu creates a Native (QR)
// order and gets its code_url. Command prepay runs it from a shell, and
// cmd/fenfu's tests run it against a server they start, so the README's
// code is code that works.
package sdkwalk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// Merchant is what `fenfu sandbox merchant` prints.
type Merchant struct {
	MchID                  string `json:"mchid"`
	AppID                  string `json:"appid"`
	MerchantSerialNo       string `json:"merchant_serial_no"`
	MerchantPrivateKeyPath string `json:"merchant_private_key_path"`
	APIv3Key               string `json:"apiv3_key"`
	PlatformPublicKeyPath  string `json:"platform_public_key_path"`
	PlatformPublicKeyID    string `json:"platform_public_key_id"`
}

// README: begin sdk walk

// Prepay creates a Native order of ¥32.00 for merchant m at the fenfu
// server fenfuURL (such as http://127.0.0.1:8080) and returns its code_url.
func Prepay(ctx context.Context, fenfuURL string, m Merchant, outTradeNo string) (string, error) {
	mchKey, err := utils.LoadPrivateKeyWithPath(m.MerchantPrivateKeyPath)
	if err != nil {
		return "", err
	}
	platformKey, err := utils.LoadPublicKeyWithPath(m.PlatformPublicKeyPath)
	if err != nil {
		return "", err
	}
	fenfu, err := url.Parse(fenfuURL)
	if err != nil {
		return "", err
	}
	client, err := core.NewClient(ctx,
		option.WithWechatPayPublicKeyAuthCipher(m.MchID, m.MerchantSerialNo, mchKey, m.PlatformPublicKeyID, platformKey),
		option.WithHTTPClient(&http.Client{Transport: ToHost{fenfu}}), // api.mch.weixin.qq.com → fenfu
	)
	if err != nil {
		return "", err
	}
	svc := native.NativeApiService{Client: client}
	resp, _, err := svc.Prepay(ctx, native.PrepayRequest{
		Appid: core.String(m.AppID), Mchid: core.String(m.MchID), Description: core.String("Flat white"),
		OutTradeNo: core.String(outTradeNo), NotifyUrl: core.String("https://shop.example/notify"),
		Amount: &native.Amount{Total: core.Int64(3200)},
	})
	if err != nil {
		return "", fmt.Errorf("prepay: %w", err)
	}
	// http://HOST/q/<token>: show it as a QR code (or link HOST/q/<token>.png).
	return *resp.CodeUrl, nil
}

// ToHost sends the SDK's requests for api.mch.weixin.qq.com to fenfu. The
// signature covers only the method, path, query and body, so nothing else
// changes.
type ToHost struct{ Fenfu *url.URL }

func (h ToHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = h.Fenfu.Scheme, h.Fenfu.Host, h.Fenfu.Host
	return http.DefaultTransport.RoundTrip(r)
}

// README: end sdk walk
