package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/fenfu/fenfu/db"
	"github.com/fenfu/fenfu/examples/sdkwalk"
	"github.com/fenfu/fenfu/merchantuser"
)

var update = flag.Bool("update", false, "rewrite the README's generated sections")

// TestREADMEWalk runs the README's first payment: a sandbox merchant, a
// consumer, the SDK's prepay (the README's code), and the consumer paying
// its code_url with fenfu sandbox pay.
func TestREADMEWalk(t *testing.T) {
	in := startServer(t, db.SQLite)
	var m sdkwalk.Merchant
	in.mustCLI(&m, "sandbox", "merchant")
	var cons struct {
		ID string `json:"id"`
	}
	in.mustCLI(&cons, "consumer", "create", "--credit-limit", "500000", "--rating", "A", "--balance", "10000")
	codeURL, err := sdkwalk.Prepay(context.Background(), in.base, m, "A20261127001")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(codeURL, in.base+"/q/") {
		t.Fatalf("code_url %q", codeURL)
	}
	out, err := in.cli("sandbox", "pay", "--consumer", cons.ID, "--channel", "credit", codeURL)
	if err != nil {
		t.Fatal(err)
	}
	var paid struct {
		TradeState string `json:"trade_state"`
	}
	if err := json.Unmarshal([]byte(out), &paid); err != nil || paid.TradeState != "SUCCESS" {
		t.Fatalf("sandbox pay: %s %v", out, err)
	}
}

// TestREADME: the README's generated sections are what the code says: the
// SDK walk is examples/sdkwalk's code, the command table is fenfu's, the
// configuration table is its settings with DefaultConfig's defaults, the
// merchant portal's roles are merchantuser.Grants.
// go test -run TestREADME -update rewrites them.
func TestREADME(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	src, err := os.ReadFile("../../examples/sdkwalk/sdkwalk.go")
	if err != nil {
		t.Fatal(err)
	}
	var table, config, roles bytes.Buffer
	writeMarkdown(&table, commands())
	writeConfigMarkdown(&config)
	writeRolesMarkdown(&roles)
	for _, s := range []struct{ name, want string }{
		{"sdk walk", "```go\n" + region(t, string(src), "sdk walk") + "```\n"},
		{"commands", table.String()},
		{"configuration", config.String()},
		{"portal roles", roles.String()},
	} {
		begin := "<!-- begin: " + s.name
		i := strings.Index(readme, begin)
		if i < 0 {
			t.Errorf("README has no %q section", s.name)
			continue
		}
		i += strings.IndexByte(readme[i:], '\n') + 1
		j := strings.Index(readme[i:], "<!-- end: "+s.name+" -->")
		if j < 0 {
			t.Errorf("README's %q section has no end", s.name)
			continue
		}
		if got := readme[i : i+j]; got != s.want {
			if *update {
				readme = readme[:i] + s.want + readme[i+j:]
				continue
			}
			t.Errorf("README's %q section differs from the code; go test ./cmd/fenfu -run TestREADME -update rewrites it:\n%s\nwant:\n%s", s.name, got, s.want)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeRolesMarkdown writes the merchant portal's table of roles:
// merchantuser.Grants, a permission a row.
func writeRolesMarkdown(w *bytes.Buffer) {
	w.WriteString("| permission | allows |")
	for _, r := range merchantuser.Roles {
		w.WriteString(" " + string(r) + " |")
	}
	w.WriteString("\n|---|---|" + strings.Repeat("---|", len(merchantuser.Roles)) + "\n")
	for _, g := range merchantuser.Grants {
		w.WriteString("| `" + string(g.Permission) + "` | " + g.What + " |")
		for _, r := range merchantuser.Roles {
			mark := " |"
			if r.Can(g.Permission) {
				mark = " ✓ |"
			}
			w.WriteString(mark)
		}
		w.WriteString("\n")
	}
}

// region returns the lines of src between "// README: begin NAME" and
// "// README: end NAME", without the blank lines around them.
func region(t *testing.T, src, name string) string {
	t.Helper()
	begin, end := "// README: begin "+name+"\n", "// README: end "+name+"\n"
	i, j := strings.Index(src, begin), strings.Index(src, end)
	if i < 0 || j < i {
		t.Fatalf("no README region %q", name)
	}
	return strings.TrimLeft(strings.TrimRight(src[i+len(begin):j], "\n"), "\n") + "\n"
}
