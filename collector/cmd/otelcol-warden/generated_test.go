package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

const builderPkg = "go.opentelemetry.io/collector/cmd/builder@v0.161.0"

// TestGeneratedSourcesCurrent regenerates the distribution from
// builder-config.yaml with the pinned builder and fails when the committed
// sources differ: run `make generate` and commit.
func TestGeneratedSourcesCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: runs the collector builder")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	gobin := t.TempDir()
	install := exec.Command("go", "install", builderPkg)
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("installing %s: %v\n%s", builderPkg, err, out)
	}
	out := t.TempDir()
	gen := exec.Command(filepath.Join(root, "scripts/generate-collector.sh"), filepath.Join(gobin, "builder"), mustRel(t, root, out))
	gen.Dir = root
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generate-collector.sh: %v\n%s", err, b)
	}
	for _, f := range []string{"components.go", "main.go", "main_others.go", "main_windows.go"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("collector/cmd/otelcol-warden/%s is stale: run `make generate` and commit", f)
		}
	}
}

func mustRel(t *testing.T, base, target string) string {
	t.Helper()
	r, err := filepath.Rel(base, target)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestManifestVersionsPinnedInGoMod checks that every module the manifest
// names is required by the root go.mod at exactly the manifest's version, so
// the one-module build compiles what builder-config.yaml says.
func TestManifestVersionsPinnedInGoMod(t *testing.T) {
	manifest, err := os.ReadFile("../../../builder-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gomodBytes, err := os.ReadFile("../../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", gomodBytes, nil)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, r := range mf.Require {
		have[r.Mod.Path] = r.Mod.Version
	}
	re := regexp.MustCompile(`(?m)^\s*-\s*gomod:\s*(\S+)\s+(\S+)`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(string(manifest), -1) {
		path, version := m[1], m[2]
		if strings.HasPrefix(path, mf.Module.Mod.Path) {
			continue // Warden's own components live in this module
		}
		n++
		if have[path] != version {
			t.Errorf("builder-config.yaml pins %s %s but go.mod has %q", path, version, have[path])
		}
	}
	if n == 0 {
		t.Fatal("no gomod entries parsed from builder-config.yaml")
	}
}
