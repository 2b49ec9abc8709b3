package wxpay

import (
	"context"
	"errors"
	"net/http"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
)

// Merchant side of onboarding (fenfu extensions over signed v3 requests):
//
//	POST /v3/fenfu/applications               create a draft application
//	POST /v3/fenfu/applications/{id}/submit   submit it; the automatic checks run
//	GET  /v3/fenfu/applications/{id}          its state, checks with reasons, and history
//
// The personal fields of an application (see sensitiveFields) travel
// encrypted, as WeChat Pay's applyment API carries them: the merchant
// encrypts each to the platform public key of its scheme (RSA-OAEP with
// SHA-1 for RSA merchants, SM2 C1C3C2_ASN1 for SM2 merchants; see
// scheme.EncryptField), base64, and names that key in the Wechatpay-Serial
// header (a public key ID or a platform certificate serial). A request
// carrying one of them in clear is refused with PARAM_ERROR naming the
// field. Answers carry the same fields encrypted to the merchant's own
// public key, the one whose serial_no signed the request, for the
// merchant to decrypt with its private key, as WeChat Pay encrypts the
// sensitive fields of its answers to the merchant's certificate.

// sensitiveFields returns the personal fields of an application that
// travel encrypted, by name, where they are set.
func sensitiveFields(a *onboard.Application) []sensitiveField {
	var fs []sensitiveField
	if p := a.LegalPerson; p != nil {
		fs = append(fs, sensitiveField{"legal_person.name", &p.Name}, sensitiveField{"legal_person.id_number", &p.IDNumber},
			sensitiveField{"legal_person.phone", &p.Phone})
	}
	if b := a.SettlementAccount; b != nil {
		fs = append(fs, sensitiveField{"settlement_account.account_name", &b.AccountName},
			sensitiveField{"settlement_account.account_number", &b.AccountNumber})
	}
	return fs
}

type sensitiveField struct {
	name string
	v    *string
}

// openApplication decrypts the sensitive fields of an application a
// merchant sent, with the platform key its Wechatpay-Serial names.
func (a *API) openApplication(r *request, app *onboard.Application) error {
	fs := sensitiveFields(app)
	if len(fs) == 0 {
		return nil
	}
	serial := r.Header.Get("Wechatpay-Serial")
	pk := a.Keys.ForSerial(r.Auth.Scheme, serial)
	if serial == "" || (pk.ID != serial && pk.Certificate.SerialNo != serial) {
		e := fenfu.Errorf(fenfu.ParamError, "Wechatpay-Serial %q names no platform key of the %s scheme; the application's personal fields are encrypted to one", serial, r.Auth.Scheme)
		e.Remedy = "Encrypt the personal fields to the platform public key and send its ID (PUB_KEY_ID_…) or certificate serial in the Wechatpay-Serial header."
		return e
	}
	for _, f := range fs {
		if *f.v == "" {
			continue
		}
		pt, err := scheme.DecryptField(pk.Key, *f.v)
		if errors.Is(err, scheme.ErrDecrypt) {
			e := fenfu.FieldError(f.name, "%s must be encrypted to the platform key %s (%s), base64; it does not decrypt", f.name, serial, fieldCipher(r.Auth.Scheme))
			e.Remedy = "Encrypt every personal field (legal_person.*, settlement_account.account_name and account_number) to the platform public key named in Wechatpay-Serial; never send them in clear."
			return e
		}
		if err != nil {
			return fenfu.Internal("wxpay.openApplication", err)
		}
		if err := fenfu.Text(f.name, pt); err != nil {
			return err
		}
		*f.v = pt
	}
	return nil
}

func fieldCipher(n scheme.Name) string {
	if n == scheme.SM2 {
		return "SM2, C1C3C2_ASN1"
	}
	return "RSA-OAEP with SHA-1"
}

// sealRecord returns an application record with its sensitive fields
// encrypted to the merchant's key that signed the request.
func (a *API) sealRecord(ctx context.Context, r *request, rec onboard.Record) (onboard.Record, error) {
	app := rec.Application
	if app.LegalPerson != nil {
		p := *app.LegalPerson
		app.LegalPerson = &p
	}
	if app.SettlementAccount != nil {
		b := *app.SettlementAccount
		app.SettlementAccount = &b
	}
	fs := sensitiveFields(&app)
	if len(fs) == 0 {
		return rec, nil
	}
	for _, f := range fs {
		if *f.v == "" {
			continue
		}
		var err error
		if *f.v, err = scheme.EncryptField(r.Key, *f.v); err != nil {
			return rec, fenfu.Internal("wxpay.sealRecord", err)
		}
	}
	rec.Application = app
	return rec, nil
}

func (a *API) createApplication(ctx context.Context, r *request) (int, any, error) {
	if a.Onboard == nil {
		return 0, nil, fenfu.Errorf(fenfu.NoAuth, "onboarding is not enabled on this server")
	}
	var app onboard.Application
	if err := decode(r.Body, &app); err != nil {
		return 0, nil, err
	}
	if err := a.openApplication(r, &app); err != nil {
		return 0, nil, err
	}
	rec, err := a.Onboard.Create(ctx, r.MchID, app)
	if err != nil {
		return 0, nil, err
	}
	return a.answerApplication(ctx, r, rec)
}

func (a *API) answerApplication(ctx context.Context, r *request, rec onboard.Record) (int, any, error) {
	rec, err := a.sealRecord(ctx, r, rec)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rec, nil
}

func (a *API) ownApplication(ctx context.Context, r *request) (onboard.Record, error) {
	if a.Onboard == nil {
		return onboard.Record{}, fenfu.Errorf(fenfu.NoAuth, "onboarding is not enabled on this server")
	}
	rec, err := a.Onboard.Get(ctx, r.PathValue("id"))
	if err != nil {
		return rec, err
	}
	if rec.MchID != r.MchID {
		return onboard.Record{}, fenfu.Errorf(fenfu.ResourceNotExists, "application %s does not exist", r.PathValue("id"))
	}
	return rec, nil
}

func (a *API) submitApplication(ctx context.Context, r *request) (int, any, error) {
	if _, err := a.ownApplication(ctx, r); err != nil {
		return 0, nil, err
	}
	rec, err := a.Onboard.Submit(ctx, r.PathValue("id"), "merchant:"+r.MchID)
	if err != nil {
		return 0, nil, err
	}
	return a.answerApplication(ctx, r, rec)
}

func (a *API) getApplication(ctx context.Context, r *request) (int, any, error) {
	rec, err := a.ownApplication(ctx, r)
	if err != nil {
		return 0, nil, err
	}
	return a.answerApplication(ctx, r, rec)
}
