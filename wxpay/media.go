package wxpay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/fenfu/fenfu"
)

// The media upload of WeChat Pay (POST /v3/merchant/media/upload), which
// merchants send the documents of their applications through:
// multipart/form-data with a "meta" part, {"filename", "sha256"} as
// JSON, and a "file" part, the file itself. The signature covers the
// meta's JSON as the body. fenfu keeps the file, sealed, under the
// merchant; it answers {"media_id"}, which an application's documents
// name (documents[].sha256 is the file's SHA-256 as hex, the media id).

// MaxUpload is the largest file an upload takes: WeChat Pay's 5 MB for
// images.
const MaxUpload = 5 << 20

// upload is a media upload's file.
type upload struct {
	meta struct {
		Filename string `json:"filename"`
		SHA256   string `json:"sha256"`
	}
	data []byte
}

// readUpload reads a media upload: its meta, which is the request's Body
// and what the signature covers, and its file.
func readUpload(r *http.Request, req *request) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, fenfu.Errorf(fenfu.ParamError, "a media upload is multipart/form-data with a meta part and a file part")
	}
	mr := multipart.NewReader(http.MaxBytesReader(nil, r.Body, MaxUpload+MaxBody), params["boundary"])
	up := &upload{}
	var meta []byte
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, uploadTooLarge(err)
		}
		switch p.FormName() {
		case "meta":
			if meta, err = io.ReadAll(io.LimitReader(p, MaxBody+1)); err != nil || len(meta) > MaxBody {
				return nil, fenfu.Errorf(fenfu.ParamError, "the meta part is unreadable or larger than %d bytes", MaxBody)
			}
		case "file":
			if up.data, err = io.ReadAll(io.LimitReader(p, MaxUpload+1)); err != nil {
				return nil, uploadTooLarge(err)
			}
			if len(up.data) > MaxUpload {
				return nil, fenfu.Errorf(fenfu.ParamError, "the file is larger than %d MB", MaxUpload>>20)
			}
		}
		p.Close()
	}
	if meta == nil || up.data == nil {
		return nil, fenfu.Errorf(fenfu.ParamError, "a media upload needs a meta part and a file part")
	}
	if err := json.Unmarshal(meta, &up.meta); err != nil {
		return nil, fenfu.Errorf(fenfu.ParamError, "the meta part is not {\"filename\", \"sha256\"} as JSON")
	}
	req.Body, req.Upload = meta, up
	return meta, nil
}

func uploadTooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fenfu.Errorf(fenfu.ParamError, "the upload is larger than %d MB", MaxUpload>>20)
	}
	return fenfu.Errorf(fenfu.ParamError, "the multipart body is unreadable")
}

// uploadMedia keeps an uploaded document of the merchant's and answers
// its media_id.
func (a *API) uploadMedia(ctx context.Context, r *request) (int, any, error) {
	if a.Onboard == nil {
		return 0, nil, fenfu.Errorf(fenfu.NoAuth, "onboarding is not enabled on this server")
	}
	up := r.Upload
	sum := sha256.Sum256(up.data)
	if !strings.EqualFold(up.meta.SHA256, hex.EncodeToString(sum[:])) {
		e := fenfu.FieldError("sha256", "meta.sha256 is not the SHA-256 of the file")
		e.Remedy = "Send the file's SHA-256 as hex in meta.sha256, computed over the bytes of the file part."
		return 0, nil, e
	}
	doc, err := a.Onboard.Upload(ctx, r.MchID, up.meta.Filename, bytes.Clone(up.data))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]string{"media_id": doc.MediaID}, nil
}
