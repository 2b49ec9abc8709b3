// Package doctor checks a merchant's integration with fenfu (SPEC §8):
// that its notify URL resolves and answers over HTTPS, with a certificate
// chain that verifies and is not expired or about to be, that its clock
// agrees with fenfu's, that its request verified with its registered key,
// that it holds a current platform key, and that its notifications of the
// last day were delivered. Each check passes, warns or fails, with the
// remedy of the error catalogue; what it found and the remedy are said in
// Chinese or in English. The merchant API's GET /v3/fenfu/doctor
// runs the checks; the fenfu doctor command runs them through it and adds
// what only the merchant's side can see.
package doctor

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/ratelimit"
	"github.com/fenfu/fenfu/scheme"
)

// Verdict is a check's outcome.
type Verdict string

// The verdicts, from best to worst; Skip is a check not made because one
// it depends on failed.
const (
	Pass Verdict = "pass"
	Skip Verdict = "skip"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// rank orders the verdicts for a report's: the worst of its checks'.
func (v Verdict) rank() int {
	switch v {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

// The checks' names, in the order a report lists them.
const (
	CheckNotifyURL     = "notify_url"
	CheckDNS           = "dns"
	CheckHTTPS         = "https"
	CheckTLSChain      = "tls_chain"
	CheckTLSExpiry     = "tls_expiry"
	CheckClock         = "clock"
	CheckMerchantKey   = "merchant_key"
	CheckPlatformKey   = "platform_key"
	CheckNotifications = "notifications"
)

// Thresholds of the checks.
const (
	// SkewWarn is the clock skew above which the clock check warns; it
	// fails above the v3 timestamp window (Doctor.SkewFail).
	SkewWarn = 60 * time.Second
	// ExpiryWarn is how soon before its certificate expires the notify
	// URL's expiry check warns.
	ExpiryWarn = 30 * 24 * time.Hour
	// ProbeTimeout bounds the probe of a notify URL: a delivery's
	// timeout.
	ProbeTimeout = notify.DeliveryTimeout
	// RecentWindow and RecentLimit are the deliveries the notifications
	// check reads: the newest RecentLimit of the last RecentWindow.
	RecentWindow = 24 * time.Hour
	RecentLimit  = 100
	// DefaultPerMinute is how many times a minute a merchant's checks may
	// run on a node, in bursts of as many: one every 20 s, three at once.
	DefaultPerMinute = 3
)

// Check is one check's outcome: what it found, and for a warning or a
// failure, the catalogue's code, remedy and the address of its entry.
type Check struct {
	Name    string     `json:"name"`
	Verdict Verdict    `json:"verdict"`
	Detail  string     `json:"detail"` // in the report's language
	Code    fenfu.Code `json:"code,omitempty"`
	Remedy  string     `json:"remedy,omitempty"`
	Help    string     `json:"help,omitempty"`
}

// Found is a check's outcome, its detail said in l: the detail's format
// in l with args, of which each catalog.Text is said in l too and, in
// Chinese, each duration in 小时, 分 and 秒 (Go's 1m0s in English); for
// any verdict but Pass and Skip, code's remedy is said in l.
func Found(name string, v Verdict, code fenfu.Code, l catalog.Lang, detail catalog.Text, args ...any) Check {
	c := Check{Name: name, Verdict: v, Detail: fmt.Sprintf(detail.In(l), in(l, args)...)}
	if v == Warn || v == Fail {
		e, _ := fenfu.Lookup(code)
		c.Code, c.Remedy, c.Help = code, catalog.Text(e.Remedy).In(l), catalog.Href(code)
	}
	return c
}

// say is a detail in Chinese and in English: a format of Found's, or an
// argument of one.
func say(zh, en string) catalog.Text { return catalog.Text{ZH: zh, EN: en} }

// sayf is t formatted with args in each language, as Found says them in
// one.
func sayf(t catalog.Text, args ...any) catalog.Text {
	return catalog.Text{ZH: fmt.Sprintf(t.ZH, in(catalog.ZH, args)...), EN: fmt.Sprintf(t.EN, in(catalog.EN, args)...)}
}

// in is args as l says them: a catalog.Text in l, a duration in Chinese
// as zhDuration says it; any other argument as it is.
func in(l catalog.Lang, args []any) []any {
	said := make([]any, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case catalog.Text:
			said[i] = a.In(l)
		case time.Duration:
			said[i] = a
			if l != catalog.EN {
				said[i] = zhDuration(a)
			}
		default:
			said[i] = a
		}
	}
	return said
}

// zhDuration says d in Chinese, as 1 小时 2 分 3 秒, 5 分钟 or 59 秒; a
// duration of a fraction of a second is Go's.
func zhDuration(d time.Duration) string {
	if d%time.Second != 0 {
		return d.String()
	}
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%d 小时", h))
	}
	switch {
	case m > 0 && h == 0 && s == 0:
		parts = append(parts, fmt.Sprintf("%d 分钟", m))
	case m > 0 || (h > 0 && s > 0):
		parts = append(parts, fmt.Sprintf("%d 分", m))
	}
	if s > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d 秒", s))
	}
	return sign + strings.Join(parts, " ")
}

// Report is the outcome of every check of one merchant.
type Report struct {
	MchID     string    `json:"mchid"`
	CheckedAt time.Time `json:"checked_at"`
	NotifyURL string    `json:"notify_url,omitempty"`
	Verdict   Verdict   `json:"verdict"`
	Checks    []Check   `json:"checks"`
}

// Judge sets the report's verdict: the worst of its checks'.
func (r *Report) Judge() {
	r.Verdict = Pass
	for _, c := range r.Checks {
		if c.Verdict.rank() > r.Verdict.rank() {
			r.Verdict = c.Verdict
		}
	}
}

// Doctor runs the checks.
type Doctor struct {
	// Client is how fenfu reaches notify URLs; the probe dials and
	// trusts as deliveries do, but from the node itself: it does not go
	// through the outbound proxy deliveries take (HTTPS_PROXY), if any.
	Client notify.Client
	Keys   *keyring.Keyring
	Events *notify.Events
	// Clock is the protocol's: the time signed requests' timestamps are
	// checked against.
	Clock fenfu.Clock
	// SkewFail is the v3 timestamp window, past which requests are
	// refused: the clock check fails above it.
	SkewFail time.Duration
	// Resolve looks a host's addresses up; nil is the system's resolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// PerMinute is how many times a minute each merchant's checks may run
	// on this node, in bursts of as many; 0 is DefaultPerMinute. Each run
	// probes the host and port of the merchant's choosing.
	PerMinute int

	running   sync.Map // mchid → struct{}: the merchants whose checks run now
	limitOnce sync.Once
	limits    *ratelimit.Limiter // each merchant's runs
}

// Subject is the merchant a report is of, and what its signed request
// said.
type Subject struct {
	MchID   string
	Sandbox bool
	// NotifyURL is the URL to probe: the merchant's choice, else the one
	// it registered, else the one of its newest delivery.
	NotifyURL, Registered string
	// SignedAt is its request's timestamp, KeySerial the serial of the
	// key the request verified with, Scheme its scheme.
	SignedAt  time.Time
	KeySerial string
	Scheme    scheme.Name
	// PlatformSerial is the platform key the merchant holds, as it said
	// (Wechatpay-Serial or platform_serial).
	PlatformSerial string
	// Unsigned is set when the checks are asked for without a signed
	// request (a user of the merchant portal): the merchant's clock and
	// key are then not checked, and the platform key only if named.
	Unsigned bool
}

// Run checks a merchant's integration. A merchant's checks run one at a
// time on a node, and at most PerMinute times a minute: a request while
// its checks run, or past its budget, is refused as FREQUENCY_LIMITED, so
// a merchant cannot have fenfu probe a host of its choosing over and over.
func (d *Doctor) Run(ctx context.Context, s Subject, l catalog.Lang) (Report, error) {
	if _, busy := d.running.LoadOrStore(s.MchID, struct{}{}); busy {
		return Report{}, fenfu.Errorf(fenfu.FrequencyLimited, "the merchant's checks are running already; ask again once they have answered")
	}
	defer d.running.Delete(s.MchID)
	now := d.Clock.Now()
	if err := d.allow(s.MchID, now); err != nil {
		return Report{}, err
	}
	r := Report{MchID: s.MchID, CheckedAt: now.UTC(), NotifyURL: s.NotifyURL}
	if r.NotifyURL == "" {
		r.NotifyURL = s.Registered
	}
	if r.NotifyURL == "" && d.Events != nil {
		u, err := d.Events.LastURL(ctx, s.MchID)
		if err != nil {
			return Report{}, err
		}
		r.NotifyURL = u
	}
	r.Checks = append(r.Checks, d.Probe(ctx, r.NotifyURL, s.Sandbox, now, l)...)
	if s.Unsigned {
		unsigned := say("从商户平台发起的检查不带签名请求：请在商户服务器上运行 fenfu doctor 或调用 GET /v3/fenfu/doctor 检查",
			"checks asked for from the merchant portal carry no signed request: run fenfu doctor, or GET /v3/fenfu/doctor, from the merchant's server to check it")
		pk := Found(CheckPlatformKey, Skip, "", l, say("未指明商户代码持有的平台公钥或证书", "no platform key or certificate named as the one the merchant's code holds"))
		if s.PlatformSerial != "" {
			pk = d.platformKey(s.Scheme, s.PlatformSerial, now, l)
		}
		r.Checks = append(r.Checks, Found(CheckClock, Skip, "", l, unsigned), Found(CheckMerchantKey, Skip, "", l, unsigned), pk)
	} else {
		r.Checks = append(r.Checks, ClockCheck(now.Sub(s.SignedAt), d.SkewFail, l),
			Found(CheckMerchantKey, Pass, "", l, say("请求以序列号 %s 的密钥签名，已用商户登记的公钥验签通过",
				"the request signed with the key of serial %s verified with its registered public key"), s.KeySerial),
			d.platformKey(s.Scheme, s.PlatformSerial, now, l))
	}
	n, err := d.notifications(ctx, s.MchID, now, l)
	if err != nil {
		return Report{}, err
	}
	r.Checks = append(r.Checks, n)
	r.Judge()
	return r, nil
}

// allow takes one of the merchant's runs at now, or refuses it saying
// when the next may be made.
func (d *Doctor) allow(mchid string, now time.Time) error {
	d.limitOnce.Do(func() {
		n := cmp.Or(d.PerMinute, DefaultPerMinute)
		d.limits = &ratelimit.Limiter{Rate: float64(n) / 60, Burst: float64(n)}
	})
	if d.limits.Allow(mchid, now) {
		return nil
	}
	secs := int((d.limits.Wait(mchid, now) + time.Second - 1) / time.Second)
	n := int(d.limits.Burst)
	e := fenfu.Errorf(fenfu.FrequencyLimited, "the merchant's checks have run as often as they may on this node (%d a minute); they can run again in %d s", n, secs)
	e.Remedy = fmt.Sprintf("Wait %d seconds, then run the checks again: each run probes the notify URL, so a merchant's checks run at most %d times a minute on each node.", secs, n)
	return e
}

// ClockCheck judges a clock skew: fenfu's clock minus the merchant's.
func ClockCheck(skew, failAbove time.Duration, l catalog.Lang) Check {
	way := say("慢", "behind")
	if skew < 0 {
		way, skew = say("快", "ahead of"), -skew
	}
	s := skew.Round(time.Second)
	switch {
	case skew > failAbove:
		return Found(CheckClock, Fail, fenfu.ClockSkew, l, say("商户时钟比 fenfu %[2]s %[1]s，超出 fenfu 允许的 %[3]s：所有签名请求都会被拒绝",
			"the merchant's clock is %s %s fenfu's, past the %s fenfu accepts: every signed request is refused"), s, way, failAbove)
	case skew > SkewWarn:
		return Found(CheckClock, Warn, fenfu.ClockSkew, l, say("商户时钟比 fenfu %[2]s %[1]s（超过 %[3]s；超过 %[4]s时请求会被拒绝）",
			"the merchant's clock is %s %s fenfu's (more than %s; requests are refused past %s)"), s, way, SkewWarn, failAbove)
	}
	return Found(CheckClock, Pass, "", l, say("商户时钟比 fenfu %[2]s %[1]s", "the merchant's clock is %s %s fenfu's"), s, way)
}

// platformKey judges the platform key the merchant says it holds against
// the platform's keys of its scheme: the current one or the next, the
// previous one (retired at the end of the rotation), or none.
func (d *Doctor) platformKey(sch scheme.Name, serial string, now time.Time, l catalog.Lang) Check {
	if serial == "" {
		return Found(CheckPlatformKey, Warn, fenfu.PlatformKeyUnstated, l, say("请求没有指明所持的平台密钥（Wechatpay-Serial 或 platform_serial）",
			"the request named no platform key (Wechatpay-Serial or platform_serial)"))
	}
	for _, n := range keyring.Schemes {
		for _, pk := range d.Keys.All(n) {
			if serial != pk.ID && serial != pk.Certificate.SerialNo {
				continue
			}
			what := sayf(say("公钥 %s", "public key %s"), pk.ID)
			if serial == pk.Certificate.SerialNo {
				what = sayf(say("证书 %s", "certificate %s"), serial)
			}
			switch pk.Slot {
			case keyring.Previous:
				return Found(CheckPlatformKey, Warn, fenfu.PlatformKeyRetiring, l, say("%s 的平台%s 是上一把密钥，轮换结束时停用；当前密钥是 %s",
					"the %s platform %s is the previous key, which the rotation retires; the current one is %s"), n, what, d.Keys.Platform(n).ID)
			case keyring.Next:
				return Found(CheckPlatformKey, Pass, "", l, say("%s 的平台%s 是下一把密钥，启用后 fenfu 用它签名",
					"the %s platform %s is the next key, which fenfu signs with once it is promoted"), n, what)
			}
			if sch != "" && n != sch {
				return Found(CheckPlatformKey, Warn, fenfu.PlatformKeyUnknown, l, say("平台%s 属于 %s，但商户以 %s 签名：应答和通知以 fenfu 的 %s 密钥签名",
					"the platform %s is of %s, but the merchant signs with %s: answers and notifications come signed with fenfu's %s key"), what, n, sch, sch)
			}
			if serial == pk.Certificate.SerialNo && !now.Before(pk.Certificate.NotAfter) {
				return Found(CheckPlatformKey, Fail, fenfu.PlatformCertExpired, l, say("%s 的平台%s 已于 %s 过期", "the %s platform %s expired at %s"), n, what,
					pk.Certificate.NotAfter.UTC().Format(time.RFC3339))
			}
			if serial == pk.Certificate.SerialNo && now.Add(ExpiryWarn).After(pk.Certificate.NotAfter) {
				return Found(CheckPlatformKey, Warn, fenfu.PlatformCertExpiring, l, say("%s 的平台%s 将于 %s 过期，还有 %d 天", "the %s platform %s expires at %s, in %d days"), n, what,
					pk.Certificate.NotAfter.UTC().Format(time.RFC3339), int(pk.Certificate.NotAfter.Sub(now).Hours()/24))
			}
			return Found(CheckPlatformKey, Pass, "", l, say("%s 的平台%s 是当前密钥", "the %s platform %s is current"), n, what)
		}
	}
	return Found(CheckPlatformKey, Fail, fenfu.PlatformKeyUnknown, l, say("%q 不是 fenfu 的平台公钥，也不是平台证书", "%q is none of fenfu's platform keys or certificates"), serial)
}

// notifications judges a merchant's delivery attempts of the last day: a
// failure the newest attempt has not followed with a success fails, one
// it has warns.
func (d *Doctor) notifications(ctx context.Context, mchid string, now time.Time, l catalog.Lang) (Check, error) {
	if d.Events == nil {
		return Found(CheckNotifications, Skip, "", l, say("本服务器不保存通知日志", "this server keeps no notification log")), nil
	}
	rec, err := d.Events.Recent(ctx, mchid, now.Add(-RecentWindow), RecentLimit)
	if err != nil {
		return Check{}, err
	}
	last := func() catalog.Text {
		f := rec.LastFailure
		return sayf(say("最后一次失败：%s 的第 %d 次投递，于 %s：%s", "the last failure: %s attempt %d at %s: %s"),
			rec.LastFailedEvent, f.Attempt, f.At.UTC().Format(time.RFC3339), f.Error)
	}
	switch {
	case rec.Attempts == 0:
		return Found(CheckNotifications, Pass, "", l, say("最近 %s内没有通知投递", "no delivery attempts in the last %s"), RecentWindow), nil
	case rec.Failures == 0:
		return Found(CheckNotifications, Pass, "", l, say("最近 %[2]s内的 %[1]d 次投递都已收到成功应答", "the last %d delivery attempts of the last %s were acknowledged"),
			rec.Attempts, RecentWindow), nil
	case rec.Last.Error == "":
		return Found(CheckNotifications, Warn, fenfu.NotifyFailing, l, say("最近 %[3]s内的 %[2]d 次投递中有 %[1]d 次失败，但最新一次已收到成功应答；%[4]s",
			"%d of the last %d delivery attempts of the last %s failed, though the newest was acknowledged; %s"),
			rec.Failures, rec.Attempts, RecentWindow, last()), nil
	}
	return Found(CheckNotifications, Fail, fenfu.NotifyFailing, l, say("最近 %[3]s内的 %[2]d 次投递中有 %[1]d 次失败，最新一次也失败了；%[4]s",
		"%d of the last %d delivery attempts of the last %s failed, the newest among them; %s"),
		rec.Failures, rec.Attempts, RecentWindow, last()), nil
}

// Probe checks a notify URL as fenfu reaches it: that it is https (http
// fails in production and warns in the sandbox), that its host resolves
// to addresses fenfu delivers to, that it answers a HEAD request within
// ProbeTimeout, and over HTTPS that its certificate chain verifies for
// the host and when it expires, judged at now.
func (d *Doctor) Probe(ctx context.Context, raw string, sandbox bool, now time.Time, l catalog.Lang) []Check {
	skip := func(names []string, why catalog.Text, args ...any) []Check {
		var out []Check
		for _, n := range names {
			out = append(out, Found(n, Skip, "", l, why, args...))
		}
		return out
	}
	probed := []string{CheckDNS, CheckHTTPS, CheckTLSChain, CheckTLSExpiry}
	if raw == "" {
		return append([]Check{Found(CheckNotifyURL, Warn, fenfu.NotifyURLMissing, l, say("商户没有登记回调地址，也没有投递过通知",
			"the merchant has registered no notify URL and has had no notification delivered"))},
			skip(probed, say("没有回调地址", "no notify URL"))...)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return append([]Check{Found(CheckNotifyURL, Fail, fenfu.NotifyURLMissing, l, say("%q 不是 http(s) 地址", "%q is not an http(s) URL"), raw)},
			skip(probed, say("没有回调地址", "no notify URL"))...)
	}
	var out []Check
	secure := u.Scheme == "https"
	switch {
	case secure:
		out = append(out, Found(CheckNotifyURL, Pass, "", l, say("%s 使用 https", "%s is https"), raw))
	case sandbox:
		out = append(out, Found(CheckNotifyURL, Warn, fenfu.NotifyNotHTTPS, l, say("%s 使用 http：沙箱向它发送通知，生产环境不会", "%s is http: the sandbox delivers to it, production would not"), raw))
	default:
		out = append(out, Found(CheckNotifyURL, Fail, fenfu.NotifyNotHTTPS, l, say("%s 使用 http：生产环境的回调地址必须是 https", "%s is http: production notify URLs must be https"), raw))
	}
	tlsChecks := []string{CheckTLSChain, CheckTLSExpiry}
	if !secure {
		tlsChecks = nil
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[secure]
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()

	// DNS.
	addrs, err := d.resolve(ctx, host)
	if err != nil {
		return append(append(out, Found(CheckDNS, Fail, fenfu.NotifyDNSFailed, l, say("%s 无法解析：%v", "%s does not resolve: %v"), host, err)),
			skip(append([]string{CheckHTTPS}, tlsChecks...), say("%s 无法解析", "%s does not resolve"), host)...)
	}
	// Which private address a name resolves to is fenfu's network's to
	// know, not whoever asks.
	if !d.Client.Private && slices.ContainsFunc(addrs, func(a netip.Addr) bool { return !notify.Public(a) }) {
		return append(append(out, Found(CheckDNS, Fail, fenfu.NotifyPrivateAddress, l, say("%s 解析到内网或保留地址，fenfu 不向这类地址发送通知",
			"%s resolves to a private or reserved address, where fenfu delivers no notification"), host)),
			skip(append([]string{CheckHTTPS}, tlsChecks...), say("%s 解析到内网地址", "%s resolves to a private address"), host)...)
	}
	out = append(out, Found(CheckDNS, Pass, "", l, say("%s 解析到 %s", "%s resolves to %s"), host, join(addrs)))

	// The connection, and over HTTPS the handshake.
	start := time.Now()
	conn, err := d.Client.Dialer().DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		failed := Found(CheckHTTPS, Fail, fenfu.NotifyUnreachable, l, say("%[2]s内未能连接到 %[1]s：%[3]s", "no connection to %s within %s: %s"),
			net.JoinHostPort(host, port), ProbeTimeout, notify.ForMerchant(err))
		return append(append(out, failed), skip(tlsChecks, say("未能连接", "no connection"))...)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var certs []*x509.Certificate
	if secure {
		// The chain is verified below, at the protocol's time, so that
		// what is wrong with it is told apart.
		tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // verified below
		if err := tc.HandshakeContext(ctx); err != nil {
			failed := Found(CheckHTTPS, Fail, fenfu.NotifyUnreachable, l, say("已连接到 %s，但 TLS 握手失败：%v", "connected to %s, but the TLS handshake failed: %v"),
				net.JoinHostPort(host, port), err)
			return append(append(out, failed), skip(tlsChecks, say("TLS 握手未完成", "no TLS handshake"))...)
		}
		certs = tc.ConnectionState().PeerCertificates
		conn = tc
	}
	// The answer to a HEAD request: any status is an answer.
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	req, _ := http.NewRequest(http.MethodHead, u.Scheme+"://"+u.Host+path, nil)
	req.Header.Set("User-Agent", "fenfu-doctor")
	req.Close = true
	// The answer is read no further than deliveries read it.
	var answer string
	head := &io.LimitedReader{R: conn, N: notify.MaxAnswerHeader}
	if err := req.Write(conn); err == nil {
		if resp, err := http.ReadResponse(bufio.NewReader(head), req); err == nil {
			resp.Body.Close()
			answer = resp.Status
		}
	}
	switch {
	case answer == "" && head.N <= 0:
		out = append(out, Found(CheckHTTPS, Fail, fenfu.NotifyHeaderTooLarge, l, say("已连接到 %s，但它对 HEAD 请求的应答头在 %d KiB 内没有结束：fenfu 读到这里就停止，投递通知时也是如此",
			"connected to %s, but its answer to a HEAD request had no end of its header within %d KiB, where fenfu stops reading, as deliveries do"),
			net.JoinHostPort(host, port), notify.MaxAnswerHeader>>10))
	case answer == "":
		out = append(out, Found(CheckHTTPS, Fail, fenfu.NotifyUnreachable, l, say("已连接到 %s，但它在 %s内没有应答 HEAD 请求", "connected to %s, but it did not answer a HEAD request within %s"),
			net.JoinHostPort(host, port), ProbeTimeout))
	default:
		out = append(out, Found(CheckHTTPS, Pass, "", l, say("%[1]s 在 %[3]d 毫秒内以 %[2]s 应答了 HEAD 请求", "%s answered a HEAD request with %s in %d ms"),
			u.Scheme+"://"+u.Host, answer, time.Since(start).Milliseconds()))
	}
	if secure {
		out = append(out, d.chain(certs, host, now, l), expiry(certs, now, l))
	}
	return out
}

// chain checks that the certificates verify to an authority fenfu trusts,
// for host. Expiry is judged apart: the chain is verified at a moment the
// leaf is valid.
func (d *Doctor) chain(certs []*x509.Certificate, host string, now time.Time, l catalog.Lang) Check {
	if len(certs) == 0 {
		return Found(CheckTLSChain, Fail, fenfu.NotifyTLSUntrusted, l, say("服务器没有发送证书", "the server sent no certificate"))
	}
	leaf := certs[0]
	at := now
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: d.Client.RootCAs, Intermediates: inter, DNSName: host, CurrentTime: at})
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	switch {
	case err == nil:
		root := chains[0][len(chains[0])-1]
		return Found(CheckTLSChain, Pass, "", l, say("%s 的证书（%s）验证通过，链至 %s", "the certificate of %s (%s) verifies to %s"),
			host, leaf.Subject.CommonName, root.Subject.CommonName)
	case errors.As(err, &hostErr):
		return Found(CheckTLSChain, Fail, fenfu.NotifyTLSUntrusted, l, say("证书中没有主机名 %s：%v", "the certificate does not name %s: %v"), host, err)
	case errors.As(err, &authErr):
		return Found(CheckTLSChain, Fail, fenfu.NotifyTLSUntrusted, l, say("%s 的证书（%s，由 %s 签发）无法链至 fenfu 信任的证书颁发机构",
			"the certificate of %s (%s, issued by %s) does not chain to an authority fenfu trusts"), host, leaf.Subject.CommonName, leaf.Issuer.CommonName)
	}
	return Found(CheckTLSChain, Fail, fenfu.NotifyTLSUntrusted, l, say("%s 的证书链验证失败：%v", "the certificate chain of %s does not verify: %v"), host, err)
}

// expiry judges the certificates' validity at now: expired or not yet
// valid fails, expiring within ExpiryWarn warns.
func expiry(certs []*x509.Certificate, now time.Time, l catalog.Lang) Check {
	if len(certs) == 0 {
		return Found(CheckTLSExpiry, Skip, "", l, say("没有证书", "no certificate"))
	}
	first := certs[0]
	for _, c := range certs {
		if c.NotAfter.Before(first.NotAfter) {
			first = c
		}
		if now.Before(c.NotBefore) {
			return Found(CheckTLSExpiry, Fail, fenfu.NotifyTLSExpired, l, say("证书 %s 要到 %s 才生效", "the certificate %s is not valid until %s"), c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
		}
	}
	left := first.NotAfter.Sub(now)
	day := first.NotAfter.UTC().Format(time.DateOnly)
	switch {
	case left < 0:
		return Found(CheckTLSExpiry, Fail, fenfu.NotifyTLSExpired, l, say("证书 %s 已于 %s 过期，已过期 %d 天", "the certificate %s expired on %s, %d days ago"), first.Subject.CommonName, day, int(-left.Hours()/24))
	case left < ExpiryWarn:
		return Found(CheckTLSExpiry, Warn, fenfu.NotifyTLSExpiring, l, say("证书 %s 将于 %s 过期，还有 %d 天", "the certificate %s expires on %s, in %d days"), first.Subject.CommonName, day, int(left.Hours()/24))
	}
	return Found(CheckTLSExpiry, Pass, "", l, say("证书 %s 有效期至 %s，还有 %d 天", "the certificate %s is valid until %s, %d days from now"), first.Subject.CommonName, day, int(left.Hours()/24))
}

// resolve looks host up, or takes it as the address it is.
func (d *Doctor) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if d.Resolve != nil {
		return d.Resolve(ctx, host)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	return addrs, err
}

func join(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.Unmap().String()
	}
	return strings.Join(s, ", ")
}

// Lang is the language a request asks remedies in: ?lang=zh|en, English
// when it names none.
func Lang(param string) catalog.Lang {
	if l, ok := catalog.ParseLang(param); ok {
		return l
	}
	return catalog.EN
}
