// Package notify owns notifications to merchants — of payments, refunds
// and complaints — their outbox, delivery and log. It also holds
// the encryption of a notification's resource as WeChat Pay v3 does it:
// AEAD_AES_256_GCM under the merchant's API v3 key, or, for merchants on
// the national-crypto scheme, AEAD_SM4_GCM under the first 128 bits of
// SM3(API v3 key); both with a 12-character nonce and the tag appended to
// the base64 ciphertext.
package notify

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Algorithms of an encrypted resource.
const (
	AES256GCM = "AEAD_AES_256_GCM"
	SM4GCM    = "AEAD_SM4_GCM"
)

// Resource is the encrypted "resource" object of a v3 notification.
type Resource struct {
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	OriginalType   string `json:"original_type,omitempty"`
	Nonce          string `json:"nonce"`
}

// ErrKey is returned for an API v3 key that is not 32 bytes.
var ErrKey = errors.New("notify: the API v3 key must be 32 bytes")

func aead(algorithm, apiv3Key string) (cipher.AEAD, error) {
	if len(apiv3Key) != 32 {
		return nil, ErrKey
	}
	var block cipher.Block
	var err error
	switch algorithm {
	case AES256GCM:
		block, err = aes.NewCipher([]byte(apiv3Key))
	case SM4GCM:
		sum := sm3.Sum([]byte(apiv3Key))
		block, err = sm4.NewCipher(sum[:16])
	default:
		return nil, fmt.Errorf("notify: unknown algorithm %q", algorithm)
	}
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Encrypt seals plaintext for a merchant. nonce must be 12 characters.
func Encrypt(algorithm, apiv3Key, nonce, associatedData, originalType string, plaintext []byte) (Resource, error) {
	a, err := aead(algorithm, apiv3Key)
	if err != nil {
		return Resource{}, err
	}
	if len(nonce) != a.NonceSize() {
		return Resource{}, fmt.Errorf("notify: nonce must be %d bytes", a.NonceSize())
	}
	ct := a.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))
	return Resource{Algorithm: algorithm, Ciphertext: base64.StdEncoding.EncodeToString(ct),
		AssociatedData: associatedData, OriginalType: originalType, Nonce: nonce}, nil
}

// Decrypt opens a resource with the merchant's API v3 key.
func Decrypt(r Resource, apiv3Key string) ([]byte, error) {
	a, err := aead(r.Algorithm, apiv3Key)
	if err != nil {
		return nil, err
	}
	if len(r.Nonce) != a.NonceSize() {
		return nil, fmt.Errorf("notify: nonce must be %d bytes", a.NonceSize())
	}
	ct, err := base64.StdEncoding.DecodeString(r.Ciphertext)
	if err != nil {
		return nil, errors.New("notify: ciphertext is not base64")
	}
	pt, err := a.Open(nil, []byte(r.Nonce), ct, []byte(r.AssociatedData))
	if err != nil {
		return nil, errors.New("notify: the resource does not decrypt with this key")
	}
	return pt, nil
}
