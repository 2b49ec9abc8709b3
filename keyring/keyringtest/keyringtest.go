// Package keyringtest opens platform keyrings for tests: on a core store,
// under a random master key, with a data directory of the test's own.
package keyringtest

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/keyring"
	"github.com/fenfu/fenfu/seal"
)

// Open returns the keyring of a migrated core store, filling it on first
// use.
func Open(tb testing.TB, core *db.DB) *keyring.Keyring {
	tb.Helper()
	master := make([]byte, 16)
	if _, err := rand.Read(master); err != nil {
		tb.Fatal(err)
	}
	sealer, err := seal.New(master)
	if err != nil {
		tb.Fatal(err)
	}
	k, err := keyring.Open(context.Background(), core, tb.TempDir(), sealer)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
