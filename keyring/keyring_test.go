package keyring

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

var (
	masterA = []byte("0123456789abcdef")
	masterB = []byte("fedcba9876543210")
)

func sealer(t *testing.T, current []byte, previous ...[]byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// open opens a migrated core store twice, as two nodes would.
func openPair(t *testing.T, engine db.Engine) (*db.DB, *db.DB) {
	t.Helper()
	dsn := dbtest.DSN(t, engine, "core")
	var out []*db.DB
	for range 2 {
		d, err := db.Open(context.Background(), "core", dsn, fenfu.SystemClock{}, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out[0], out[1]
}

func onEngines(t *testing.T, f func(t *testing.T, engine db.Engine)) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { f(t, engine) })
	}
}

// TestNodesShareTheStoresKeys: two nodes starting at once on an empty
// store, each with an empty data directory and only the master key in
// common, fill it once and sign with the same keys and secrets; the
// private keys are sealed in the store, and each node writes the public
// keys merchants read into its own data directory.
func TestNodesShareTheStoresKeys(t *testing.T) {
	onEngines(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		s1, s2 := openPair(t, engine)
		var k [2]*Keyring
		var errs [2]error
		var wg sync.WaitGroup
		for i, s := range []*db.DB{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k[i], errs[i] = Open(ctx, s, t.TempDir(), sealer(t, masterA))
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		for _, n := range Schemes {
			a, b := k[0].Platform(n), k[1].Platform(n)
			if a.ID != b.ID || a.Certificate.SerialNo != b.Certificate.SerialNo || !strings.HasPrefix(a.ID, "PUB_KEY_ID_") {
				t.Fatalf("%s: the nodes sign with different keys: %s and %s", n, a.ID, b.ID)
			}
			pub, err := os.ReadFile(b.PublicKeyPath)
			want, _ := scheme.PublicKeyPEM(scheme.Public(a.Key))
			if err != nil || string(pub) != string(want) {
				t.Fatalf("%s: the second node's public key file: %v", n, err)
			}
		}
		if string(k[0].Secret) != string(k[1].Secret) || len(k[0].Secret) != 32 {
			t.Fatal("the nodes have different secrets")
		}
		if k[0].Sealer.Index("consumers.phone", "13800138000") != sealer(t, masterA).Index("consumers.phone", "13800138000") {
			t.Fatal("the blind-index key is not the one the master derived")
		}
		var stored string
		if err := s1.QueryRowContext(ctx, `SELECT private_key FROM platform_keys WHERE slot = 'current' AND scheme = $1`, string(scheme.RSA)).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored, "sm4env2.") || strings.Contains(stored, "PRIVATE KEY") {
			t.Fatal("the platform private key is stored in the clear")
		}
		// A node with another master does not start, and says why.
		_, err := Open(ctx, s2, t.TempDir(), sealer(t, masterB))
		if err == nil || !strings.Contains(err.Error(), seal.MasterID(masterA)) {
			t.Fatalf("a node with another master key: %v", err)
		}
	})
}

// TestUpgradeImportsTheDataDir: a data directory of the key files kept
// before keys moved into the store (sealed or plain private keys,
// certificates, the secret) is imported on the first start: the same key
// IDs, certificate serials and secret.
func TestUpgradeImportsTheDataDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := sealer(t, masterA)
	want := map[string]string{}
	for _, n := range Schemes {
		for _, slot := range []string{Current, Next} {
			key, err := scheme.Generate(n)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := scheme.PrivateKeyPEM(key)
			raw := string(p)
			if n == scheme.RSA { // sealed as the files were, in a version 1 envelope
				v2, _ := old.Seal(raw, "platform key")
				parts := strings.SplitN(v2, ".", 3)
				raw = "sm4env1." + parts[2]
			}
			cert, _ := selfSigned(key)
			priv, _, certName := files(n, slot)
			if err := os.WriteFile(filepath.Join(dir, priv), []byte(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, certName), cert, 0o600); err != nil {
				t.Fatal(err)
			}
			c, _ := parseCertificate(cert)
			der, _ := scheme.MarshalPublicKey(scheme.Public(key))
			want[string(n)+slot] = KeyID(der) + " " + c.SerialNo
		}
	}
	secret := strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	core := dbtest.Open(t, db.SQLite, "core", fenfu.SystemClock{})
	k, err := Open(ctx, core, dir, old)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range Schemes {
		for _, pk := range k.All(n) {
			if got := pk.ID + " " + pk.Certificate.SerialNo; got != want[string(n)+pk.Slot] {
				t.Fatalf("%s %s: imported as %s, want %s", n, pk.Slot, got, want[string(n)+pk.Slot])
			}
		}
		if len(k.All(n)) != 2 {
			t.Fatalf("%s: %d keys imported, want 2", n, len(k.All(n)))
		}
	}
	if hex.EncodeToString(k.Secret) != secret {
		t.Fatal("the secret was not imported")
	}
	// Afterwards the files are not needed: a node with an empty data
	// directory serves with the same keys.
	k2, err := Open(ctx, core, t.TempDir(), old)
	if err != nil || k2.Platform(scheme.RSA).ID != k.Platform(scheme.RSA).ID {
		t.Fatalf("a node without the files: %v", err)
	}
}

// TestRotationReachesOtherNodes: each rotation step made on one node
// reaches another on its next Refresh, without a restart.
func TestRotationReachesOtherNodes(t *testing.T) {
	onEngines(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		s1, s2 := openPair(t, engine)
		a, err := Open(ctx, s1, t.TempDir(), sealer(t, masterA))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(ctx, s2, t.TempDir(), sealer(t, masterA))
		if err != nil {
			t.Fatal(err)
		}
		refresh := func() {
			t.Helper()
			if changed, err := b.Refresh(ctx); err != nil || !changed {
				t.Fatalf("Refresh: %v %v", changed, err)
			}
		}
		for _, n := range Schemes {
			old := b.Platform(n)
			next, err := a.Rotate(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Rotate(ctx, n); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
				t.Fatalf("rotated twice without promoting: %v", err)
			}
			refresh()
			if b.Platform(n).ID != old.ID || b.ForSerial(n, next.ID).ID != next.ID || b.ForSerial(n, next.Certificate.SerialNo).ID != next.ID ||
				b.ForSerial(n, "").ID != old.ID || len(b.All(n)) != 2 {
				t.Fatal("the next key is not offered to clients that ask for it, or is used by default")
			}
			if _, err := os.Stat(b.ForSerial(n, next.ID).PublicKeyPath); err != nil {
				t.Fatalf("the next key's public key file: %v", err)
			}
			if err := a.Promote(ctx, n); err != nil {
				t.Fatal(err)
			}
			refresh()
			if b.Platform(n).ID != next.ID || b.ForSerial(n, old.ID).ID != old.ID || b.ForSerial(n, old.ID).Slot != Previous {
				t.Fatal("after promotion the new key is not current, or the old one is not kept")
			}
			if _, err := a.Rotate(ctx, n); err != nil {
				t.Fatal(err)
			}
			if err := a.Promote(ctx, n); fenfu.ErrorCode(err) != fenfu.InvalidRequest {
				t.Fatalf("promoted while a previous key is still kept: %v", err)
			}
			if err := a.RetirePrevious(ctx, n); err != nil {
				t.Fatal(err)
			}
			refresh()
			if b.ForSerial(n, old.ID).ID == old.ID {
				t.Fatal("a retired key is still used")
			}
			if changed, err := b.Refresh(ctx); err != nil || changed {
				t.Fatal("Refresh reloaded an unchanged version")
			}
		}
	})
}

// TestMasterRotation: after Reseal under a new master (the old one held
// as the previous), the old master alone opens nothing, the new one alone
// opens everything, and the blind index is unchanged.
func TestMasterRotation(t *testing.T) {
	onEngines(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		core := dbtest.Open(t, engine, "core", fenfu.SystemClock{})
		a, err := Open(ctx, core, t.TempDir(), sealer(t, masterA))
		if err != nil {
			t.Fatal(err)
		}
		before := a.Sealer.Index("consumers.phone", "13800138000")
		count := func(s *seal.Sealer) map[string]int {
			t.Helper()
			counts, err := Status(ctx, core, s, Columns())
			if err != nil {
				t.Fatal(err)
			}
			total := map[string]int{}
			for _, c := range counts {
				for id, n := range c.Masters {
					total[id] += n
				}
			}
			return total
		}
		idA, idB := seal.MasterID(masterA), seal.MasterID(masterB)
		if got := count(a.Sealer); got[idA] != 4 || len(got) != 1 {
			t.Fatalf("before: %v, want 4 values under %s", got, idA)
		}
		both, err := Open(ctx, core, t.TempDir(), sealer(t, masterB, masterA))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Reseal(ctx, core, sealer(t, masterB), Columns(), nil); err == nil {
			t.Fatal("resealed without the old master")
		}
		done, err := Reseal(ctx, core, both.Sealer, Columns(), nil)
		if err != nil || done[0].Rewrapped != 2 || done[1].Rewrapped != 2 {
			t.Fatalf("Reseal: %+v %v", done, err)
		}
		if again, err := Reseal(ctx, core, both.Sealer, Columns(), nil); err != nil || again[0].Rewrapped+again[1].Rewrapped != 0 {
			t.Fatalf("a second Reseal: %+v %v", again, err)
		}
		if got := count(both.Sealer); got[idB] != 4 || got[idA] != 0 {
			t.Fatalf("after: %v", got)
		}
		if _, err := Open(ctx, core, t.TempDir(), sealer(t, masterA)); err == nil {
			t.Fatal("the old master alone still opens the store")
		}
		b, err := Open(ctx, core, t.TempDir(), sealer(t, masterB))
		if err != nil {
			t.Fatal(err)
		}
		if b.Sealer.Index("consumers.phone", "13800138000") != before || b.Platform(scheme.RSA).ID != a.Platform(scheme.RSA).ID {
			t.Fatal("the new master changed the blind index or the keys")
		}
	})
}

func TestMasterSource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "master.key")
	created, err := MasterSource{File: file, Create: true}.Load(ctx)
	if err != nil || len(created) != 16 {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v", err)
	}
	again, err := MasterSource{File: file}.Load(ctx)
	if err != nil || string(again) != string(created) {
		t.Fatal("a second load made a new master key")
	}
	hexKey := hex.EncodeToString(masterB)
	for name, src := range map[string]MasterSource{
		"environment first": {Hex: hexKey, Command: "echo " + strings.Repeat("0", 32), File: file},
		"command":           {Command: "printf '%s\\n' " + hexKey, File: file},
	} {
		if got, err := src.Load(ctx); err != nil || string(got) != string(masterB) {
			t.Fatalf("%s: %x, %v", name, got, err)
		}
	}
	for name, src := range map[string]MasterSource{
		"short key":       {Hex: "abcd"},
		"failing command": {Command: "echo no >&2; exit 3"},
		"command not hex": {Command: "echo hello"},
		"missing file":    {File: filepath.Join(dir, "none.key")},
		"file for others": {File: file},
	} {
		if name == "file for others" {
			if err := os.Chmod(file, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := src.Load(ctx)
		if err == nil || strings.Contains(err.Error(), hexKey) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestMasterKeyInANewDirectory: a first start with a --data-dir that does
// not exist yet makes it (0700) and its master key file (0600), rather
// than failing to write the key.
func TestMasterKeyInANewDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	key, err := MasterSource{File: filepath.Join(dir, "master.key"), Create: true}.Load(context.Background())
	if err != nil || len(key) == 0 {
		t.Fatalf("master key in a new directory: %v", err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "master.key"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", path, fi.Mode().Perm(), err, want)
		}
	}
}
