package db_test

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/consumer"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/seal"
)

// TestSealedPersonalDataUpgrade: a store written before personal data was
// sealed (before core migration 18), with phones, a licence number and a
// risk list in clear, comes out of the upgrade and the start's backfills
// (run by two nodes at once) with every one of them sealed, each row
// sealed once, with no clear bytes left in a SQLite file once scrubbed, and still usable: the consumer logs in, the application
// reads back whole, the risk list still screens the licence.
func TestSealedPersonalDataUpgrade(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := fenfu.NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, fenfu.Shanghai))
			core, dsn := oldCore(t, ctx, engine, 18, clock)
			cr := dbtest.Open(t, engine, "credit", clock)
			sealer, _ := seal.New([]byte("upgrade-test-mk!"))
			const pin = "246810"
			salt := []byte("sixteen byte sal")
			key, _ := pbkdf2.Key(sha256.New, pin, salt, 20000, 32)
			pinHash := "pbkdf2-sha256$20000$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
			phones := map[string]string{"C1": "13800138000", "C2": "13900139000"}
			for id, phone := range phones {
				exec(t, ctx, core, `INSERT INTO consumers (id, phone, pin_hash, created_at) VALUES ($1, $2, $3, 1)`, id, phone, pinHash)
			}
			// An application as the release before left it: the bank
			// account alone sealed, the licence number in clear.
			acct, err := sealer.Seal(`{"bank":"招商银行","account_name":"Tea Shop Ltd","account_number":"6225880212345678"}`,
				"applications.settlement_account:app_1")
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO login_attempts (subject, failures, pending, expires_at) VALUES ('phone:13800138000', 2, 0, 9999999999999999)`,
				`INSERT INTO merchants (mchid, appid, name, env, apiv3_key, created_at) VALUES ('m1', 'wx1', 'Tea Shop', 'production', 'k', 1)`,
				`INSERT INTO applications (id, mchid, state, industry, data, created_at, updated_at) VALUES ('app_1', 'm1', 'active',
					'ecommerce_retail', '{"entity_type":"enterprise","licence_number":"91310000MA1TEA01X","licence_status":"normal",
					"industry":"ecommerce_retail","qualifications":null,"submitted_at":"2026-11-01T00:00:00Z",
					"settlement_account_sealed":"` + acct + `"}', 1, 1)`,
				`INSERT INTO risk_list (licence_number, name, reason, source, imported_at) VALUES ('91310000LISTED01X', '李四小吃店', 'fraud ring', 'PBOC', 1)`,
			} {
				exec(t, ctx, core, q)
			}
			if _, err := core.Migrate(ctx); err != nil {
				t.Fatal(err)
			}

			// Two nodes start at once.
			nodes := make([]*consumer.Service, 2)
			apps := make([]*onboard.Service, 2)
			for i := range nodes {
				nodes[i] = consumer.New(core, cr, &fenfu.RandomIDs{}, clock)
				nodes[i].Sealer = sealer
				apps[i] = &onboard.Service{DB: core, Sealer: sealer, Bureau: onboard.ListBureau{DB: core, Sealer: sealer}, IDs: &fenfu.RandomIDs{}, Clock: clock}
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			sealed := 0
			for i := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a, err1 := nodes[i].Backfill(ctx)
					b, err2 := apps[i].Backfill(ctx)
					if err1 != nil || err2 != nil {
						t.Errorf("backfill: %v %v", err1, err2)
					}
					mu.Lock()
					sealed += a + b
					mu.Unlock()
				}()
			}
			wg.Wait()
			if sealed != 4 {
				t.Errorf("the nodes sealed %d rows together, want 4 (each once)", sealed)
			}
			if n, err := nodes[0].Backfill(ctx); err != nil || n != 0 {
				t.Errorf("a second run sealed %d, %v", n, err)
			}
			if n, err := apps[0].Backfill(ctx); err != nil || n != 0 {
				t.Errorf("a second run sealed %d, %v", n, err)
			}

			// Nothing is left in clear: not in the rows, and on SQLite,
			// once the start has scrubbed the store, not in the file's
			// free pages or its WAL either.
			clears := []string{"13800138000", "13900139000", "91310000MA1TEA01X", "91310000LISTED01X", "李四", "6225880212345678"}
			if err := core.Scrub(ctx); err != nil {
				t.Fatal(err)
			}
			if engine == db.SQLite {
				for _, f := range []string{dsn, dsn + "-wal"} {
					b, err := os.ReadFile(f)
					if err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					for _, clear := range clears {
						if bytes.Contains(b, []byte(clear)) {
							t.Errorf("%s still holds %s after the scrub", filepath.Base(f), clear)
						}
					}
				}
			}
			for _, q := range []string{`SELECT phone FROM consumers`, `SELECT COALESCE(phone_index, '') FROM consumers`,
				`SELECT data FROM applications`, `SELECT licence_number || name FROM risk_list`, `SELECT subject FROM login_attempts`} {
				vs, err := core.Strings(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range vs {
					for _, clear := range clears {
						if strings.Contains(v, clear) {
							t.Errorf("%s: %q still holds %s", q, v, clear)
						}
					}
				}
			}
			// And everything still works.
			for id, phone := range phones {
				got, err := nodes[1].Login(ctx, phone, pin, "192.0.2.1:1000")
				if err != nil || got != id {
					t.Errorf("login of %s after the upgrade = %q, %v", phone, got, err)
				}
			}
			if _, err := nodes[0].Login(ctx, "13800138000", "000000", ""); fenfu.ErrorCode(err) != fenfu.Unauthenticated {
				t.Errorf("a wrong PIN after the upgrade: %v", err)
			}
			r, err := apps[1].Get(ctx, "app_1")
			if err != nil || r.Application.LicenceNumber != "91310000MA1TEA01X" || r.Application.SettlementAccount == nil ||
				r.Application.SettlementAccount.AccountNumber != "************5678" {
				t.Errorf("application after the upgrade: %+v, %v", r.Application, err)
			}
			if a, err := apps[1].SettlementAccount(ctx, "m1"); err != nil || a.AccountNumber != "6225880212345678" {
				t.Errorf("settlement account after the upgrade: %+v, %v", a, err)
			}
			bureau := onboard.ListBureau{DB: core, Sealer: sealer}
			if listed, why, err := bureau.Listed(ctx, "91310000LISTED01X"); err != nil || !listed || !strings.Contains(why, "fraud ring") {
				t.Errorf("risk list after the upgrade: %v %q %v", listed, why, err)
			}
			// A list imported again replaces its row rather than adding one.
			if _, err := apps[0].ImportRiskList(ctx, strings.NewReader("licence_number,name,reason\n91310000LISTED01X,李四小吃店,relisted\n"), "PBOC-2"); err != nil {
				t.Fatal(err)
			}
			if n, err := core.Strings(ctx, `SELECT reason FROM risk_list`); err != nil || len(n) != 1 || n[0] != "relisted" {
				t.Errorf("risk list after a second import: %q, %v", n, err)
			}
		})
	}
}
