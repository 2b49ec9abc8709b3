package db_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
)

// TestApplicationRole: on PostgreSQL, a role with only the right to read
// and write rows starts on a store its owner migrated, and refuses a
// store with a migration pending, saying to run fenfu migrate as the
// owner. (The deployment guide sets fenfu up so.)
func TestApplicationRole(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.DSN(t, db.Postgres, "core")
	owner, err := db.Open(ctx, "core", dsn, fenfu.SystemClock{}, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := db.MigrateBefore(ctx, owner, "core", 45); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "fenfu_app_" + hex.EncodeToString(b)
	for _, q := range []string{"CREATE ROLE " + role + " LOGIN", "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"GRANT USAGE ON SCHEMA public TO " + role, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role} {
		if _, err := owner.W.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		_, _ = owner.W.ExecContext(ctx, "DROP OWNED BY "+role)
		_, _ = owner.W.ExecContext(ctx, "DROP ROLE "+role)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	app, err := db.Open(ctx, "core", u.String(), fenfu.SystemClock{}, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "run fenfu migrate as the database's owner") {
		t.Fatalf("the application role ran a pending migration, or did not say who should: %v", err)
	}
	if _, err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if applied, err := app.Migrate(ctx); err != nil || len(applied) != 0 {
		t.Fatalf("the application role on a migrated store: %v, %v", applied, err)
	}
	if _, err := app.Exec(ctx, `INSERT INTO backfills (name, done_at) VALUES ('role test', 1)`); err != nil {
		t.Errorf("the application role cannot write rows: %v", err)
	}
}
