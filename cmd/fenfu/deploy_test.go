package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit: deploy/fenfu.service runs fenfu serve with its settings
// from an EnvironmentFile, hardened, and systemd-analyze verify accepts it
// (where systemd is installed; the binary's path is replaced by one that
// exists here).
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("../../deploy/fenfu.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"ExecStart=/usr/local/bin/fenfu serve\n", "EnvironmentFile=/etc/fenfu/fenfu.env\n", "User=fenfu\n",
		"NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "CapabilityBoundingSet=\n", "StateDirectoryMode=0700\n", "UMask=0077\n",
		"SystemCallFilter=@system-service\n", "TimeoutStopSec=45s\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("fenfu.service lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "fenfu.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/fenfu", "/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestContainerfile: deploy/Containerfile builds a static binary in one
// stage and runs it in another, as a user without privileges, with no
// shell needed: the final stage runs nothing, and its entry point is in
// exec form. (Building it needs a registry, which the tests do not reach.)
func TestContainerfile(t *testing.T) {
	b, err := os.ReadFile("../../deploy/Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], line)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a run stage", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), stages[len(stages)-1]
	if !strings.Contains(build, "CGO_ENABLED=0 go build") || !strings.Contains(build, "./cmd/fenfu") {
		t.Errorf("the build stage does not build fenfu statically")
	}
	user, entry := "", ""
	for _, l := range final {
		switch {
		case strings.HasPrefix(l, "RUN "):
			t.Errorf("the run stage runs %q: it has no shell", l)
		case strings.HasPrefix(l, "USER "):
			user = strings.TrimPrefix(l, "USER ")
		case strings.HasPrefix(l, "ENTRYPOINT "):
			entry = strings.TrimPrefix(l, "ENTRYPOINT ")
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("the run stage's USER is %q, want one without privileges", user)
	}
	if !strings.HasPrefix(entry, `["/usr/local/bin/fenfu"`) {
		t.Errorf("ENTRYPOINT %q: want the exec form, which needs no shell", entry)
	}
	if !strings.Contains(strings.Join(final, "\n"), "FENFU_DATA_DIR=/var/lib/fenfu") {
		t.Errorf("the run stage does not set the data directory it copies")
	}
}
