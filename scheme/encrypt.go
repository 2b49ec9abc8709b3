package scheme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
)

// Sensitive fields of a v3 request or response (an ID number, a bank
// account) travel encrypted to the receiver's public key, base64-encoded,
// as WeChat Pay does: RSAES-OAEP with SHA-1 and MGF1-SHA-1 for RSA keys
// (the official SDKs' EncryptOAEPWithPublicKey), and SM2 public-key
// encryption with the ciphertext as C1C3C2 in ASN.1 (C1C3C2_ASN1) for SM2
// keys.

// MaxFieldCiphertext bounds the base64 ciphertext of one field DecryptField
// reads: room for a 4096-bit RSA block or an SM2 ciphertext of a field of
// up to 1 KiB.
const MaxFieldCiphertext = 2048

// ErrDecrypt is returned by DecryptField for a value that is not a
// ciphertext of this key: not base64, too long, or not decrypting.
var ErrDecrypt = errors.New("scheme: the field does not decrypt with this key")

// EncryptField encrypts a field's plaintext to pub and returns it base64.
func EncryptField(pub crypto.PublicKey, plaintext string) (string, error) {
	var ct []byte
	var err error
	switch k := pub.(type) {
	case *rsa.PublicKey:
		ct, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, k, []byte(plaintext), nil)
	case *ecdsa.PublicKey:
		if !sm2.IsSM2PublicKey(k) {
			return "", fmt.Errorf("scheme: ECDSA key is not on the SM2 curve")
		}
		ct, err = sm2.EncryptASN1(rand.Reader, k, []byte(plaintext))
	default:
		return "", fmt.Errorf("scheme: unsupported public key type %T", pub)
	}
	if err != nil {
		return "", fmt.Errorf("scheme: encrypt: %w", err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// DecryptField decrypts a base64 field ciphertext with the private key of
// the public key it was encrypted to. Anything else is ErrDecrypt.
func DecryptField(key crypto.Signer, ciphertext string) (string, error) {
	if len(ciphertext) > MaxFieldCiphertext {
		return "", ErrDecrypt
	}
	ct, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil || len(ct) == 0 {
		return "", ErrDecrypt
	}
	var pt []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pt, err = rsa.DecryptOAEP(sha1.New(), nil, k, ct, nil)
	case *sm2.PrivateKey:
		if ct[0] != 0x30 { // C1C3C2_ASN1 is a DER SEQUENCE
			return "", ErrDecrypt
		}
		pt, err = sm2.Decrypt(k, ct)
	default:
		return "", fmt.Errorf("scheme: unsupported private key type %T", key)
	}
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}
