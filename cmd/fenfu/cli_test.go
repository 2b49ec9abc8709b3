package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fenfu/fenfu/version"
)

// fenfuCLI runs fenfu as a user would and returns its exit code and output.
func fenfuCLI(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	if err != nil {
		code = exitCode(err)
	}
	return code, out.String(), errb.String()
}

// TestUsageErrors: a command used wrongly exits 2 with one line saying
// what is wrong and where to read more, never a dump of the usage; a
// command that fails exits 1.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	store := []string{"--data-dir", dir}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // the first line of standard error
		hint string // the second
	}{
		{"unknown command", []string{"frobnicate"}, 2, `fenfu: unknown command "frobnicate"`, "run 'fenfu help'"},
		{"unknown help topic", []string{"help", "frobnicate"}, 2, `fenfu: unknown command "frobnicate"`, "run 'fenfu help'"},
		{"unknown subcommand", []string{"settle", "bogus"}, 2, `fenfu settle: unknown command "settle bogus"`, "run 'fenfu help settle'"},
		{"unknown flag", append([]string{"verify", "--frob"}, store...), 2, "fenfu verify: flag provided but not defined: -frob", "run 'fenfu help verify'"},
		{"bad flag value", []string{"bench", "settle", "--orders", "many"}, 2, `fenfu bench settle: invalid value "many" for flag -orders: parse error`, "run 'fenfu help bench settle'"},
		{"bad value checked", []string{"bench", "settle", "--orders", "0"}, 2, "fenfu bench settle: --orders and --merchants must be positive", "run 'fenfu help bench settle'"},
		{"two nodes on SQLite", []string{"chaos", "--nodes", "2"}, 2, "fenfu chaos: --nodes 2 needs --engine postgres", "run 'fenfu help chaos'"},
		{"a fault the engine cannot do", []string{"chaos", "--fault", "kill,pg-restart"}, 2,
			`fenfu chaos: chaos: unknown fault "pg-restart": the faults are kill, disk-full, clock-step, settle-kill, or mix (on sqlite)`, "run 'fenfu help chaos'"},
		{"postgres without a server", []string{"chaos", "--engine", "postgres"}, 2, "fenfu chaos: --engine postgres needs --core-db and --credit-db", "run 'fenfu help chaos'"},
		{"missing required flag", append([]string{"bill"}, store...), 2, "fenfu bill: missing required flag --mchid", "run 'fenfu help bill'"},
		{"missing flag of a key command", append([]string{"merchant", "retire-key", "--mchid", "1900000001"}, store...), 2, "fenfu merchant retire-key: missing required flag --serial", "run 'fenfu help merchant retire-key'"},
		{"missing argument", append([]string{"sandbox", "pay", "--consumer", "c_1"}, store...), 2, "fenfu sandbox pay: missing CODE_URL", "run 'fenfu help sandbox pay'"},
		{"extra argument", append([]string{"verify"}, append(store, "now")...), 2, `fenfu verify: unexpected argument "now"`, "run 'fenfu help verify'"},
		{"a flag of another key command", append([]string{"merchant", "keys", "--mchid", "1900000001", "--serial", "x"}, store...), 2, "fenfu merchant keys: flag provided but not defined: -serial", "run 'fenfu help merchant keys'"},
		{"a hold without its reason", append([]string{"settle", "hold", "--order", "4200000001"}, store...), 2, "fenfu settle hold: missing required flag --reason", "run 'fenfu help settle hold'"},
		{"unknown merchant", append([]string{"merchant", "keys", "--mchid", "UNKNOWN"}, store...), 1, "fenfu: MCH_NOT_EXISTS: ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := fenfuCLI(t, nil, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
			if !strings.HasPrefix(lines[0], tc.want) {
				t.Errorf("stderr %q, want it to begin %q", errs, tc.want)
			}
			if tc.hint != "" && (len(lines) != 2 || lines[1] != tc.hint) {
				t.Errorf("stderr %q, want one line and the hint %q", errs, tc.hint)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// TestHelp: help lists every command under its heading; help COMMAND
// prints the command's own flags; a group's name alone lists its commands.
func TestHelp(t *testing.T) {
	code, out, _ := fenfuCLI(t, nil, "help")
	if code != 0 {
		t.Fatalf("help exits %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out, "  "+c.name+"  ") {
			t.Errorf("help does not list %q", c.name)
		}
	}
	for _, g := range groups {
		if !strings.Contains(out, "\n"+g+":\n") {
			t.Errorf("help has no heading %q", g)
		}
	}
	if _, out2, _ := fenfuCLI(t, nil, "--help"); out2 != out {
		t.Errorf("--help differs from help")
	}

	code, out, _ = fenfuCLI(t, nil, "help", "serve")
	if code != 0 || !strings.HasPrefix(out, "Usage: fenfu serve [--addr HOST:PORT]") || !strings.Contains(out, "--settle-at") ||
		!strings.Contains(out, "Store flags:\n  --core-db") {
		t.Errorf("help serve: exit %d\n%s", code, out)
	}
	// Every flag's value is named for its kind, never flag's "value".
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[0], "-") && f[1] == "value" {
			t.Errorf("help serve names no kind of value: %q", line)
		}
	}
	if _, out2, _ := fenfuCLI(t, nil, "serve", "-h"); out2 != out {
		t.Errorf("serve -h differs from help serve:\n%s", out2)
	}

	// Every command's help comes from its flags alone: it opens nothing.
	dir := filepath.Join(t.TempDir(), "data")
	getenv := func(k string) string {
		if k == "FENFU_DATA_DIR" {
			return dir
		}
		return ""
	}
	for _, c := range commands() {
		code, out, errs := fenfuCLI(t, getenv, append([]string{"help"}, strings.Fields(c.name)...)...)
		if code != 0 || !strings.HasPrefix(out, "Usage: fenfu "+c.name) {
			t.Errorf("help %s: exit %d\n%s%s", c.name, code, out, errs)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("help created the data directory (%v)", err)
	}

	// A command shares its handler with others but lists only its own
	// flags, and every flag of its synopsis.
	if _, out, _ := fenfuCLI(t, nil, "help", "settle", "release"); strings.Contains(out, "--reason") || strings.Contains(out, "--hours") {
		t.Errorf("help settle release lists hold's flags:\n%s", out)
	}
	for _, c := range commands() {
		_, out, _ := fenfuCLI(t, nil, append([]string{"help"}, strings.Fields(c.name)...)...)
		flags := out[strings.Index(out, "\n"):]
		for _, w := range strings.Fields(c.synopsis) {
			name, ok := strings.CutPrefix(strings.Trim(w, "[]"), "--")
			if ok && !strings.Contains(flags, "  --"+name+" ") {
				t.Errorf("help %s does not list --%s of its synopsis:\n%s", c.name, name, out)
			}
		}
	}

	code, out, errs := fenfuCLI(t, nil, "merchant")
	if code != 2 || out != "" || !strings.HasPrefix(errs, "fenfu merchant: a command is missing") {
		t.Errorf("merchant: exit %d\n%s%s", code, out, errs)
	}
	for _, c := range subcommands(commands(), "merchant") {
		if !strings.Contains(errs, "  "+c.name+"  ") {
			t.Errorf("merchant does not list %q:\n%s", c.name, errs)
		}
	}
	if code, out, _ := fenfuCLI(t, nil, "help", "merchant"); code != 0 || !strings.Contains(out, "merchant rotate-v3-key") {
		t.Errorf("help merchant: exit %d\n%s", code, out)
	}
}

// TestEmptyListsAreJSONLists: a list with nothing in it prints [], not null.
func TestEmptyListsAreJSONLists(t *testing.T) {
	in := &instance{t: t, args: []string{"--data-dir", t.TempDir()}}
	out, err := in.cli("settle", "list")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("settle list of nothing: %v %q", err, out)
	}
	out, err = in.cli("onboard", "report", "--json")
	if err != nil || !strings.Contains(out, `"industries": []`) {
		t.Errorf("onboard report --json of nothing: %v %q", err, out)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := fenfuCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "fenfu ") || !strings.Contains(out, "go "+runtime.Version()) {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	var b strings.Builder
	writeVersion(&b, version.Info{Version: "v1.2.3", Revision: "0123abcd", Time: "2026-11-27T08:00:00Z", Modified: true, Go: "go1.26.8"})
	if got, want := b.String(), "fenfu v1.2.3\nrevision 0123abcd (modified)\ntime 2026-11-27T08:00:00Z\ngo go1.26.8\n"; got != want {
		t.Errorf("version:\n%s\nwant\n%s", got, want)
	}
	code, out, _ = fenfuCLI(t, nil, "version", "--json")
	var v version.Info
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v != version.Get() || v.Go != runtime.Version() {
		t.Errorf("version --json: exit %d, %v\n%s", code, err, out)
	}
}

// TestProgressETA: until a batch is done, progress estimates the time
// left from the pace so far.
func TestProgressETA(t *testing.T) {
	var b strings.Builder
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	m := newMeter(&b, func() time.Time { return now })
	for i := 1; i <= 10; i++ {
		now = now.Add(6 * time.Second)
		m.update("settling 2026-11-26 credit", i, 10, "merchants")
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if got, want := lines[0], "settling 2026-11-26 credit: 1/10 merchants, about 54s left"; got != want {
		t.Errorf("first line %q, want %q", got, want)
	}
	if got, want := lines[len(lines)-1], "settling 2026-11-26 credit: 10/10 merchants"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

// TestTemporaryStore: demo and bench work on a temporary store, whatever
// FENFU_* say, unless their flags name one.
func TestTemporaryStore(t *testing.T) {
	getenv := func(k string) string {
		return map[string]string{"FENFU_DATA_DIR": "/srv/fenfu", "FENFU_CORE_DB": "postgres://db/core"}[k]
	}
	for _, tc := range []struct {
		args           []string
		temp           bool
		wantCore, want string
	}{
		{nil, true, "", ""},
		{[]string{"--data-dir", "/tmp/x"}, false, "", "/tmp/x"},
		{[]string{"--core-db", "postgres://db/a", "--credit-db", "postgres://db/b"}, true, "postgres://db/a", ""},
	} {
		e := &env{cmd: command{name: "bench settle"}, getenv: getenv}
		cfg := e.config()
		fs := cfg.flags(e)
		if err := e.parse(fs, tc.args); err != nil {
			t.Fatal(err)
		}
		remove, err := cfg.temporaryStore(fs, "fenfu-test-")
		if err != nil {
			t.Fatal(err)
		}
		temp := strings.HasPrefix(filepath.Base(cfg.DataDir), "fenfu-test-")
		if temp != tc.temp || cfg.CoreDB != tc.wantCore || (tc.want != "" && cfg.DataDir != tc.want) {
			t.Errorf("%v: data dir %q, core %q", tc.args, cfg.DataDir, cfg.CoreDB)
		}
		remove()
		if temp {
			if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
				t.Errorf("%v: the temporary directory is left (%v)", tc.args, err)
			}
		}
	}
}
