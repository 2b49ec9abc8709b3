package notify

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"time"
)

// Client is how fenfu reaches merchants' notify URLs, for deliveries and
// for fenfu doctor's probes alike: the addresses it may dial and the
// certificate authorities it trusts.
type Client struct {
	// Private also reaches private, loopback and link-local addresses
	// (serve's --notify-private); otherwise only public ones (PublicOnly).
	Private bool
	// RootCAs verify notify URLs' certificates: the system's pool and
	// the authorities of serve's --notify-ca-file. Nil is the system's.
	RootCAs *x509.CertPool
}

// Dialer dials notify URLs' hosts, within DeliveryTimeout.
func (c Client) Dialer() *net.Dialer {
	d := &net.Dialer{Timeout: DeliveryTimeout, KeepAlive: 30 * time.Second}
	if !c.Private {
		d.Control = PublicOnly
	}
	return d
}

// TLS is the TLS configuration of deliveries.
func (c Client) TLS() *tls.Config {
	return &tls.Config{RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
}

// MaxAnswerHeader bounds the status line and headers of a notify URL's
// answer that fenfu reads, for deliveries and fenfu doctor's probes
// alike: an answer whose header goes on past it is not read further, and
// counts as no answer.
const MaxAnswerHeader = 64 << 10

// HTTP is the client deliveries are made with: each attempt within
// DeliveryTimeout, an answer's header within MaxAnswerHeader, a
// notify_url that redirects not followed.
func (c Client) HTTP() *http.Client {
	return &http.Client{
		Timeout: DeliveryTimeout,
		// Keep a connection per parallel delivery to each merchant host:
		// Go's default of two would make most notifications open a new
		// connection (and, to an HTTPS notify_url, a new TLS handshake).
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConns: 256, MaxIdleConnsPerHost: 32,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: DeliveryTimeout, ForceAttemptHTTP2: true, MaxResponseHeaderBytes: MaxAnswerHeader,
			DialContext: c.Dialer().DialContext, TLSClientConfig: c.TLS()},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a notify_url that redirects is not followed
		}}
}

// CertPool is the system's certificate pool with the PEM certificates of
// extra added, for a private CA's notify URLs; ok is false if extra holds
// no certificate.
func CertPool(extra []byte) (pool *x509.CertPool, ok bool) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	return pool, pool.AppendCertsFromPEM(extra)
}
