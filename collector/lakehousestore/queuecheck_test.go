package lakehousestore

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// A file_storage queue file bbolt cannot read is moved aside (kept) and
// logged by name; a readable one is left alone.
func TestCorruptQueueFileIsSetAside(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "exporter_otlphttp__logs")
	db, err := bolt.Open(good, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("default"))
		if err != nil {
			return err
		}
		return b.Put([]byte("ri"), []byte{1})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	bad := filepath.Join(dir, "exporter_kafka__logs")
	if err := os.WriteFile(bad, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.ErrorLevel)
	moved, err := checkQueueDir(dir, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 1 || !strings.HasPrefix(moved[0], bad+".corrupt-") {
		t.Fatalf("moved %v, want only %s", moved, bad)
	}
	if _, err := os.Stat(good); err != nil {
		t.Fatalf("the readable queue file was touched: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("the corrupt file is still in place: %v", err)
	}
	if logs.Len() != 1 || logs.All()[0].ContextMap()["file"] != bad {
		t.Fatalf("no error naming the file: %v", logs.All())
	}
	// A second start finds nothing more to move (backups have an extension).
	if again, err := checkQueueDir(dir, zap.NewNop()); err != nil || len(again) != 0 {
		t.Fatalf("second check moved %v (%v)", again, err)
	}
}
