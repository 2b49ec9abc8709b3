package web_test

import (
	"testing"

	"github.com/fenfu/fenfu"
	"github.com/fenfu/fenfu/catalog"
	"github.com/fenfu/fenfu/web"
)

// TestProblemInChinese: a Chinese page says the catalogue's Chinese
// message and remedy of the code, and keeps what the error said of its
// own case (the field, the specific message and remedy) as the detail;
// an English page says the error's own words.
func TestProblemInChinese(t *testing.T) {
	e := fenfu.FieldError("after", "after is not a cursor this list made")
	e.Remedy = "Start again from the first page."
	entry, ok := fenfu.Lookup(fenfu.ParamError)
	if !ok || entry.Message.ZH == "" || entry.Remedy.ZH == "" {
		t.Fatalf("PARAM_ERROR has no Chinese entry: %+v", entry)
	}

	zh := web.ProblemOf(catalog.ZH, e)
	if zh.Message != entry.Message.ZH || zh.Remedy != entry.Remedy.ZH {
		t.Errorf("the Chinese page says %q / %q, want the catalogue's %q / %q", zh.Message, zh.Remedy, entry.Message.ZH, entry.Remedy.ZH)
	}
	if zh.Detail != "after is not a cursor this list made Start again from the first page." || zh.Field != "after" ||
		zh.Code != fenfu.ParamError || zh.Status != 400 || zh.Title != catalog.Say(catalog.ZH, fenfu.ParamError, "", nil).Title {
		t.Errorf("the Chinese page's problem %+v", zh)
	}

	en := web.ProblemOf(catalog.EN, e)
	if en.Message != e.Message || en.Remedy != e.Remedy || en.Detail != "" || en.Status != 400 {
		t.Errorf("the English page's problem %+v", en)
	}

	// An error that says no more than its code has no detail.
	plain := web.ProblemOf(catalog.ZH, fenfu.Errorf(fenfu.SystemError, "%s", fenfu.SystemError.Message()))
	if plain.Detail != "" || plain.Status != 500 {
		t.Errorf("a plain error's problem %+v", plain)
	}
	if web.ProblemOf(catalog.ZH, nil) != nil {
		t.Error("no error, a problem")
	}
}
