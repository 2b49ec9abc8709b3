// Package version says what fenfu was built from: the module version, the
// VCS revision and its time, whether the tree had uncommitted changes, and
// the Go version. Go records them in the binary (runtime/debug.ReadBuildInfo);
// a release build may set them with the linker instead, which comes first:
//
//	go build -ldflags "-X github.com/fenfu/fenfu/version.Version=v1.4.0 \
//	  -X github.com/fenfu/fenfu/version.Revision=$(git rev-parse HEAD) \
//	  -X github.com/fenfu/fenfu/version.Time=$(git log -1 --format=%cI)" ./cmd/fenfu
package version

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker (-ldflags -X) for release builds; empty otherwise.
var (
	Version  string
	Revision string
	Time     string
	// Modified is "true" for a build of a tree with uncommitted changes.
	Modified string
)

// Info is what a build of fenfu was made from.
type Info struct {
	Version  string `json:"version"`            // the module version: v1.4.0, or (devel)
	Revision string `json:"revision,omitempty"` // the VCS revision
	Time     string `json:"time,omitempty"`     // the revision's time, RFC 3339
	Modified bool   `json:"modified"`           // the tree had uncommitted changes
	Go       string `json:"go"`                 // the Go version it was built with
}

// Get returns this binary's build information.
func Get() Info { return Of(debug.ReadBuildInfo) }

// Of returns the build information read: what the linker set, then what Go
// recorded, then (devel) and the running Go version.
func Of(read func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: "(devel)", Go: runtime.Version()}
	if bi, ok := read(); ok {
		if bi.Main.Version != "" {
			i.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			i.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.time":
				i.Time = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if Version != "" {
		i.Version = Version
	}
	if Revision != "" {
		i.Revision = Revision
	}
	if Time != "" {
		i.Time = Time
	}
	if Modified != "" {
		i.Modified = Modified == "true"
	}
	return i
}
