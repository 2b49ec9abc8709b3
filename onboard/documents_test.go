package onboard_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/db/dbtest"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/onboard"
	"github.com/fenfu/fenfu/scheme"
	"github.com/fenfu/fenfu/seal"
)

// TestDocuments: a merchant's uploaded document is kept sealed and read
// back whole, only as a document its own application names; a file that
// is no image or PDF, or too large, is refused.
func TestDocuments(t *testing.T) {
	for _, engine := range dbtest.Engines() {
		t.Run(string(engine), func(t *testing.T) { testDocuments(t, engine) })
	}
}

func testDocuments(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	clock := fenfu.NewFakeClock(time.Date(2026, 11, 20, 9, 0, 0, 0, fenfu.Shanghai))
	core := dbtest.Open(t, engine, "core", clock)
	ms := merchant.New(core, &fenfu.RandomIDs{}, clock)
	sealer, err := seal.New([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	svc := &onboard.Service{DB: core, Policy: onboard.DefaultPolicy(), IDs: &fenfu.RandomIDs{}, Clock: clock, Sealer: sealer}
	shop, err := ms.CreateSandbox(ctx, "Shop", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ms.CreateSandbox(ctx, "Other", scheme.RSA)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	pic := b.Bytes()
	up, err := svc.Upload(ctx, shop.MchID, `C:\scans\licence.png`, pic)
	if err != nil {
		t.Fatal(err)
	}
	if len(up.MediaID) != 64 || up.ContentType != "image/png" || up.Filename != "licence.png" || up.Size != len(pic) {
		t.Errorf("upload %+v", up)
	}
	if again, err := svc.Upload(ctx, shop.MchID, "licence.png", pic); err != nil || again.MediaID != up.MediaID {
		t.Errorf("the same file again: %+v, %v", again, err)
	}
	var stored string
	if err := core.QueryRowContext(ctx, `SELECT data FROM application_documents WHERE sha256 = $1`, up.MediaID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !seal.Sealed(stored) || strings.Contains(stored, base64.StdEncoding.EncodeToString(pic)[:20]) {
		t.Errorf("the document is stored in the clear: %.60s…", stored)
	}

	for name, data := range map[string][]byte{"text": []byte("<html><script>alert(1)</script>"), "empty": nil,
		"huge": append([]byte("%PDF-1.4\n"), make([]byte, onboard.MaxDocument)...)} {
		if _, err := svc.Upload(ctx, shop.MchID, "x.pdf", data); fenfu.ErrorCode(err) != fenfu.ParamError {
			t.Errorf("%s file: %v, want PARAM_ERROR", name, err)
		}
	}

	named, err := svc.Create(ctx, shop.MchID, onboard.Application{EntityType: onboard.Enterprise, Industry: "catering",
		Documents: []onboard.Document{{Kind: "licence", SHA256: up.MediaID}, {Kind: "store_photo", SHA256: strings.Repeat("ab", 32)}}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := svc.Document(ctx, named.ID, strings.ToUpper(up.MediaID))
	if err != nil || !bytes.Equal(f.Data, pic) || f.ContentType != "image/png" || f.Filename != "licence.png" {
		t.Fatalf("document: %+v, %v", f.Upload, err)
	}
	// Named but never uploaded; uploaded but not named; named by
	// another merchant's application.
	stranger, err := svc.Create(ctx, other.MchID, onboard.Application{EntityType: onboard.Enterprise, Industry: "catering",
		Documents: []onboard.Document{{Kind: "licence", SHA256: up.MediaID}}})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := svc.Create(ctx, shop.MchID, onboard.Application{EntityType: onboard.Enterprise, Industry: "catering"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ app, sha string }{{named.ID, strings.Repeat("ab", 32)}, {bare.ID, up.MediaID}, {stranger.ID, up.MediaID}} {
		if _, err := svc.Document(ctx, c.app, c.sha); fenfu.ErrorCode(err) != fenfu.ResourceNotExists {
			t.Errorf("document %.8s of %s: %v, want RESOURCE_NOT_EXISTS", c.sha, c.app, err)
		}
	}
}
