package web

import (
	"encoding/csv"
	"mime"
	"net/http"
	"strings"
	"time"
)

// A download streams for as long as its rows keep coming: each csvEvery
// it is written to, the connection's write deadline moves csvGrace ahead,
// so the server's write timeout (60 s) does not cut a long export short
// while a client that stops reading is still let go within csvGrace.
var (
	csvEvery = 5 * time.Second
	csvGrace = 60 * time.Second
)

// CSV writes a download of rows under header: UTF-8 with a byte-order
// mark, so spreadsheet programs in China open it as UTF-8, and each cell
// that a spreadsheet would read as a formula (starting with =, +, -, @, a
// tab or a carriage return) prefixed with a single quote, so a merchant's
// or consumer's text never runs as one on a staff member's machine.
// Rows may be streamed, however long the download takes, as long as rows
// keep coming.
type CSV struct {
	w        *csv.Writer
	rc       *http.ResponseController
	extended time.Time
}

// StartCSV answers with the headers of a CSV download named filename and
// its header row.
func StartCSV(w http.ResponseWriter, filename string, header []string) (*CSV, error) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if _, err := w.Write([]byte("\ufeff")); err != nil {
		return nil, err
	}
	c := &CSV{w: csv.NewWriter(w), rc: http.NewResponseController(w)}
	c.extend()
	return c, c.Row(header...)
}

// Row writes one row, its cells defused.
func (c *CSV) Row(cells ...string) error {
	out := make([]string, len(cells))
	for i, s := range cells {
		out[i] = Defuse(s)
	}
	if time.Since(c.extended) >= csvEvery {
		c.extend()
	}
	return c.w.Write(out)
}

// extend moves the connection's write deadline csvGrace ahead; a writer
// that cannot (a test's recorder) keeps its own.
func (c *CSV) extend() {
	c.extended = time.Now()
	_ = c.rc.SetWriteDeadline(c.extended.Add(csvGrace))
}

// Flush ends the download: what is buffered is written, and the first
// error of any write returned.
func (c *CSV) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// Defuse is a cell a spreadsheet shows as text: s, prefixed with a single
// quote when it begins with a character that would start a formula.
// Amounts written by fenfu (a minus sign then digits) are numbers and
// stay as they are.
func Defuse(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if s[0] == '-' && isNumber(s[1:]) {
		return s
	}
	return "'" + s
}

// isNumber reports whether s is digits with at most one decimal point
// after the first digit.
func isNumber(s string) bool {
	dot, digits := false, 0
	for _, r := range s {
		switch {
		case r == '.' && !dot && digits > 0:
			dot = true
		case r >= '0' && r <= '9':
			digits++
		default:
			return false
		}
	}
	return digits > 0
}
