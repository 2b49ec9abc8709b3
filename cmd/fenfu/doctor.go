package main

import (
	"context"
	"crypto"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/doctor"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/wxpay"
)

// cmdDoctor checks a merchant's integration from the merchant's side: it
// signs GET /v3/fenfu/doctor with the merchant's private key, so fenfu
// accepting it proves the key matches the registered one, verifies the
// answer with the platform key the merchant holds, measures the
// merchant's clock against the answer's signed timestamp, and prints
// fenfu's checks of the notify URL and the deliveries with its own.
func cmdDoctor(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	server := fs.String("server", "", "the fenfu server's base URL, as https://pay.example.com")
	mchid := fs.String("mchid", "", "the merchant's mchid")
	keyFile := fs.String("private-key", "", "PEM file of the merchant's private key (RSA-2048 or SM2)")
	serial := fs.String("serial", "", "the serial_no fenfu registered that key under")
	platformFile := fs.String("platform-key", "", "PEM file of the platform public key or certificate the merchant verifies fenfu with")
	platformSerial := fs.String("platform-serial", "", "that public key's ID (PUB_KEY_ID_…); a certificate's serial is read from the certificate")
	notifyURL := fs.String("notify-url", "", "the notify URL to check (default: the registered one, else the one of the newest delivery)")
	lang := fs.String("lang", "en", "the language of the details and remedies: zh or en")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 20*time.Second, "how long to wait for fenfu's answer")
	offset := clockOffsetFlag(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := e.require(fs, "server", "mchid", "private-key", "serial", "platform-key"); err != nil {
		return err
	}
	if err := e.args(fs); err != nil {
		return err
	}
	l, ok := catalog.ParseLang(*lang)
	if !ok {
		return e.usagef("--lang must be zh or en")
	}
	base := strings.TrimRight(*server, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return e.usagef("--server must be an http:// or https:// URL, not %q", *server)
	}
	b, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	key, err := scheme.ParsePrivateKeyPEM(b)
	if err != nil {
		return fmt.Errorf("%s: %w", *keyFile, err)
	}
	pub, held, err := readPlatformKey(*platformFile)
	if err != nil {
		return err
	}
	if *platformSerial != "" {
		held = *platformSerial
	}
	clock := clockOf(*offset)
	c := &wxpay.Client{BaseURL: base, MchID: *mchid, SerialNo: *serial, Key: key, PlatformKey: pub, PlatformKeyID: held,
		IDs: &fenfu.RandomIDs{}, Clock: clock}
	rep, err := diagnose(ctx, c, &http.Client{Timeout: *timeout}, *notifyURL, l)
	if err != nil {
		return err
	}
	if *asJSON {
		out, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(e.stdout, string(out))
	} else {
		writeDoctor(e.stdout, base, rep)
	}
	if rep.Verdict == doctor.Fail {
		failed := 0
		for _, ch := range rep.Checks {
			if ch.Verdict == doctor.Fail {
				failed++
			}
		}
		return fmt.Errorf("doctor: %d of %d checks failed", failed, len(rep.Checks))
	}
	return nil
}

// readPlatformKey reads the platform key a merchant holds: a PEM public
// key, or a certificate, whose serial it also returns.
func readPlatformKey(path string) (crypto.PublicKey, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	if blk, _ := pem.Decode(b); blk != nil && blk.Type == "CERTIFICATE" {
		cert, err := smx509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", path, err)
		}
		return cert.PublicKey, fmt.Sprintf("%X", cert.SerialNumber), nil
	}
	pub, err := scheme.ParsePublicKeyPEM(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: neither a PEM public key nor a certificate: %w", path, err)
	}
	return pub, "", nil
}

// diagnose asks fenfu for its checks with a request c signs, and judges
// what only the merchant's side sees: its clock against the answer's
// signed time, and the answer's signature against the platform key it
// holds. A refusal of the request's signature fails the key check; a
// refusal of its timestamp, the clock check.
func diagnose(ctx context.Context, c *wxpay.Client, hc *http.Client, notifyURL string, l catalog.Lang) (doctor.Report, error) {
	q := url.Values{"lang": {string(l)}}
	if notifyURL != "" {
		q.Set("notify_url", notifyURL)
	}
	uri := "/v3/fenfu/doctor?" + q.Encode()
	now := c.Clock.Now()
	auth, err := c.Sign(http.MethodGet, uri, nil, now)
	if err != nil {
		return doctor.Report{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+uri, nil)
	if err != nil {
		return doctor.Report{}, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/json")
	if c.PlatformKeyID != "" {
		req.Header.Set("Wechatpay-Serial", c.PlatformKeyID) // the key we verify with, as the SDKs send it
	}
	resp, err := hc.Do(req)
	if err != nil {
		return doctor.Report{}, fmt.Errorf("no answer from fenfu at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return doctor.Report{}, fmt.Errorf("reading fenfu's answer: %w", err)
	}
	received := c.Clock.Now()

	// The clock: the answer's signed time against ours when it came.
	clk := doctor.Found(doctor.CheckClock, doctor.Skip, "", l, catalog.Text{ZH: "fenfu 的应答没有带时间", EN: "fenfu's answer carries no time"})
	if ts, err := strconv.ParseInt(resp.Header.Get("Wechatpay-Timestamp"), 10, 64); err == nil {
		clk = doctor.ClockCheck(time.Unix(ts, 0).Sub(received), wxpay.MaxClockSkew, l)
	} else if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		clk = doctor.ClockCheck(d.Sub(received), wxpay.MaxClockSkew, l)
	}
	// The platform key: does the answer verify with the one we hold?
	var pk doctor.Check
	if err := c.VerifyResponse(resp.Header, body); err != nil {
		pk = doctor.Found(doctor.CheckPlatformKey, doctor.Fail, fenfu.PlatformKeyUnknown, l,
			catalog.Text{ZH: "fenfu 的应答无法用所持平台密钥验签：%v", EN: "fenfu's answer does not verify with the platform key held: %v"}, err)
	}

	rep := doctor.Report{MchID: c.MchID, CheckedAt: received.UTC(), NotifyURL: notifyURL}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &rep); err != nil {
			return doctor.Report{}, fmt.Errorf("fenfu's answer is not a doctor report: %w", err)
		}
		for i, ch := range rep.Checks {
			switch {
			case ch.Name == doctor.CheckClock:
				rep.Checks[i] = clk
			case ch.Name == doctor.CheckPlatformKey && pk.Name != "":
				rep.Checks[i] = pk
			}
		}
		rep.Judge()
		return rep, nil
	}
	var eb wxpay.ErrorBody
	if json.Unmarshal(body, &eb) != nil || eb.Code == "" {
		return doctor.Report{}, fmt.Errorf("fenfu answered HTTP %d: %.200s", resp.StatusCode, body)
	}
	if eb.Code != string(fenfu.SignError) {
		return doctor.Report{}, &fenfu.Error{Code: fenfu.Code(eb.Code), Message: eb.Message, Remedy: eb.Remedy}
	}
	// fenfu refused the request: what it checks could not be checked.
	refused, why := catalog.Text{ZH: "fenfu 拒绝了请求：%s：%s", EN: "fenfu refused the request: %s: %s"}, []any{eb.Code, eb.Message}
	var key doctor.Check
	switch {
	case clk.Verdict == doctor.Fail:
		key = doctor.Found(doctor.CheckMerchantKey, doctor.Skip, "", l,
			catalog.Text{ZH: "fenfu 在验签之前就拒绝了请求的时间戳", EN: "fenfu refused the request's timestamp before checking its signature"})
	default:
		key = doctor.Found(doctor.CheckMerchantKey, doctor.Fail, fenfu.SignError, l, refused, why...)
	}
	if pk.Name == "" {
		pk = doctor.Found(doctor.CheckPlatformKey, doctor.Pass, "", l,
			catalog.Text{ZH: "fenfu 的应答已用所持平台密钥验签通过", EN: "fenfu's answer verified with the platform key held"})
	}
	for _, name := range []string{doctor.CheckNotifyURL, doctor.CheckDNS, doctor.CheckHTTPS, doctor.CheckTLSChain, doctor.CheckTLSExpiry} {
		rep.Checks = append(rep.Checks, doctor.Found(name, doctor.Skip, "", l, refused, why...))
	}
	rep.Checks = append(rep.Checks, clk, key, pk, doctor.Found(doctor.CheckNotifications, doctor.Skip, "", l, refused, why...))
	rep.Judge()
	return rep, nil
}

// writeDoctor prints a report, a check a line, the remedy and the
// catalogue's address under each warning and failure.
func writeDoctor(w io.Writer, base string, rep doctor.Report) {
	fmt.Fprintf(w, "fenfu doctor: merchant %s at %s", rep.MchID, base)
	if rep.NotifyURL != "" {
		fmt.Fprintf(w, ", notify URL %s", rep.NotifyURL)
	}
	fmt.Fprintln(w)
	counts := map[doctor.Verdict]int{}
	for _, c := range rep.Checks {
		counts[c.Verdict]++
		fmt.Fprintf(w, "  %-4s  %-13s  %s\n", strings.ToUpper(string(c.Verdict)), c.Name, c.Detail)
		if c.Remedy != "" {
			fmt.Fprintf(w, "        %s: %s\n", c.Code, c.Remedy)
			fmt.Fprintf(w, "        see %s%s\n", base, c.Help)
		}
	}
	fmt.Fprintf(w, "verdict: %s (%d passed, %d warnings, %d failed, %d skipped)\n", strings.ToUpper(string(rep.Verdict)),
		counts[doctor.Pass], counts[doctor.Warn], counts[doctor.Fail], counts[doctor.Skip])
}
