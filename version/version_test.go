package version_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/fenfu/fenfu/version"
)

func TestOf(t *testing.T) {
	recorded := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-27T08:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	if got, want := version.Of(recorded), (version.Info{Version: "v1.2.3", Revision: "0123abcd", Time: "2026-11-27T08:00:00Z",
		Modified: true, Go: "go1.26.8"}); got != want {
		t.Errorf("recorded: %+v, want %+v", got, want)
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	if got, want := version.Of(none), (version.Info{Version: "(devel)", Go: runtime.Version()}); got != want {
		t.Errorf("nothing recorded: %+v, want %+v", got, want)
	}
	// What the linker set (-ldflags -X) comes before what Go recorded.
	version.Version, version.Revision, version.Time, version.Modified = "v2.0.0", "feedface", "2026-12-01T00:00:00Z", "false"
	t.Cleanup(func() { version.Version, version.Revision, version.Time, version.Modified = "", "", "", "" })
	if got, want := version.Of(recorded), (version.Info{Version: "v2.0.0", Revision: "feedface", Time: "2026-12-01T00:00:00Z",
		Go: "go1.26.8"}); got != want {
		t.Errorf("linker-set: %+v, want %+v", got, want)
	}
}
