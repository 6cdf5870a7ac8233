package sandbox

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCarveSplitsAroundDenied(t *testing.T) {
	d := t.TempDir()
	for _, p := range []string{"etc/ssl", "etc/ssh", "home/u/.ssh", "home/u/proj"} {
		os.MkdirAll(filepath.Join(d, p), 0o755)
	}
	os.WriteFile(filepath.Join(d, "etc/shadow"), nil, 0o600)
	os.WriteFile(filepath.Join(d, "etc/passwd"), nil, 0o644)
	// A symlink inside an allowed tree pointing at a denied file must not
	// smuggle it in.
	os.Symlink(filepath.Join(d, "etc/shadow"), filepath.Join(d, "etc/link-to-shadow"))
	got := Carve([]string{filepath.Join(d, "etc"), filepath.Join(d, "home/u")},
		[]string{filepath.Join(d, "etc/shadow"), filepath.Join(d, "etc/ssh"), filepath.Join(d, "home/u/.ssh")})
	want := []string{filepath.Join(d, "etc/passwd"), filepath.Join(d, "etc/ssl"), filepath.Join(d, "home/u/proj")}
	if !slices.Equal(got, want) {
		t.Fatalf("Carve = %v\nwant %v", got, want)
	}
	if err := Conflicts("project", []string{filepath.Join(d, "home/u/.ssh/x")}, []string{filepath.Join(d, "home/u/.ssh")}); err == nil {
		t.Fatal("project inside a denied path not reported")
	}
}

func TestSeccompFilterAssembles(t *testing.T) {
	f := Filter()
	if _, err := f.Policy.Assemble(); err != nil {
		t.Fatalf("seccomp policy does not assemble (unknown syscall name?): %v", err)
	}
}
