package web

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestCSVOutlastsWriteTimeout streams a download for several times the
// server's write timeout: every row arrives, where a deadline fixed at the
// request's start cut the download short.
func TestCSVOutlastsWriteTimeout(t *testing.T) {
	every, grace := csvEvery, csvGrace
	csvEvery, csvGrace = 10*time.Millisecond, 5*time.Second
	defer func() { csvEvery, csvGrace = every, grace }()

	const rows = 40
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := StartCSV(w, "long.csv", []string{"n"})
		if err != nil {
			return
		}
		for i := range rows {
			time.Sleep(15 * time.Millisecond) // a page read from the store
			if out.Row(strconv.Itoa(i)) != nil {
				return
			}
			if i%4 == 0 {
				_ = out.Flush()
				_ = http.NewResponseController(w).Flush()
			}
		}
		_ = out.Flush()
	}))
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the download was cut after %d bytes: %v", len(body), err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != rows+1 || recs[rows][0] != strconv.Itoa(rows-1) {
		t.Fatalf("the download holds %d rows of %d (%v)", len(recs), rows+1, err)
	}
}
