package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/doctor"
	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
)

// testCA is a certificate authority of a test: what the server trusts
// through --notify-ca-file.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-10 * 365 * 24 * time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// endpoint starts a merchant's HTTPS notify endpoint on 127.0.0.1 with a
// certificate the CA issued, valid from notBefore to notAfter.
func (ca *testCA) endpoint(t *testing.T, cn string, notBefore, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/notify"
}

// closedURL is an https URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "https://" + ln.Addr().String() + "/notify"
	ln.Close()
	return u
}

// doctorCLI runs fenfu doctor for m with --json and extra flags; it
// returns the report and the command's error.
func doctorCLI(t *testing.T, in *instance, m sandboxMerchant, extra ...string) (doctor.Report, error) {
	t.Helper()
	args := append([]string{"doctor", "--server", in.base, "--mchid", m.MchID, "--private-key", m.MerchantPrivateKeyPath,
		"--serial", m.MerchantSerialNo, "--platform-key", m.PlatformPublicKeyPath, "--platform-serial", m.PlatformPublicKeyID, "--json"}, extra...)
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errb)
	var rep doctor.Report
	if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
		t.Fatalf("fenfu doctor printed %q (%v): %v", out.String(), err, jerr)
	}
	return rep, err
}

// doctorSDK asks GET /v3/fenfu/doctor with the official SDK's client.
func doctorSDK(t *testing.T, c *core.Client, in *instance, notifyURL string) (doctor.Report, error) {
	t.Helper()
	res, err := c.Get(context.Background(), in.base+"/v3/fenfu/doctor?notify_url="+url.QueryEscape(notifyURL))
	if err != nil {
		return doctor.Report{}, err
	}
	defer res.Response.Body.Close()
	var rep doctor.Report
	b, _ := io.ReadAll(res.Response.Body)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("doctor answered %s: %v", b, err)
	}
	return rep, nil
}

// want asserts a check's verdict, its code and the catalogue's remedy in
// English, and that its detail says what.
func want(t *testing.T, rep doctor.Report, name string, v doctor.Verdict, code fenfu.Code, what string) {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name != name {
			continue
		}
		if c.Verdict != v || c.Code != code || !strings.Contains(c.Detail, what) {
			t.Errorf("%s: %s %s %q; want %s %s saying %q", name, c.Verdict, c.Code, c.Detail, v, code, what)
		}
		e, _ := fenfu.Lookup(code)
		if code != "" && (c.Remedy != e.Remedy.EN || c.Help != "/errors#"+string(code)) {
			t.Errorf("%s: remedy %q, help %q; want the catalogue's %q", name, c.Remedy, c.Help, e.Remedy.EN)
		}
		if code == "" && c.Remedy != "" {
			t.Errorf("%s passes with a remedy: %+v", name, c)
		}
		return
	}
	t.Errorf("no %s check in %+v", name, rep.Checks)
}

// TestDoctor runs fenfu doctor, and GET /v3/fenfu/doctor through the
// official SDK, against notify endpoints with a good certificate, an
// expired one, one expiring soon, one of an untrusted authority, and an
// address where nothing listens, and with clocks skewed: each check's
// verdict and remedy.
func TestDoctor(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testDoctor(t, engine) })
	}
}

func testDoctor(t *testing.T, engine db.Engine) {
	dir := t.TempDir()
	ca, stranger := newCA(t, "fenfu test CA"), newCA(t, "unknown CA")
	caFile, offsetFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "offset")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--data-dir", t.TempDir()}
	if engine == db.Postgres {
		args = append(args, "--core-db", dbtest.DSN(t, engine, "core"), "--credit-db", dbtest.DSN(t, engine, "credit"))
	}
	// The test runs the merchant's checks many times in a row, more than
	// a merchant may in a minute.
	in := startNode(t, args, nil, "--notify-ca-file", caFile, "--clock-offset-file", offsetFile, "--keys-poll-every", "1s",
		"--doctor-per-minute", "1000")
	var m sandboxMerchant
	in.mustCLI(&m, "sandbox", "merchant")
	sdk := sdkClient(t, in.base, m)
	// The merchant keeps its own copy of the platform key it downloaded.
	pub, err := os.ReadFile(m.PlatformPublicKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	m.PlatformPublicKeyPath = filepath.Join(dir, "platform.pem")
	if err := os.WriteFile(m.PlatformPublicKeyPath, pub, 0o600); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	good := ca.endpoint(t, "good.example", now.Add(-time.Hour), now.Add(90*24*time.Hour))
	expired := ca.endpoint(t, "expired.example", now.Add(-90*24*time.Hour), now.Add(-24*time.Hour))
	expiring := ca.endpoint(t, "expiring.example", now.Add(-time.Hour), now.Add(10*24*time.Hour))
	untrusted := stranger.endpoint(t, "untrusted.example", now.Add(-time.Hour), now.Add(90*24*time.Hour))
	closed := closedURL(t)

	t.Run("good certificate", func(t *testing.T) {
		for how, ask := range map[string]func() (doctor.Report, error){
			"cli": func() (doctor.Report, error) { return doctorCLI(t, in, m, "--notify-url", good) },
			"sdk": func() (doctor.Report, error) { return doctorSDK(t, sdk, in, good) },
		} {
			rep, err := ask()
			if err != nil || rep.Verdict != doctor.Pass || rep.NotifyURL != good {
				t.Errorf("%s: %v %+v", how, err, rep)
			}
			want(t, rep, doctor.CheckNotifyURL, doctor.Pass, "", "is https")
			want(t, rep, doctor.CheckDNS, doctor.Pass, "", "127.0.0.1")
			want(t, rep, doctor.CheckHTTPS, doctor.Pass, "", "204 No Content")
			want(t, rep, doctor.CheckTLSChain, doctor.Pass, "", "verifies to fenfu test CA")
			want(t, rep, doctor.CheckTLSExpiry, doctor.Pass, "", "valid until")
			want(t, rep, doctor.CheckClock, doctor.Pass, "", "fenfu's")
			want(t, rep, doctor.CheckMerchantKey, doctor.Pass, "", m.MerchantSerialNo)
			want(t, rep, doctor.CheckPlatformKey, doctor.Pass, "", "is current")
			want(t, rep, doctor.CheckNotifications, doctor.Pass, "", "no delivery attempts")
		}
	})
	t.Run("expired certificate", func(t *testing.T) {
		rep, err := doctorCLI(t, in, m, "--notify-url", expired)
		if err == nil || rep.Verdict != doctor.Fail {
			t.Errorf("an expired certificate: %v %+v", err, rep.Verdict)
		}
		want(t, rep, doctor.CheckHTTPS, doctor.Pass, "", "204")
		want(t, rep, doctor.CheckTLSChain, doctor.Pass, "", "verifies")
		want(t, rep, doctor.CheckTLSExpiry, doctor.Fail, fenfu.NotifyTLSExpired, "expired on "+now.Add(-24*time.Hour).UTC().Format(time.DateOnly))
		rep, err = doctorSDK(t, sdk, in, expired)
		if err != nil || rep.Verdict != doctor.Fail {
			t.Errorf("sdk: %v %+v", err, rep)
		}
		want(t, rep, doctor.CheckTLSExpiry, doctor.Fail, fenfu.NotifyTLSExpired, "expired on")
		// As a person reads it: a line a check, the remedy and the
		// catalogue's address under the failure, and exit status 1.
		var out, errb bytes.Buffer
		err = run(context.Background(), []string{"doctor", "--server", in.base, "--mchid", m.MchID, "--private-key", m.MerchantPrivateKeyPath,
			"--serial", m.MerchantSerialNo, "--platform-key", m.PlatformPublicKeyPath, "--platform-serial", m.PlatformPublicKeyID,
			"--notify-url", expired, "--lang", "zh"}, func(string) string { return "" }, nil, &out, &errb)
		e, _ := fenfu.Lookup(fenfu.NotifyTLSExpired)
		for _, line := range []string{"  PASS  tls_chain", "  FAIL  tls_expiry     证书 expired.example 已于 " + now.Add(-24*time.Hour).UTC().Format(time.DateOnly) + " 过期",
			"        NOTIFY_TLS_EXPIRED: " + e.Remedy.ZH, "        see " + in.base + "/errors#NOTIFY_TLS_EXPIRED", "verdict: FAIL (8 passed, 0 warnings, 1 failed, 0 skipped)"} {
			if !strings.Contains(out.String(), line) {
				t.Errorf("the report does not say %q:\n%s", line, out.String())
			}
		}
		if exitCode(err) != 1 || errb.String() != "fenfu: doctor: 1 of 9 checks failed\n" {
			t.Errorf("exit %d, stderr %q", exitCode(err), errb.String())
		}
	})
	t.Run("certificate expiring soon", func(t *testing.T) {
		rep, err := doctorCLI(t, in, m, "--notify-url", expiring)
		if err != nil || rep.Verdict != doctor.Warn {
			t.Errorf("%v %+v", err, rep.Verdict)
		}
		want(t, rep, doctor.CheckTLSExpiry, doctor.Warn, fenfu.NotifyTLSExpiring, "in 9 days")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		rep, _ := doctorCLI(t, in, m, "--notify-url", untrusted)
		want(t, rep, doctor.CheckTLSChain, doctor.Fail, fenfu.NotifyTLSUntrusted, "unknown CA")
	})
	t.Run("unreachable", func(t *testing.T) {
		for how, ask := range map[string]func() (doctor.Report, error){
			"cli": func() (doctor.Report, error) { return doctorCLI(t, in, m, "--notify-url", closed) },
			"sdk": func() (doctor.Report, error) { return doctorSDK(t, sdk, in, closed) },
		} {
			rep, _ := ask()
			if rep.Verdict != doctor.Fail {
				t.Errorf("%s: %+v", how, rep)
			}
			want(t, rep, doctor.CheckDNS, doctor.Pass, "", "127.0.0.1")
			want(t, rep, doctor.CheckHTTPS, doctor.Fail, fenfu.NotifyUnreachable, "no connection to "+strings.TrimSuffix(strings.TrimPrefix(closed, "https://"), "/notify"))
			want(t, rep, doctor.CheckTLSChain, doctor.Skip, "", "no connection")
			want(t, rep, doctor.CheckTLSExpiry, doctor.Skip, "", "no connection")
		}
		// The interface timeout's remedy: the certificate and the firewall.
		e, _ := fenfu.Lookup(fenfu.NotifyUnreachable)
		if !strings.Contains(e.Remedy.EN, "certificate") || !strings.Contains(e.Remedy.EN, "firewall") {
			t.Errorf("remedy %q", e.Remedy.EN)
		}
	})
	t.Run("http", func(t *testing.T) {
		plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(405) }))
		defer plain.Close()
		rep, err := doctorCLI(t, in, m, "--notify-url", plain.URL+"/notify")
		if err != nil || rep.Verdict != doctor.Warn {
			t.Errorf("sandbox: %v %+v", err, rep.Verdict)
		}
		want(t, rep, doctor.CheckNotifyURL, doctor.Warn, fenfu.NotifyNotHTTPS, "the sandbox delivers to it")
		want(t, rep, doctor.CheckHTTPS, doctor.Pass, "", "405")
		var prod sandboxMerchant
		in.mustCLI(&prod, "merchant", "create", "--env", "production")
		rep, err = doctorCLI(t, in, prod, "--notify-url", plain.URL+"/notify")
		if err == nil || rep.Verdict != doctor.Fail {
			t.Errorf("production: %v %+v", err, rep.Verdict)
		}
		want(t, rep, doctor.CheckNotifyURL, doctor.Fail, fenfu.NotifyNotHTTPS, "production notify URLs must be https")
	})
	t.Run("keys", func(t *testing.T) {
		// Another key than the registered one: fenfu refuses the request.
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(other)
		keyFile := filepath.Join(dir, "other.pem")
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		wrong := m
		wrong.MerchantPrivateKeyPath = keyFile
		rep, err := doctorCLI(t, in, wrong, "--notify-url", good)
		if err == nil || rep.Verdict != doctor.Fail {
			t.Errorf("a wrong key: %v %+v", err, rep.Verdict)
		}
		want(t, rep, doctor.CheckMerchantKey, doctor.Fail, fenfu.SignError, "SIGN_ERROR")
		want(t, rep, doctor.CheckDNS, doctor.Skip, "", "fenfu refused the request")
		// In Chinese, what the command finds itself is said in Chinese too.
		rep, _ = doctorCLI(t, in, wrong, "--notify-url", good, "--lang", "zh")
		for _, c := range rep.Checks {
			if w := map[string]string{doctor.CheckMerchantKey: "fenfu 拒绝了请求：SIGN_ERROR：", doctor.CheckDNS: "fenfu 拒绝了请求：SIGN_ERROR：",
				doctor.CheckPlatformKey: "fenfu 的应答已用所持平台密钥验签通过", doctor.CheckClock: "商户时钟比 fenfu "}[c.Name]; w != "" && !strings.HasPrefix(c.Detail, w) {
				t.Errorf("%s in Chinese: %q, want it to begin %q", c.Name, c.Detail, w)
			}
		}
		// A platform key ID fenfu does not have: its answer is signed
		// with the current key, which is not the one held.
		rep, _ = doctorCLI(t, in, m, "--notify-url", good, "--platform-serial", "PUB_KEY_ID_0000")
		want(t, rep, doctor.CheckPlatformKey, doctor.Fail, fenfu.PlatformKeyUnknown, "does not verify with the platform key held")
	})
	t.Run("notification failures", func(t *testing.T) {
		refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
		defer refusing.Close()
		var cons struct {
			ID string `json:"id"`
		}
		in.mustCLI(&cons, "consumer", "create", "--credit-limit", "100000", "--rating", "A", "--balance", "5000")
		svc := native.NativeApiService{Client: sdk}
		resp, _, err := svc.Prepay(context.Background(), native.PrepayRequest{Appid: core.String(m.AppID), Mchid: core.String(m.MchID),
			Description: core.String("Tea"), OutTradeNo: core.String("DOCTOR-1"), NotifyUrl: core.String(refusing.URL + "/notify"),
			Amount: &native.Amount{Total: core.Int64(1500), Currency: core.String("CNY")}})
		if err != nil {
			t.Fatal(err)
		}
		if out, err := in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "balance", *resp.CodeUrl); err != nil {
			t.Fatalf("sandbox pay: %v\n%s", err, out)
		}
		var rep doctor.Report
		for i := 0; i < 100; i++ {
			rep, _ = doctorCLI(t, in, m, "--notify-url", good)
			if rep.Verdict == doctor.Fail {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		want(t, rep, doctor.CheckNotifications, doctor.Fail, fenfu.NotifyFailing, "merchant answered HTTP 500")
	})
	t.Run("skewed clocks", func(t *testing.T) {
		// The merchant's clock 2 minutes behind: a warning; 10 minutes,
		// past the 5 fenfu accepts, a failure, and the key unchecked.
		clockFile := filepath.Join(dir, "merchant-clock")
		for _, c := range []struct {
			offset string
			v      doctor.Verdict
			what   string
		}{{"-2m", doctor.Warn, "behind fenfu's (more than 1m0s"}, {"-10m", doctor.Fail, "past the 5m0s fenfu accepts"}} {
			if err := os.WriteFile(clockFile, []byte(c.offset), 0o600); err != nil {
				t.Fatal(err)
			}
			rep, _ := doctorCLI(t, in, m, "--notify-url", good, "--clock-offset-file", clockFile)
			want(t, rep, doctor.CheckClock, c.v, fenfu.ClockSkew, c.what)
			if c.v == doctor.Fail {
				want(t, rep, doctor.CheckMerchantKey, doctor.Skip, "", "refused the request's timestamp")
			}
		}
		// fenfu's clock 2 minutes ahead of the SDK's: the route warns; 10
		// minutes, and it refuses the request as SIGN_ERROR, saying why.
		if err := os.WriteFile(offsetFile, []byte("2m"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // the server reads its offset at most once a second
		rep, err := doctorSDK(t, sdk, in, good)
		if err != nil {
			t.Fatal(err)
		}
		want(t, rep, doctor.CheckClock, doctor.Warn, fenfu.ClockSkew, "behind fenfu's (more than 1m0s")
		if err := os.WriteFile(offsetFile, []byte("10m"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond)
		if _, err := doctorSDK(t, sdk, in, good); err == nil || !strings.Contains(err.Error(), "SIGN_ERROR") || !strings.Contains(err.Error(), "behind fenfu's clock") {
			t.Errorf("10 minutes behind: %v", err)
		}
		_ = os.Remove(offsetFile)
		time.Sleep(1100 * time.Millisecond)
	})
	t.Run("platform key rotation", func(t *testing.T) {
		// Once the platform key is rotated and the next one promoted, the
		// merchant still holding the old one is warned: it is retired at
		// the end of the rotation.
		var promoted platformKeys
		in.mustCLI(nil, "platform", "rotate-key")
		in.mustCLI(&promoted, "platform", "promote-key")
		curID, _ := promoted.slot(t, "current")
		var rep doctor.Report
		eventually(t, 15*time.Second, "the server promotes the key", func() error {
			var err error
			if rep, err = doctorSDK(t, sdk, in, good); err == nil && rep.Checks[7].Verdict != doctor.Warn {
				err = fmt.Errorf("%+v", rep.Checks[7])
			}
			return err
		})
		want(t, rep, doctor.CheckPlatformKey, doctor.Warn, fenfu.PlatformKeyRetiring, "the current one is "+curID)
		rep, _ = doctorCLI(t, in, m, "--notify-url", good)
		want(t, rep, doctor.CheckPlatformKey, doctor.Warn, fenfu.PlatformKeyRetiring, m.PlatformPublicKeyID+" is the previous key")
	})
}
