package lakehousestore

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wardenhq/warden/internal/chdb"
)

// chDB runs one engine per process on one path: every test of this package
// shares one data dir and one Store; crash tests abandon it and reopen the
// same dir.
var (
	sharedMu    sync.Mutex
	sharedDir   string
	sharedStore *Store
)

func libPath() string {
	p := chdb.LibPath("")
	if !filepath.IsAbs(p) {
		p, _ = filepath.Abs(filepath.Join("..", "..", p))
	}
	return p
}

func requireLib(t testing.TB) string {
	p := libPath()
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("WARDEN_REQUIRE_CHDB") != "" {
			t.Fatalf("libchdb.so required at %s", p)
		}
		t.Skipf("libchdb.so not at %s (make deps-chdb)", p)
	}
	return p
}

func testConfig(lib string) *Config {
	cfg := DefaultConfig()
	cfg.DataDir = sharedDir
	cfg.ClickHouse.LibPath = lib
	cfg.SQL.Endpoint = "127.0.0.1:0"
	cfg.WALGrace = time.Hour
	cfg.Lake.RollInterval = time.Hour
	return cfg
}

// testStore returns the shared store, opening it if needed.
func testStore(t testing.TB) *Store {
	lib := requireLib(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedStore == nil {
		var err error
		if sharedDir == "" {
			if sharedDir, err = os.MkdirTemp("", "lakehousestore-test"); err != nil {
				t.Fatal(err)
			}
		}
		sharedStore, err = Open(testConfig(lib), nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	return sharedStore
}

// crashStore abandons the store as a kill -9 would: no roll, open Parquet
// temp files left as they are; only the engine session is closed so the
// same directory can be opened again.
func crashStore(t testing.TB) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	s := sharedStore
	s.mu.Lock()
	s.closed = true
	for _, lf := range s.lake.files {
		lf.bw.Flush() // whatever the OS had; the footer is never written
		lf.f.Close()
	}
	for _, j := range s.journals {
		j.f.Close() // left open, as a killed process leaves it
	}
	s.mu.Unlock()
	close(s.stopRoll)
	s.rollWG.Wait()
	s.closeSinks()
	s.walLock.Close()
	sharedStore = nil
}

func testConn(t testing.TB) *chdb.Conn {
	return testStore(t).sink.(chdbSink).c
}

func userFiles(t testing.TB) string {
	d := filepath.Join(sharedDir, "files")
	os.MkdirAll(d, 0o700)
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedStore != nil {
		sharedStore.Close()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}
