package complaint_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/complaint"
)

// FuzzValidate: what consumers and merchants write is refused with
// PARAM_ERROR, or accepted only as text that both engines store and that
// fits its limit. A URL's scheme is case-insensitive (RFC 3986 §3.1):
// hTtp://… is an http URL.
func FuzzValidate(f *testing.F) {
	f.Add("REFUNDS", "The tea never came.", int64(100), "Sorry.", "https://shop.example/r", "查看退款")
	f.Add("OTHERS", "a\x00b", int64(0), strings.Repeat("好", 201), "javascript:alert(1)", "")
	f.Add("SERVICE_NOT_WORK", "\xff\xfe", int64(-1), " ", "http://user:pw@shop.example/", "x")
	f.Fuzz(func(t *testing.T, problem, detail string, refund int64, content, jumpURL, jumpText string) {
		n := complaint.NewComplaint{TransactionID: "4200000000202611291000000001", ProblemType: problem, Detail: detail, ApplyRefund: fenfu.Fen(refund)}
		if err := n.Validate(); err != nil {
			if fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("complaint %+v: %v", n, err)
			}
		} else if !utf8.ValidString(detail) || strings.ContainsRune(detail, 0) || utf8.RuneCountInString(detail) > complaint.MaxDetail ||
			strings.TrimSpace(detail) == "" || refund < 0 {
			t.Fatalf("accepted complaint %+v", n)
		}
		r := complaint.Response{Content: content, JumpURL: jumpURL, JumpURLText: jumpText}
		if err := r.Validate(); err != nil {
			if fenfu.ErrorCode(err) != fenfu.ParamError {
				t.Fatalf("response %+v: %v", r, err)
			}
		} else if !utf8.ValidString(content) || strings.ContainsRune(content, 0) || utf8.RuneCountInString(content) > complaint.MaxResponse ||
			(jumpURL != "" && !strings.HasPrefix(strings.ToLower(jumpURL), "http")) || (jumpURL == "") != (jumpText == "") ||
			utf8.RuneCountInString(jumpText) > complaint.MaxJumpText {
			t.Fatalf("accepted response %+v", r)
		}
	})
}

// TestPage: a page's limit and offset as the staff list, the merchant's
// list and the history read them.
func TestPage(t *testing.T) {
	for _, c := range []struct {
		query         string
		max, def      int
		limit, offset int
		field         string // of the PARAM_ERROR, if refused
	}{
		{"", complaint.MaxListLimit, complaint.DefaultListLimit, 10, 0, ""},
		{"", complaint.MaxHistoryLimit, complaint.DefaultHistoryLimit, 100, 0, ""},
		{"limit=50&offset=7", complaint.MaxListLimit, complaint.DefaultListLimit, 50, 7, ""},
		{"limit=300", complaint.MaxHistoryLimit, complaint.DefaultHistoryLimit, 300, 0, ""},
		{"limit=51", complaint.MaxListLimit, complaint.DefaultListLimit, 0, 0, "limit"},
		{"limit=0", complaint.MaxListLimit, complaint.DefaultListLimit, 0, 0, "limit"},
		{"limit=ten", complaint.MaxListLimit, complaint.DefaultListLimit, 0, 0, "limit"},
		{"offset=-1", complaint.MaxListLimit, complaint.DefaultListLimit, 0, 0, "offset"},
		{"offset=1e3", complaint.MaxListLimit, complaint.DefaultListLimit, 0, 0, "offset"},
		{"offset=9999999999", complaint.MaxListLimit, complaint.DefaultListLimit, 0, 0, "offset"},
	} {
		q, _ := url.ParseQuery(c.query)
		limit, offset, err := complaint.Page(q, c.max, c.def)
		var e *fenfu.Error
		switch {
		case c.field != "" && (!errors.As(err, &e) || e.Code != fenfu.ParamError || e.Field != c.field):
			t.Errorf("%q: %v, want PARAM_ERROR on %s", c.query, err, c.field)
		case c.field == "" && (err != nil || limit != c.limit || offset != c.offset):
			t.Errorf("%q: %d, %d, %v; want %d, %d", c.query, limit, offset, err, c.limit, c.offset)
		}
	}
}
