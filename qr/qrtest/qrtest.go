// Package qrtest reads codes back in tests as a till's scanner does: with
// zbar (Debian zbar-tools).
package qrtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Scan decodes the codes of a PNG with zbarimg and returns what they
// carry, one per line. Without zbarimg the test is skipped, unless
// FENFU_REQUIRE_BROWSER=1 (as CI sets it) makes that a failure.
func Scan(t testing.TB, img []byte) string {
	t.Helper()
	path, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("FENFU_REQUIRE_BROWSER") == "1" {
			t.Fatal("zbarimg is not installed (apt-get install zbar-tools), and FENFU_REQUIRE_BROWSER=1 requires it")
		}
		t.Skip("zbarimg is not installed (apt-get install zbar-tools)")
	}
	f := filepath.Join(t.TempDir(), "code.png")
	if err := os.WriteFile(f, img, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "--quiet", "--raw", f).Output()
	if err != nil {
		t.Fatalf("zbarimg found no code: %v", err)
	}
	return strings.TrimSpace(string(out))
}
