package ticket

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/seal"
)

// ContentTypes are the kinds of file a ticket takes: pictures, PDFs and
// text (a transaction record as CSV).
var ContentTypes = []string{"image/png", "image/jpeg", "application/pdf", "text/plain", "text/csv"}

// checkAttachments checks the files of one message: at most
// MaxAttachments, each named, of at most MaxAttachment bytes, and of the
// content type it says, which must be one of ContentTypes.
func checkAttachments(files []NewAttachment) error {
	if len(files) > MaxAttachments {
		return fenfu.FieldError("attachments", "at most %d attachments go with one message", MaxAttachments)
	}
	for i, f := range files {
		field := fmt.Sprintf("attachments[%d]", i)
		if err := checkName(field+".name", f.Name); err != nil {
			return err
		}
		switch {
		case len(f.Content) == 0:
			return fenfu.FieldError(field+".content", "%s.content is empty", field)
		case len(f.Content) > MaxAttachment:
			return fenfu.FieldError(field+".content", "an attachment must be at most %d KiB, not %d bytes", MaxAttachment>>10, len(f.Content))
		}
		if err := checkContentType(field, f.ContentType, f.Content); err != nil {
			return err
		}
	}
	return nil
}

// checkName checks an attachment's file name: 1 to 128 bytes of text, no
// path.
func checkName(field, name string) error {
	if err := fenfu.Text(field, name); err != nil {
		return err
	}
	if name == "" || len(name) > maxAttachedName || strings.TrimSpace(name) == "" || strings.ContainsAny(name, "/\\\r\n\t") ||
		name == "." || name == ".." {
		return fenfu.FieldError(field, "name the attachment: 1 to %d bytes, no path", maxAttachedName)
	}
	return nil
}

// checkContentType checks that content is of the declared type, one of
// ContentTypes, by what it holds.
func checkContentType(field, declared string, content []byte) error {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil || !slices.Contains(ContentTypes, mt) {
		return fenfu.FieldError(field+".content_type", "content_type must be one of %s", strings.Join(ContentTypes, ", "))
	}
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(content))
	ok := sniffed == mt
	if mt == "text/plain" || mt == "text/csv" {
		ok = sniffed == "text/plain" && utf8.Valid(content)
	}
	if !ok {
		return fenfu.FieldError(field+".content", "the attachment is not %s: its content looks like %s", mt, sniffed)
	}
	return nil
}

func attachmentContext(id string) string { return "ticket_attachments.content:" + id }

// attach stores the n-th file of a ticket, sent with its event seq.
func (s *Service) attach(ctx context.Context, tx *db.Tx, ticketID string, n, seq int, f NewAttachment) error {
	id := fmt.Sprintf("%s.%d", ticketID, n)
	sum := sha256.Sum256(f.Content)
	content := base64.StdEncoding.EncodeToString(f.Content)
	if s.Sealer != nil {
		var err error
		if content, err = s.Sealer.Seal(content, attachmentContext(id)); err != nil {
			return err
		}
	}
	mt, _, _ := mime.ParseMediaType(f.ContentType)
	_, err := tx.ExecContext(ctx, `INSERT INTO ticket_attachments (id, ticket_id, seq, name, content_type, size, sha256, content, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, ticketID, seq, f.Name, mt, len(f.Content), hex.EncodeToString(sum[:]), content,
		db.Micros(tx.Now))
	return err
}

const attachmentColumns = `id, seq, name, content_type, size, sha256, created_at`

// attachments lists a ticket's attachments without their content.
func (s *Service) attachments(ctx context.Context, ticketID string) ([]Attachment, error) {
	return db.All(ctx, s.DB, func(r db.Scanner) (a Attachment, err error) {
		var at int64
		err = r.Scan(&a.ID, &a.Seq, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &at)
		a.CreatedAt = db.Time(at)
		return a, err
	}, `SELECT `+attachmentColumns+` FROM ticket_attachments WHERE ticket_id = $1 ORDER BY seq, id`, ticketID)
}

// Attachment returns one of a ticket's attachments with its content, to
// a viewer who may see the ticket.
func (s *Service) Attachment(ctx context.Context, viewer Actor, ticketID, id string) (Attachment, error) {
	if _, err := s.get(ctx, viewer, ticketID); err != nil {
		return Attachment{}, err
	}
	missing := fenfu.Errorf(fenfu.ResourceNotExists, "ticket %s has no attachment %q", ticketID, id)
	if !strings.HasPrefix(id, ticketID+".") || len(id) > 80 {
		return Attachment{}, missing
	}
	var a Attachment
	var at int64
	var content string
	err := s.DB.QueryRowContext(ctx, `SELECT `+attachmentColumns+`, content FROM ticket_attachments WHERE id = $1 AND ticket_id = $2`,
		id, ticketID).Scan(&a.ID, &a.Seq, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &at, &content)
	if errors.Is(err, sql.ErrNoRows) {
		return Attachment{}, missing
	}
	if err != nil {
		return Attachment{}, fenfu.Internal("ticket.Attachment", err)
	}
	a.CreatedAt = db.Time(at)
	if seal.Sealed(content) {
		if s.Sealer == nil {
			return Attachment{}, fenfu.Internal("ticket.Attachment", fmt.Errorf("attachment %s is sealed and no sealer is set", id))
		}
		if content, err = s.Sealer.Open(content, attachmentContext(id)); err != nil {
			return Attachment{}, fenfu.Internal("ticket.Attachment", err)
		}
	}
	if a.Content, err = base64.StdEncoding.DecodeString(content); err != nil {
		return Attachment{}, fenfu.Internal("ticket.Attachment", err)
	}
	return a, nil
}
