package keyring

import (
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// certValidity is how long a platform certificate is valid.
const certValidity = 5 * 365 * 24 * time.Hour

// selfSigned issues a self-signed certificate for a platform key (RSA or
// SM2; smx509 handles both).
func selfSigned(key crypto.Signer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &smx509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "fenfu platform", Organization: []string{"fenfu"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     smx509.KeyUsageDigitalSignature,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func parseCertificate(b []byte) (Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return Certificate{}, errors.New("not a PEM certificate")
	}
	c, err := smx509.ParseCertificate(blk.Bytes)
	if err != nil {
		return Certificate{}, err
	}
	return Certificate{PEM: b, SerialNo: fmt.Sprintf("%X", c.SerialNumber), NotBefore: c.NotBefore, NotAfter: c.NotAfter}, nil
}
