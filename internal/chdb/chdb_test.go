package chdb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// libOrSkip returns the library path; tests that need the engine skip with a
// reason when it was not fetched (make deps-chdb), and fail in CI where
// WARDEN_REQUIRE_CHDB=1.
func libOrSkip(t *testing.T) string {
	t.Helper()
	p := LibPath("")
	if !filepath.IsAbs(p) {
		p = filepath.Join("..", "..", p)
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("WARDEN_REQUIRE_CHDB") != "" {
			t.Fatalf("libchdb.so required but missing at %s", p)
		}
		t.Skipf("libchdb.so not present at %s (run make deps-chdb)", p)
	}
	return p
}

func TestMissingLibraryIsClearError(t *testing.T) {
	err := CheckLib("/nonexistent/libchdb.so")
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "make deps-chdb") {
		t.Fatalf("want a clear not-found error, got %v", err)
	}
	bad := filepath.Join(t.TempDir(), "libchdb.so")
	os.WriteFile(bad, []byte("this is not a library"), 0o644)
	err = CheckLib(bad)
	if err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Fatalf("want not-ELF error, got %v", err)
	}
}

func TestWrongLibraryMissingSymbol(t *testing.T) {
	// libc is a valid shared object without chdb_ symbols.
	_, err := loadLib("/lib/x86_64-linux-gnu/libc.so.6")
	if err == nil || !strings.Contains(err.Error(), "lacks symbol chdb_connect") {
		t.Fatalf("want missing-symbol error, got %v", err)
	}
}

func TestQueryAndInsertNative(t *testing.T) {
	lib := libOrSkip(t)
	dir := t.TempDir()
	c, err := Open(Options{LibPath: lib, Path: filepath.Join(dir, "ch")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.HasPrefix(c.Version, "26.5.") {
		t.Fatalf("version %q", c.Version)
	}
	if _, err := Open(Options{LibPath: lib, Path: filepath.Join(dir, "other")}); err == nil {
		t.Fatal("second connection must be refused")
	}
	out, err := c.Query("SELECT 1+1", "TSV")
	if err != nil || strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("got %q %v", out, err)
	}
	if _, err := c.Query("SELECT nosuchfunction()", "TSV"); err == nil || !strings.Contains(err.Error(), "nosuchfunction") {
		t.Fatalf("want engine error naming the function, got %v", err)
	}
}

func TestReadOnlySessionIsEnforcedByEngine(t *testing.T) {
	lib := libOrSkip(t)
	c, err := Open(Options{LibPath: lib, Path: filepath.Join(t.TempDir(), "ch"), Settings: map[string]string{"max_threads": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ro, err := c.Session(map[string]string{"readonly": "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := c.Exec("CREATE TABLE x (a Int32) ENGINE = MergeTree ORDER BY a"); err != nil {
		t.Fatal(err)
	}
	if err := ro.Exec("INSERT INTO x SELECT 1"); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Fatalf("readonly session wrote: %v", err)
	}
	if err := ro.Exec("SET readonly = 0"); err == nil {
		t.Fatal("readonly session lifted its own readonly")
	}
	if err := c.Exec("INSERT INTO x SELECT 2"); err != nil {
		t.Fatalf("writer session must stay writable: %v", err)
	}
	out, err := ro.Query("SELECT count(), getSetting('max_threads') FROM x", "TSV")
	if err != nil || strings.TrimSpace(string(out)) != "1\t0" && !strings.HasPrefix(strings.TrimSpace(string(out)), "1\t") {
		t.Fatalf("%q %v", out, err)
	}
	out, _ = c.Query("SELECT getSetting('max_threads')", "TSV")
	if strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("SET on connect not applied: %q", out)
	}
}

func TestVersionMismatchIsClearError(t *testing.T) {
	if err := checkVersion("/x/libchdb.so", "26.5.3.1"); err != nil {
		t.Fatal(err)
	}
	err := checkVersion("/x/libchdb.so", "25.8.2.29")
	if err == nil || !strings.Contains(err.Error(), `ClickHouse "25.8.2.29", want 26.5.x`) || !strings.Contains(err.Error(), "/x/libchdb.so") {
		t.Fatalf("got %v", err)
	}
}
