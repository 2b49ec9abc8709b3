package login

import (
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP codes are RFC 6238's defaults, which every authenticator app
// reads: 6 digits, 30-second steps, SHA-1; a code of the step before or
// after is accepted too, for clocks a little apart.
var totpOpts = totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewTOTP makes a TOTP second factor for an account (a staff member's
// name, a merchant user's login) and its otpauth:// URL, which an
// authenticator app reads from a QR code or a link.
func NewTOTP(account string) (secret, url string, err error) {
	return totpKey(account, nil)
}

// TOTPURL is the otpauth:// URL of a secret NewTOTP made for account, as
// NewTOTP returned it, for a secret shown again.
func TOTPURL(account, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) == 0 {
		return "", errors.New("login: a TOTP secret is base32 without padding")
	}
	_, url, err := totpKey(account, raw)
	return url, err
}

// totpKey is the second factor of account whose secret is raw, a new
// one if raw is nil, and its URL.
func totpKey(account string, raw []byte) (secret, url string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: "fenfu", AccountName: account, Period: totpOpts.Period,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm, Secret: raw})
	if err != nil {
		return "", "", err
	}
	return k.Secret(), k.URL(), nil
}

// TOTPStep returns the step whose code code is, among the steps around
// now that come after last (the step of the last accepted code), so a
// code is accepted once: the caller stores the step it returns in the
// same statement that checks it is above the stored one.
func TOTPStep(secret, code string, now time.Time, last int64) (int64, bool) {
	if len(code) != int(totpOpts.Digits) {
		return 0, false
	}
	step := now.Unix() / int64(totpOpts.Period)
	found, at := false, int64(0)
	for off := -int64(totpOpts.Skew); off <= int64(totpOpts.Skew); off++ {
		t := time.Unix((step+off)*int64(totpOpts.Period), 0)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		// Every step is compared, so the time taken does not say which matched.
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step+off > last && !found {
			found, at = true, step+off
		}
	}
	return at, found
}
