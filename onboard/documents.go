package onboard

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/merchant"
	"github.com/fenfu/fenfu/seal"
)

// The documents of applications: files a merchant uploads (a business
// licence, an identity card, a store's photo, a permit), kept sealed
// under the merchant and named by their SHA-256, which the application's
// Documents list. Staff read them through the staff API.

// MaxDocument is the largest document kept.
const MaxDocument = 5 << 20

// Upload is a document as uploaded: its media id (the SHA-256 of its
// bytes, hex), name and type.
type Upload struct {
	MediaID     string `json:"media_id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// DocumentFile is a document's file.
type DocumentFile struct {
	Upload
	Data []byte
}

func documentContext(id string) string { return "application_documents.data:" + id }

// Upload keeps a merchant's document: a JPEG, PNG, BMP or PDF (judged by
// its bytes, not its name) of at most MaxDocument. Uploading the same
// bytes again answers the same media id.
func (s *Service) Upload(ctx context.Context, mchid, filename string, data []byte) (Upload, error) {
	if len(data) == 0 || len(data) > MaxDocument {
		return Upload{}, fenfu.FieldError("file", "a document is 1 byte to %d MB", MaxDocument>>20)
	}
	filename = path.Base(strings.ReplaceAll(filename, `\`, "/"))
	if filename == "" || filename == "." || filename == "/" || len(filename) > 128 || !utf8.ValidString(filename) {
		return Upload{}, fenfu.FieldError("filename", "filename is the file's name, at most 128 bytes of UTF-8")
	}
	ct := http.DetectContentType(data)
	if !strings.HasPrefix(ct, "image/") && ct != "application/pdf" || ct == "image/gif" || ct == "image/webp" {
		return Upload{}, fenfu.FieldError("file", "a document is a JPEG, PNG or BMP image or a PDF; this one is %s", ct)
	}
	sum := sha256.Sum256(data)
	u := Upload{MediaID: hex.EncodeToString(sum[:]), Filename: filename, ContentType: ct, Size: len(data)}
	id := mchid + ":" + u.MediaID
	stored := base64.StdEncoding.EncodeToString(data)
	if s.Sealer != nil {
		var err error
		if stored, err = s.Sealer.Seal(stored, documentContext(id)); err != nil {
			return Upload{}, fenfu.Internal("onboard.Upload", err)
		}
	}
	err := s.DB.Update(ctx, func(tx *db.Tx) error {
		if err := merchant.Exists(ctx, tx, mchid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO application_documents (id, mchid, sha256, filename, content_type, size, data, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			id, mchid, u.MediaID, u.Filename, u.ContentType, u.Size, stored, db.Micros(tx.Now))
		return err
	})
	if err != nil {
		return Upload{}, fenfu.Op("onboard.Upload", err)
	}
	return u, nil
}

// Document returns a document of an application: one its Documents name
// (by sha256), uploaded by its merchant. Any other is RESOURCE_NOT_EXISTS.
func (s *Service) Document(ctx context.Context, applicationID, sha string) (DocumentFile, error) {
	r, err := s.Get(ctx, applicationID)
	if err != nil {
		return DocumentFile{}, err
	}
	named := false
	for _, d := range r.Application.Documents {
		named = named || strings.EqualFold(d.SHA256, sha)
	}
	missing := fenfu.Errorf(fenfu.ResourceNotExists, "application %s has no uploaded document %s", applicationID, sha)
	if !named {
		return DocumentFile{}, missing
	}
	id := r.MchID + ":" + strings.ToLower(sha)
	var f DocumentFile
	var stored string
	err = s.DB.QueryRowContext(ctx, `SELECT sha256, filename, content_type, size, data FROM application_documents WHERE id = $1`, id).
		Scan(&f.MediaID, &f.Filename, &f.ContentType, &f.Size, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		missing.Remedy = "The merchant names the document but has not uploaded it (POST /v3/merchant/media/upload); ask for it."
		return DocumentFile{}, missing
	}
	if err != nil {
		return DocumentFile{}, fenfu.Internal("onboard.Document", err)
	}
	if seal.Sealed(stored) {
		if s.Sealer == nil {
			return DocumentFile{}, fenfu.Internal("onboard.Document", fmt.Errorf("document %s is sealed and no sealer is configured", id))
		}
		if stored, err = s.Sealer.Open(stored, documentContext(id)); err != nil {
			return DocumentFile{}, fenfu.Internal("onboard.Document", err)
		}
	}
	if f.Data, err = base64.StdEncoding.DecodeString(stored); err != nil {
		return DocumentFile{}, fenfu.Internal("onboard.Document", err)
	}
	return f, nil
}
