package portal

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/complaint"
	"github.com/fenfu/fenfu/merchantuser"
	"github.com/fenfu/fenfu/notify"
	"github.com/fenfu/fenfu/pay"
	"github.com/fenfu/fenfu/settle"
	"github.com/fenfu/fenfu/ticket"
)

// TestWords: every word a template or the code asks for, and every word
// a template builds from data (the navigation, roles, channels), has an
// entry in both languages.
func TestWords(t *testing.T) {
	keys := map[string]string{}
	tmpl := regexp.MustCompile(`\bt "([a-z0-9_-]+)"`)
	err := fs.WalkDir(templates, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templates.ReadFile(path)
		for _, m := range tmpl.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = path
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 50 {
		t.Fatalf("found %d words in the templates; the pattern is broken", len(keys))
	}
	files, _ := filepath.Glob("*.go")
	call := regexp.MustCompile(`\bword\([^,()]+, "([a-z0-9_-]+)"\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = f
		}
	}
	for _, n := range navItems {
		keys[n.Key] = "the navigation"
	}
	for _, r := range merchantuser.Roles {
		keys["role-"+string(r)] = "the roles"
	}
	for _, c := range pay.Channels {
		keys[c.Name()] = "the channels"
	}
	for k, where := range keys {
		if w, ok := words[k]; !ok || w.ZH == "" || w.EN == "" {
			t.Errorf("%s: the word %q has no entry in both languages", where, k)
		}
	}
}

// TestRoutes: every route needs a permission merchantuser grants, but
// the user's own account page and its forms, which are every user's and
// the only ones of a user whose setup is due.
func TestRoutes(t *testing.T) {
	p := &Portal{}
	own := 0
	for _, r := range p.Routes() {
		if r.Permission == "" {
			if _, path, _ := strings.Cut(r.Pattern, " "); !strings.HasPrefix(path, "/portal/account") {
				t.Errorf("%s needs no permission, and is not the user's own account's", r.Pattern)
			}
			own++
			continue
		}
		if len(merchantuser.Holders(r.Permission)) == 0 {
			t.Errorf("%s needs %q, which no role holds", r.Pattern, r.Permission)
		}
	}
	if own != 4 {
		t.Errorf("%d account routes are in the table, want the page and its 3 forms", own)
	}
}

// TestAttachmentLabel: the file input's label says the limits package
// ticket keeps, in each language.
func TestAttachmentLabel(t *testing.T) {
	for _, l := range catalog.Langs {
		w := word(l, "attachment")
		if !strings.Contains(w, strconv.Itoa(ticket.MaxAttachments)) || !strings.Contains(w, strconv.Itoa(ticket.MaxAttachment>>10)) {
			t.Errorf("%s: %q does not say at most %d files of %d KB", l, w, ticket.MaxAttachments, ticket.MaxAttachment>>10)
		}
	}
}

// TestStateWords: every state of a refund, a settlement, a notification
// delivery and a complaint has a word in each language, and none is its
// code.
func TestStateWords(t *testing.T) {
	check := func(kind, code string, n catalog.Named) {
		tx := n.Text()
		if tx.ZH == "" || tx.EN == "" || tx.ZH == code || tx.EN == code {
			t.Errorf("%s state %s is named %+v", kind, code, tx)
		}
	}
	for _, s := range []pay.RefundStatus{pay.RefundProcessing, pay.RefundSuccess, pay.RefundAbnormal, pay.RefundClosed} {
		check("refund", string(s), stateFuncs["refundState"].(func(pay.RefundStatus) catalog.Named)(s))
	}
	for _, s := range []string{settle.Pending, settle.Settled} {
		check("settlement", s, stateFuncs["settlementState"].(func(string) catalog.Named)(s))
	}
	for _, s := range []notify.State{notify.Pending, notify.Delivered, notify.Failed} {
		check("delivery", string(s), stateFuncs["deliveryState"].(func(notify.State) catalog.Named)(s))
	}
	for _, s := range []complaint.State{complaint.Pending, complaint.Processing, complaint.Processed} {
		check("complaint", string(s), stateFuncs["complaintState"].(func(complaint.State) catalog.Named)(s))
	}
	if got := settlementText.Name("NEW").Text(); got.ZH != "NEW" || got.EN != "NEW" {
		t.Errorf("a state without a word is named %+v, want its code", got)
	}
}
