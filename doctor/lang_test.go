package doctor

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/scheme"
)

// TestReportInChinese: a report asked in Chinese says every check's
// detail in Chinese, the words passed into it too (慢, 平台公钥, 分钟),
// and the same report in English says none; a check that fails or is
// skipped is said in Chinese as well.
func TestReportInChinese(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	clock := fenfu.NewFakeClock(now)
	keys, store := openKeys(t, clock)
	certs, pool := selfSigned(t, "shop.example", now.Add(-time.Hour), now.Add(90*24*time.Hour+time.Hour))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{certs}}
	srv.StartTLS()
	defer srv.Close()
	d := &Doctor{Client: notify.Client{Private: true, RootCAs: pool}, Keys: keys, Events: &notify.Events{DB: store, Clock: clock},
		Clock: clock, SkewFail: 5 * time.Minute}
	platform := keys.Platform(scheme.RSA).ID
	s := Subject{MchID: "1900000001", NotifyURL: srv.URL + "/notify", SignedAt: now.Add(-2 * time.Second), KeySerial: "5157F09E",
		Scheme: scheme.RSA, PlatformSerial: platform}

	zh, err := d.Run(t.Context(), s, catalog.ZH)
	if err != nil {
		t.Fatal(err)
	}
	en, err := d.Run(t.Context(), s, catalog.EN)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "https://")
	exact := map[string]string{
		CheckNotifyURL:     srv.URL + "/notify 使用 https",
		CheckTLSChain:      "127.0.0.1 的证书（shop.example）验证通过，链至 shop.example",
		CheckTLSExpiry:     "证书 shop.example 有效期至 " + now.Add(90*24*time.Hour+time.Hour).Format(time.DateOnly) + "，还有 90 天",
		CheckClock:         "商户时钟比 fenfu 慢 2 秒",
		CheckMerchantKey:   "请求以序列号 5157F09E 的密钥签名，已用商户登记的公钥验签通过",
		CheckPlatformKey:   "WECHATPAY2-SHA256-RSA2048 的平台公钥 " + platform + " 是当前密钥",
		CheckNotifications: "最近 24 小时内没有通知投递",
	}
	if len(zh.Checks) != 9 || len(en.Checks) != 9 {
		t.Fatalf("%d checks in Chinese, %d in English; want 9", len(zh.Checks), len(en.Checks))
	}
	for i, c := range zh.Checks {
		if c.Verdict != Pass {
			t.Errorf("%s: %s %q; the report's checks all pass", c.Name, c.Verdict, c.Detail)
		}
		if w, ok := exact[c.Name]; ok && c.Detail != w {
			t.Errorf("%s in Chinese: %q, want %q", c.Name, c.Detail, w)
		}
		if !hasHan(c.Detail) || strings.Contains(c.Detail, "%!") {
			t.Errorf("%s in Chinese: %q is not Chinese", c.Name, c.Detail)
		}
		if e := en.Checks[i]; e.Name != c.Name || hasHan(e.Detail) || e.Detail == c.Detail {
			t.Errorf("%s in English: %q", e.Name, e.Detail)
		}
	}
	if got := zh.Checks[1].Detail; got != "127.0.0.1 解析到 127.0.0.1" {
		t.Errorf("dns in Chinese: %q", got)
	}
	if got := zh.Checks[2].Detail; !strings.HasPrefix(got, "https://"+host+" 在 ") || !strings.HasSuffix(got, " 毫秒内以 204 No Content 应答了 HEAD 请求") {
		t.Errorf("https in Chinese: %q", got)
	}

	// What fails, warns or is skipped.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "https://" + closed.Addr().String() + "/notify"
	closed.Close()
	untrusted := &Doctor{Client: notify.Client{Private: true}}
	noHost := &Doctor{Client: notify.Client{}, Resolve: func(context.Context, string) ([]netip.Addr, error) {
		return nil, errors.New("no such host")
	}}
	inside := &Doctor{Client: notify.Client{}, Resolve: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("10.0.0.1")}, nil
	}}
	var said []Check
	for _, p := range []struct {
		d       *Doctor
		url     string
		sandbox bool
	}{
		{d, "", false}, {d, "ftp://shop.example/", false}, {d, closedURL, false}, {untrusted, srv.URL + "/notify", false},
		{noHost, "https://shop.example/notify", false}, {inside, "https://shop.example/notify", false},
		{inside, "http://shop.example/notify", true}, {inside, "http://shop.example/notify", false},
	} {
		said = append(said, p.d.Probe(t.Context(), p.url, p.sandbox, now, catalog.ZH)...)
	}
	for _, serial := range []string{"", "PUB_KEY_ID_0000"} {
		said = append(said, d.platformKey(scheme.RSA, serial, now, catalog.ZH))
	}
	said = append(said, ClockCheck(61*time.Second, 5*time.Minute, catalog.ZH), ClockCheck(-time.Hour, 5*time.Minute, catalog.ZH),
		expiry(nil, now, catalog.ZH))
	for _, c := range said {
		if !hasHan(c.Detail) || strings.Contains(c.Detail, "%!") {
			t.Errorf("%s %s in Chinese: %q is not Chinese", c.Name, c.Verdict, c.Detail)
		}
	}
	for _, w := range []string{
		"商户没有登记回调地址，也没有投递过通知", "没有回调地址", `"ftp://shop.example/" 不是 http(s) 地址`,
		"5 秒内未能连接到 " + strings.TrimSuffix(strings.TrimPrefix(closedURL, "https://"), "/notify") + "：", "未能连接",
		"127.0.0.1 的证书（shop.example，由 shop.example 签发）无法链至 fenfu 信任的证书颁发机构",
		"shop.example 无法解析：no such host", "shop.example 无法解析",
		"shop.example 解析到内网或保留地址，fenfu 不向这类地址发送通知", "shop.example 解析到内网地址",
		"http://shop.example/notify 使用 http：沙箱向它发送通知，生产环境不会", "http://shop.example/notify 使用 http：生产环境的回调地址必须是 https",
		"请求没有指明所持的平台密钥（Wechatpay-Serial 或 platform_serial）", `"PUB_KEY_ID_0000" 不是 fenfu 的平台公钥，也不是平台证书`,
		"商户时钟比 fenfu 慢 1 分 1 秒（超过 1 分钟；超过 5 分钟时请求会被拒绝）",
		"商户时钟比 fenfu 快 1 小时，超出 fenfu 允许的 5 分钟：所有签名请求都会被拒绝", "没有证书",
	} {
		found := false
		for _, c := range said {
			found = found || strings.HasPrefix(c.Detail, w)
		}
		if !found {
			t.Errorf("no check says %q", w)
		}
	}
}

// selfSigned is a certificate for 127.0.0.1 that is its own authority,
// and the pool that trusts it.
func selfSigned(t *testing.T, cn string, from, to time.Time) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, Issuer: pkix.Name{CommonName: cn},
		NotBefore: from, NotAfter: to, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

func TestZhDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0 秒", 59 * time.Second: "59 秒", time.Minute: "1 分钟", 61 * time.Second: "1 分 1 秒", 5 * time.Minute: "5 分钟",
		time.Hour: "1 小时", 24 * time.Hour: "24 小时", time.Hour + 2*time.Minute: "1 小时 2 分", time.Hour + 3*time.Second: "1 小时 0 分 3 秒",
		time.Hour + 2*time.Minute + 3*time.Second: "1 小时 2 分 3 秒", -90 * time.Second: "-1 分 30 秒", 1500 * time.Millisecond: "1.5s",
	} {
		if got := zhDuration(d); got != want {
			t.Errorf("zhDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestEveryDetailInBothLanguages: every call of Found in the module says
// its detail in Chinese and in English: the detail is say(zh, en) or
// catalog.Text{ZH: zh, EN: en} of two literals (or a variable holding
// one), and every such pair in a file that calls Found, the words passed
// into a detail too, has Chinese in its Chinese, none in its English, and
// the same arguments in the same verbs in each.
func TestEveryDetailInBothLanguages(t *testing.T) {
	root := ".."
	calls := map[string]int{}
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && path != root && (strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata" || e.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if e.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		own := f.Name.Name == "doctor" && filepath.Base(filepath.Dir(path)) == "doctor"
		imported, catalogName := "", "catalog"
		for _, im := range f.Imports {
			name := ""
			if im.Name != nil {
				name = im.Name.Name
			}
			switch im.Path.Value {
			case `"github.com/fenfu/fenfu/doctor"`:
				imported = cmp.Or(name, "doctor")
			case `"github.com/fenfu/fenfu/catalog"`:
				catalogName = cmp.Or(name, "catalog")
			}
		}
		isFound := func(fun ast.Expr) bool {
			switch fun := fun.(type) {
			case *ast.Ident:
				return own && fun.Name == "Found"
			case *ast.SelectorExpr:
				x, ok := fun.X.(*ast.Ident)
				return ok && imported != "" && x.Name == imported && fun.Sel.Name == "Found"
			}
			return false
		}
		isSay := func(e ast.Expr) bool {
			c, ok := e.(*ast.CallExpr)
			if !ok {
				return false
			}
			id, ok := c.Fun.(*ast.Ident)
			return ok && own && id.Name == "say"
		}
		isText := func(e ast.Expr) bool {
			c, ok := e.(*ast.CompositeLit)
			if !ok {
				return false
			}
			sel, ok := c.Type.(*ast.SelectorExpr)
			if !ok {
				return false
			}
			x, ok := sel.X.(*ast.Ident)
			return ok && x.Name == catalogName && sel.Sel.Name == "Text"
		}
		var pairs []ast.Expr
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				// say and sayf make a pair of what they are given.
				return !(own && (n.Name.Name == "say" || n.Name.Name == "sayf"))
			case *ast.CallExpr:
				if isSay(n) {
					pairs = append(pairs, n)
				}
				if !isFound(n.Fun) {
					return true
				}
				calls[path]++
				at := fset.Position(n.Pos())
				if len(n.Args) < 5 {
					t.Errorf("%s: Found with %d arguments", at, len(n.Args))
					return true
				}
				switch d := n.Args[4].(type) {
				case *ast.Ident:
				case *ast.CallExpr, *ast.CompositeLit:
					if !isSay(d) && !isText(d) {
						t.Errorf("%s: Found's detail is neither say(zh, en) nor catalog.Text{ZH, EN}", at)
					}
				default:
					t.Errorf("%s: Found's detail is neither say(zh, en), catalog.Text{ZH, EN} nor a variable holding one", at)
				}
			case *ast.CompositeLit:
				if isText(n) {
					pairs = append(pairs, n)
				}
			}
			return true
		})
		if calls[path] == 0 {
			return nil
		}
		for _, p := range pairs {
			at := fset.Position(p.Pos())
			zh, en, ok := literalPair(p)
			if !ok {
				t.Errorf("%s: a detail's text is not two string literals, Chinese then English", at)
				continue
			}
			if !hasHan(zh) || en == "" || hasHan(en) {
				t.Errorf("%s: %q is not Chinese or %q not English", at, zh, en)
			}
			if z, e := verbs(zh), verbs(en); z != e {
				t.Errorf("%s: %q says its arguments as %s, %q as %s", at, zh, z, en, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join("..", "doctor", "doctor.go"), filepath.Join("..", "cmd", "fenfu", "doctor.go")} {
		if calls[f] < 5 {
			t.Errorf("%d calls of Found in %s; the walk missed them", calls[f], f)
		}
	}
}

// literalPair is the Chinese and the English of say(zh, en) or
// catalog.Text{ZH: zh, EN: en}, when both are string literals.
func literalPair(e ast.Expr) (zh, en string, ok bool) {
	var z, n ast.Expr
	switch e := e.(type) {
	case *ast.CallExpr:
		if len(e.Args) != 2 {
			return "", "", false
		}
		z, n = e.Args[0], e.Args[1]
	case *ast.CompositeLit:
		for _, el := range e.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				return "", "", false
			}
			switch k, _ := kv.Key.(*ast.Ident); {
			case k != nil && k.Name == "ZH":
				z = kv.Value
			case k != nil && k.Name == "EN":
				n = kv.Value
			}
		}
	}
	lit := func(x ast.Expr) (string, bool) {
		b, ok := x.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}
	zh, ok1 := lit(z)
	en, ok2 := lit(n)
	return zh, en, ok1 && ok2
}

// verbs is which verb a format says each argument with, as
// "1:s 2:d", its explicit indexes (%[2]s) followed.
func verbs(format string) string {
	said := map[int]byte{}
	arg, most := 1, 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] == '[' {
			end := strings.IndexByte(format[i:], ']')
			if end < 0 {
				return "bad index"
			}
			n, err := strconv.Atoi(format[i+1 : i+end])
			if err != nil {
				return "bad index"
			}
			arg, i = n, i+end+1
		}
		if i >= len(format) {
			return "no verb"
		}
		if format[i] == '%' {
			continue
		}
		said[arg] = format[i]
		most = max(most, arg)
		arg++
	}
	var b strings.Builder
	for a := 1; a <= most; a++ {
		if v, ok := said[a]; ok {
			b.WriteString(strconv.Itoa(a) + ":" + string(v) + " ")
		} else {
			b.WriteString(strconv.Itoa(a) + ":unsaid ")
		}
	}
	return b.String()
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF {
			return true
		}
	}
	return false
}
