// Package policy ships Warden's default OPA bundle (policy/bundle): the
// seeds' rules, shared by the collector's `policy` processor and the LLM
// gateway through policy/engine. The bundle is embedded so a binary always
// has a working policy even when no bundle path is configured.
package policy

import (
	"embed"
	"io/fs"
)

//go:embed all:bundle
var bundleFS embed.FS

// DefaultBundle returns the default bundle as a file system whose root is the
// bundle root (.manifest, warden/...).
func DefaultBundle() fs.FS {
	sub, err := fs.Sub(bundleFS, "bundle")
	if err != nil { // cannot happen: the directory is embedded above
		panic(err)
	}
	return sub
}

// Query is the rule every caller evaluates; its value is the decision
// document described in README.md.
const Query = "data.warden.main.decision"
