package wxpay_test

import (
	"bytes"
	"mime/multipart"
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/wxpay"
)

// FuzzReadUpload: a media upload's body from outside never panics, and
// one that is read has its meta JSON and its file.
func FuzzReadUpload(f *testing.F) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("meta", `{"filename":"a.png","sha256":"00"}`)
	fw, _ := w.CreateFormFile("file", "a.png")
	_, _ = fw.Write([]byte("\x89PNG\r\n\x1a\n"))
	_ = w.Close()
	f.Add(w.Boundary(), b.Bytes())
	f.Add("x", []byte("--x\r\n\r\n--x--"))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		meta, file, err := wxpay.ReadUpload("multipart/form-data; boundary="+boundary, body)
		if err != nil {
			if fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("error %v, want PARAM_ERROR", err)
			}
			return
		}
		if meta == nil || file == nil || len(file) > wxpay.MaxUpload {
			t.Fatalf("read meta %q and a file of %d bytes", meta, len(file))
		}
	})
}
