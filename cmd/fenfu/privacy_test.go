package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"
)

// TestNoPersonalDataInClear runs a representative day through a server
// (consumers created and logging in, right and wrong, a risk list
// imported, an application with a legal person and a bank account sent
// with its fields encrypted, checked, reviewed and activated, payments)
// and then reads both stores as an attacker holding them would: on SQLite
// the raw bytes of each file and its WAL, on PostgreSQL a pg_dump of each
// database. None of the phone numbers, names, ID numbers, licence numbers
// or bank accounts used appears.
func TestNoPersonalDataInClear(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testNoPersonalDataInClear(t, engine) })
	}
}

func testNoPersonalDataInClear(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	in := startServer(t, engine)
	dataDir := in.args[1]
	call := staffAPI(t, in)
	staff := func(method, path, contentType, body string, out any) {
		t.Helper()
		if st := call(method, path, contentType, []byte(body), out); st != 200 {
			t.Fatalf("%s %s → %d", method, path, st)
		}
	}
	// What must never be found in clear.
	const (
		phone1, phone2, pin = "13812345601", "15987654302", "246810"
		legalName, legalID  = "王茶香", "310101199001011234"
		legalPhone          = "13698765403"
		accountName         = "沪上茶香有限公司"
		accountNumber       = "6225880212345678"
		licence             = "91310000MA1TEA01X"
		listedLicence       = "91310000LISTED01X"
		listedName          = "李四小吃店"
	)
	secrets := []string{phone1, phone2, legalName, legalID, legalPhone, accountName, accountNumber, licence, listedLicence, listedName}

	var cons struct {
		ID string `json:"id"`
	}
	in.mustCLI(&cons, "consumer", "create", "--phone", phone1, "--pin", pin, "--credit-limit", "1000000", "--rating", "A", "--balance", "1000000")
	in.mustCLI(nil, "consumer", "create", "--phone", phone2, "--pin", pin, "--rating", "B")
	if _, err := cashierLogin(ctx, in.base, phone1, pin); err != nil {
		t.Fatalf("login: %v", err)
	}
	if _, err := cashierLogin(ctx, in.base, phone2, "000000"); err == nil {
		t.Fatal("a wrong PIN logged in")
	}

	var shop sandboxMerchant
	in.mustCLI(&shop, "merchant", "create", "--env", "production")
	hist := "mchid,month,ordinary_count\n"
	for _, mo := range lastMonths(3) {
		hist += shop.MchID + "," + mo + ",600\n"
	}
	staff("POST", "/admin/history", "text/csv", hist, nil)
	staff("POST", "/admin/risk-list?source=PBOC-2026-11", "text/csv", "licence_number,name,reason\n"+listedLicence+","+listedName+",fraud ring\n", nil)

	platform, err := utils.LoadPublicKeyWithPath(shop.PlatformPublicKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v string) string {
		ct, err := utils.EncryptOAEPWithPublicKey(v, platform)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	c := sdkClient(t, in.base, shop)
	var rec appRecord
	res, err := c.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/applications", map[string]any{
		"entity_type": "enterprise", "licence_number": licence, "licence_status": "normal", "industry": "ecommerce_retail",
		"qualifications": map[string]string{"icp_filing": "沪ICP备2026001号"},
		"legal_person":   map[string]string{"name": enc(legalName), "id_number": enc(legalID), "phone": enc(legalPhone)},
		"settlement_account": map[string]string{"bank": "招商银行", "account_name": enc(accountName),
			"account_number": enc(accountNumber)}})
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(res.Response.Body).Decode(&rec)
	if res, err = c.Post(ctx, "https://api.mch.weixin.qq.com/v3/fenfu/applications/"+rec.ID+"/submit", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(res.Response.Body).Decode(&rec)
	if rec.State != "in_review" {
		t.Fatalf("application: %+v", rec)
	}
	// Staff see the application opened.
	var full struct {
		Application struct {
			LicenceNumber string `json:"licence_number"`
			LegalPerson   struct {
				IDNumber string `json:"id_number"`
			} `json:"legal_person"`
		} `json:"application"`
	}
	staff("GET", "/admin/applications/"+rec.ID, "", "", &full)
	if full.Application.LicenceNumber != licence || full.Application.LegalPerson.IDNumber != legalID {
		t.Fatalf("staff's view: %+v", full)
	}
	staff("POST", "/admin/applications/"+rec.ID+"/review", "application/json", `{"decision":"approve","reason":"documents verified"}`, nil)
	staff("POST", "/admin/applications/"+rec.ID+"/deposit", "application/json", `{"ref":"BANK-0001"}`, nil)
	staff("POST", "/admin/applications/"+rec.ID+"/activate", "", "", nil)
	staff("POST", "/admin/rescreen", "", "", nil)
	for _, no := range []string{"PRIV-0001", "PRIV-0002"} {
		var created struct {
			CodeURL string `json:"code_url"`
		}
		res, err := c.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/native", map[string]any{"appid": shop.AppID,
			"mchid": shop.MchID, "description": "tea", "out_trade_no": no, "notify_url": "https://m.example/n", "amount": map[string]any{"total": 500}})
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Response.Body).Decode(&created)
		if err := payAs(ctx, created.CodeURL, phone1, pin, "credit"); err != nil {
			t.Fatalf("payment: %v", err)
		}
	}

	// Read the stores as they lie.
	dumps := map[string][]byte{}
	if engine == db.SQLite {
		files, _ := filepath.Glob(filepath.Join(dataDir, "*.db*"))
		if len(files) < 2 {
			t.Fatalf("store files: %v", files)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dumps[filepath.Base(f)] = b
		}
	} else {
		for i := 0; i+1 < len(in.args); i++ {
			if in.args[i] == "--core-db" || in.args[i] == "--credit-db" {
				out, err := exec.Command("pg_dump", "--no-owner", "--dbname", in.args[i+1]).Output()
				if err != nil {
					t.Fatalf("pg_dump: %v", err)
				}
				dumps[in.args[i]] = out
			}
		}
		if len(dumps) != 2 || !bytes.Contains(dumps["--core-db"], []byte("COPY public.consumers")) {
			t.Fatalf("dumps: %d", len(dumps))
		}
	}
	for name, b := range dumps {
		t.Logf("scanning %s: %d bytes for %d values", name, len(b), len(secrets))
		for _, s := range secrets {
			if i := bytes.Index(b, []byte(s)); i >= 0 {
				t.Errorf("%s holds %s in clear: …%q…", name, s, b[max(0, i-40):min(len(b), i+len(s)+20)])
			}
		}
	}
	// The check sees what it looks for: the consumer id is in the store.
	if !bytes.Contains(bytes.Join(func() [][]byte {
		var all [][]byte
		for _, b := range dumps {
			all = append(all, b)
		}
		return all
	}(), nil), []byte(cons.ID)) {
		t.Fatal("the stores as read do not hold the consumer's id: the scan reads nothing")
	}
}
