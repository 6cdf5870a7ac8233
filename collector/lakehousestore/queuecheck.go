package lakehousestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
)

// checkQueueDir opens every file_storage (bbolt) file in dir read-only
// before the exporters' persistent queues open them. A file that bbolt
// cannot open (both meta pages bad: "invalid database") would stop the
// collector from starting with an error that names no file; instead it is
// renamed to <file>.corrupt-<time> (kept for forensic recovery, never
// deleted) and logged with its path, and the queue starts empty. A file
// bbolt can open (it falls back to its second meta page) is left alone.
func checkQueueDir(dir string, log *zap.Logger) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("queue_check_dir: %w", err)
	}
	var moved []string
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != "" {
			continue // file_storage names its files without an extension; backups have one
		}
		p := filepath.Join(dir, e.Name())
		if bad := openErr(p); bad != nil {
			dst := fmt.Sprintf("%s.corrupt-%d", p, time.Now().Unix())
			if err := os.Rename(p, dst); err != nil {
				return moved, fmt.Errorf("queue file %s is corrupt (%v) and cannot be moved aside: %w", p, bad, err)
			}
			log.Error("lakehouse: persistent queue file is corrupt; moved aside, the queue starts empty (its undelivered requests are in the backup)",
				zap.String("file", p), zap.String("backup", dst), zap.Error(bad))
			moved = append(moved, dst)
		}
	}
	return moved, nil
}

func openErr(p string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bbolt panic: %v", r)
		}
	}()
	db, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil // locked by a running process: not ours to judge
		}
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		// Walk the buckets so a corrupt page tree shows up now, not later.
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error { return nil })
		})
	})
}
