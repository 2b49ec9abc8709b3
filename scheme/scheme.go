// Package scheme implements the signature schemes of the WeChat Pay v3
// protocol that fenfu speaks: WECHATPAY2-SHA256-RSA2048 (RSA-2048, PKCS #1
// v1.5, SHA-256) and the national-crypto WECHATPAY2-SM2-WITH-SM3 (SM2 with
// the default user ID 1234567812345678, ASN.1 DER signatures), over
// crypto/rsa and github.com/emmansun/gmsm. It also encrypts the sensitive
// fields of requests and answers to a key of either kind (RSA-OAEP, SM2),
// and reads and writes keys of both kinds as PEM.
package scheme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Name is a v3 signature scheme, as it appears in the Authorization header
// and in Wechatpay-Signature-Type.
type Name string

// The schemes.
const (
	RSA Name = "WECHATPAY2-SHA256-RSA2048"
	SM2 Name = "WECHATPAY2-SM2-WITH-SM3"
)

// Parse returns the scheme named s.
func Parse(s string) (Name, error) {
	switch Name(s) {
	case RSA, SM2:
		return Name(s), nil
	}
	return "", fmt.Errorf("unsupported signature scheme %q; use %s or %s", s, RSA, SM2)
}

// Algorithm is the short name stored with a key: "RSA" or "SM2".
func (n Name) Algorithm() string {
	if n == SM2 {
		return "SM2"
	}
	return "RSA"
}

// OfAlgorithm returns the scheme for a stored algorithm name.
func OfAlgorithm(alg string) (Name, error) {
	switch alg {
	case "RSA", "rsa":
		return RSA, nil
	case "SM2", "sm2":
		return SM2, nil
	}
	return "", fmt.Errorf("unknown key algorithm %q; use rsa or sm2", alg)
}

// Of returns the scheme of a public or private key.
func Of(key any) (Name, error) {
	switch k := key.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		return RSA, nil
	case *sm2.PrivateKey:
		return SM2, nil
	case *ecdsa.PublicKey:
		if sm2.IsSM2PublicKey(k) {
			return SM2, nil
		}
	}
	return "", fmt.Errorf("scheme: unsupported key type %T", key)
}

// ErrBadSignature is returned by Verify when a signature does not verify.
var ErrBadSignature = errors.New("scheme: signature does not verify")

// Verify checks sig over msg with pub under the scheme of pub.
func Verify(pub crypto.PublicKey, msg, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		sum := sha256.Sum256(msg)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
			return ErrBadSignature
		}
		return nil
	case *ecdsa.PublicKey:
		if !sm2.IsSM2PublicKey(k) {
			return fmt.Errorf("scheme: ECDSA key is not on the SM2 curve")
		}
		if !sm2.VerifyASN1WithSM2(k, nil, msg, sig) {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("scheme: unsupported public key type %T", pub)
}

// Sign signs msg with key under the key's scheme.
func Sign(key crypto.Signer, msg []byte) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sum := sha256.Sum256(msg)
		return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	case *sm2.PrivateKey:
		return k.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	}
	return nil, fmt.Errorf("scheme: unsupported private key type %T", key)
}

// Generate returns a new private key for the scheme.
func Generate(n Name) (crypto.Signer, error) {
	if n == SM2 {
		return sm2.GenerateKey(rand.Reader)
	}
	return rsa.GenerateKey(rand.Reader, 2048)
}

// Public returns the public key of a private key.
func Public(key crypto.Signer) crypto.PublicKey {
	if k, ok := key.(*sm2.PrivateKey); ok {
		return &k.PublicKey
	}
	return key.Public()
}

// MarshalPublicKey returns the DER (PKIX) encoding of a public key.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	return smx509.MarshalPKIXPublicKey(pub)
}

// PublicKeyPEM returns a public key as PEM.
func PublicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PrivateKeyPEM returns a private key as PKCS #8 PEM.
func PrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePublicKeyPEM reads an RSA or SM2 public key from PEM.
func ParsePublicKeyPEM(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("scheme: not a PEM public key")
	}
	pub, err := smx509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("scheme: %w", err)
	}
	if _, err := Of(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// ParsePrivateKeyPEM reads an RSA or SM2 private key from PKCS #8 PEM.
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("scheme: not a PEM private key")
	}
	k, err := smx509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("scheme: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *sm2.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if sm2.IsSM2PublicKey(&k.PublicKey) {
			return new(sm2.PrivateKey).FromECPrivateKey(k)
		}
	}
	return nil, fmt.Errorf("scheme: unsupported private key type %T", k)
}
