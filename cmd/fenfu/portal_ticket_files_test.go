package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/ticket"
)

// portalFile is a file a form sends.
type portalFile struct {
	name, contentType string
	content           []byte
}

// sendFiles posts a multipart form with files, all as "attachment" (a
// file input that takes several), as the user, from the portal's origin.
func (w *portalWorld) sendFiles(u *portalUser, path string, fields map[string]string, files ...portalFile) (int, string, string) {
	w.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="attachment"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.contentType)
		fw, _ := mw.CreatePart(h)
		_, _ = fw.Write(f.content)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", w.base+path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", w.base)
	resp, err := u.client.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	body := readAll(w.t, resp)
	return resp.StatusCode, resp.Header.Get("Location"), body
}

// TestPortalTicketFiles: the portal's ticket and reply forms take up to
// ticket.MaxAttachments files in one message, each up to
// ticket.MaxAttachment bytes, all kept with the ticket; one file more, or
// a file too large, is refused on the form's page, in its language,
// naming the limit (and the file), with what was written kept.
func TestPortalTicketFiles(t *testing.T) {
	w := startPortalWorld(t, db.SQLite)
	owner := w.owner(w.m.MchID, "ann")
	w.login(owner)
	text := func(name string, n int) portalFile {
		return portalFile{name, "text/plain", bytes.Repeat([]byte("a log line\n"), n)}
	}
	fields := map[string]string{"type": "INTERFACE_TIMEOUT", "subject": "Timeouts", "description": "Calls time out at noon."}
	three := []portalFile{text("a.txt", 1), text("b.txt", 2), text("c.txt", ticket.MaxAttachment/11)}
	status, loc, body := w.sendFiles(owner, "/portal/tickets", fields, three...)
	if status != 303 {
		t.Fatalf("a ticket with %d files: HTTP %d\n%s", len(three), status, body)
	}
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/portal/tickets/")
	tk, err := w.a.tickets.Get(t.Context(), ticket.Merchant(w.m.MchID), id)
	if err != nil || len(tk.Attachments) != 3 {
		t.Fatalf("the ticket keeps %d files (%v), want 3", len(tk.Attachments), err)
	}
	for i, a := range tk.Attachments {
		if a.Name != three[i].name || a.Size != len(three[i].content) {
			t.Errorf("file %d kept as %s, %d bytes", i, a.Name, a.Size)
		}
	}

	four := append(three[:3:3], text("d.txt", 1))
	for _, tc := range []struct {
		lang, path string
		files      []portalFile
		want       string
	}{
		{"zh", "/portal/tickets", four, "每条消息最多附 " + strconv.Itoa(ticket.MaxAttachments) + " 个文件"},
		{"en", "/portal/tickets", four, "A message takes at most " + strconv.Itoa(ticket.MaxAttachments) + " files"},
		{"en", "/portal/tickets/" + id + "/replies", four, "A message takes at most 3 files"},
		{"zh", "/portal/tickets", []portalFile{text("big.txt", ticket.MaxAttachment/11+1)}, "文件 big.txt 超过 40 KB"},
		{"en", "/portal/tickets/" + id + "/replies", []portalFile{text("big.txt", ticket.MaxAttachment/11+1)}, "The file big.txt is larger than 40 KB"},
	} {
		f := map[string]string{"content": "Here are the logs."}
		if !strings.Contains(tc.path, "replies") {
			f = fields
		}
		status, _, body := w.sendFiles(owner, tc.path+"?lang="+tc.lang, f, tc.files...)
		if status != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s with %d files: HTTP %d, the page does not say %q", tc.lang, tc.path, len(tc.files), status, tc.want)
		}
		if !strings.Contains(body, "multiple") || !strings.Contains(body, f["description"]+f["content"]) && !strings.Contains(body, `id="open-ticket"`) {
			t.Errorf("%s %s: the form is not shown again", tc.lang, tc.path)
		}
	}
	if tk, _ := w.a.tickets.Get(t.Context(), ticket.Merchant(w.m.MchID), id); len(tk.Attachments) != 3 || len(tk.History) != 1 {
		t.Errorf("a refused reply changed the ticket: %d files, %d events", len(tk.Attachments), len(tk.History))
	}
}
