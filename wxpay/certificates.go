package wxpay

import (
	"context"
	"net/http"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/scheme"
)

type encryptedCertificate struct {
	SerialNo           string          `json:"serial_no"`
	EffectiveTime      string          `json:"effective_time"`
	ExpireTime         string          `json:"expire_time"`
	EncryptCertificate notify.Resource `json:"encrypt_certificate"`
}

// certificates answers GET /v3/certificates[?algorithm_type=RSA|SM2]: the
// platform certificates, each encrypted with the merchant's API v3 key as
// WeChat Pay does (AEAD_AES_256_GCM, or AEAD_SM4_GCM for SM2 certificates),
// associated data "certificate".
func (a *API) certificates(ctx context.Context, r *request) (int, any, error) {
	var kinds []scheme.Name
	switch r.URL.Query().Get("algorithm_type") {
	case "", "RSA":
		kinds = []scheme.Name{scheme.RSA}
	case "SM2":
		kinds = []scheme.Name{scheme.SM2}
	case "ALL":
		kinds = []scheme.Name{scheme.RSA, scheme.SM2}
	default:
		return 0, nil, fenfu.FieldError("algorithm_type", "algorithm_type must be RSA, SM2 or ALL")
	}
	m, err := a.Merchants.Fresh(ctx, r.MchID) // its API v3 key as of now
	if err != nil {
		return 0, nil, err
	}
	out := []encryptedCertificate{}
	for _, k := range kinds {
		alg := notify.AES256GCM
		if k == scheme.SM2 {
			alg = notify.SM4GCM
		}
		// During a rotation the next and previous keys are listed too, so
		// certificate-mode clients can verify either.
		for _, pk := range a.Keys.All(k) {
			c := pk.Certificate
			res, err := notify.Encrypt(alg, m.APIv3Key, a.IDs.Nonce(12), "certificate", "", c.PEM)
			if err != nil {
				return 0, nil, fenfu.Internal("wxpay.certificates", err)
			}
			out = append(out, encryptedCertificate{SerialNo: c.SerialNo, EffectiveTime: c.NotBefore.In(fenfu.Shanghai).Format(time.RFC3339),
				ExpireTime: c.NotAfter.In(fenfu.Shanghai).Format(time.RFC3339), EncryptCertificate: res})
		}
	}
	return http.StatusOK, map[string]any{"data": out}, nil
}
