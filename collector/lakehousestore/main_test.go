package lakehousestore

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wardenhq/warden/internal/chdb"
	"github.com/wardenhq/warden/schema"
)

var (
	sharedOnce sync.Once
	sharedConn *chdb.Conn
	sharedDir  string
	sharedErr  error
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

// testConn is the package's one chDB session (one engine per process).
func testConn(t testing.TB) *chdb.Conn {
	lib := requireLib(t)
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "lakehousestore-test")
		if sharedErr != nil {
			return
		}
		sharedConn, sharedErr = chdb.Open(chdb.Options{LibPath: lib, Path: filepath.Join(sharedDir, "ch")})
		if sharedErr != nil {
			return
		}
		_, sharedErr = schema.Migrate(sharedConn, schema.RenderOptions{}, schema.Migrations)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedConn
}

func userFiles(t testing.TB) string {
	d := filepath.Join(sharedDir, "files")
	os.MkdirAll(d, 0o700)
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedConn != nil {
		sharedConn.Close()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}
