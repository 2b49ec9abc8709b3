package portal

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestTracedRead: a read is recorded once, as it is answered, with what
// its handler set before writing; a read the audit log cannot record is
// answered as the error, none of the handler's headers or bytes with it.
func TestTracedRead(t *testing.T) {
	w := httptest.NewRecorder()
	var records []string
	done := ""
	read := &tracedRead{ResponseWriter: w, record: func() error { records = append(records, done); return nil },
		fail: func(err error) { t.Fatalf("failed: %v", err) }}
	done = "sha1"
	read.Header().Set("Content-Type", "text/csv")
	for range 3 {
		if _, err := read.Write([]byte("a,b\n")); err != nil {
			t.Fatal(err)
		}
	}
	read.answer()
	if len(records) != 1 || records[0] != "sha1" || w.Code != 200 || w.Body.String() != "a,b\na,b\na,b\n" {
		t.Errorf("recorded %q, answered %d %q", records, w.Code, w.Body)
	}

	w = httptest.NewRecorder()
	failed := 0
	read = &tracedRead{ResponseWriter: w, record: func() error { return errors.New("the store is gone") },
		fail: func(error) { failed++; http.Error(w, "not answered", http.StatusInternalServerError) }}
	read.Header().Set("Content-Disposition", "attachment; filename=bill.csv")
	read.WriteHeader(http.StatusOK)
	if _, err := read.Write([]byte("secret,row\n")); !errors.Is(err, errUntraced) {
		t.Errorf("a write after the read was not recorded: %v", err)
	}
	read.answer()
	if failed != 1 || w.Code != http.StatusInternalServerError || w.Header().Get("Content-Disposition") != "" || w.Body.String() != "not answered\n" {
		t.Errorf("an untraced read: failed %d, answered %d %v %q", failed, w.Code, w.Header(), w.Body)
	}
}
