package lakehousestore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// A journal is the open WAL file of one table. Each Write appends its rows
// as one Native block; the request may be acknowledged as soon as the
// append returns (with wal_fsync, after the fsync), because a crash keeps
// the file and the next start loads it. Native blocks appended one after
// another are themselves a valid Native stream, so when the journal seals
// (wal_seal_rows rows, or wal_seal_interval old) it is renamed into a
// segment that ClickHouse reads with one INSERT ... FROM INFILE: one part
// for many small requests, with the segment's digest as the insert
// deduplication token.
//
// This is what makes a persistent sending queue in front of the exporter
// unnecessary: the queue stored every request a second time (proto in
// bbolt, then read back and unmarshalled) only to hand it to this WAL.
type journal struct {
	c      *Codec
	path   string // wal/<seq>.<table>.open
	seq    int64
	f      *os.File
	h      hash.Hash // sha256 of the bytes appended so far
	size   int64
	rows   int
	opened time.Time
}

const journalSuffix = ".open"

func openJournal(dir string, c *Codec) (*journal, error) {
	seq := time.Now().UnixNano()
	p := filepath.Join(dir, fmt.Sprintf("%020d.%s%s", seq, c.Table.Name, journalSuffix))
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lakehouse: wal journal: %w", err)
	}
	return &journal{c: c, path: p, seq: seq, f: f, h: sha256.New(), opened: time.Now()}, nil
}

// append writes one block. On error the journal is cut back to where it
// was, so a failed request leaves nothing behind to be stored twice when
// the client retries it.
func (j *journal) append(block []byte, rows int) error {
	if _, err := j.f.Write(block); err != nil {
		return j.undo(j.size, fmt.Errorf("lakehouse: wal append %s: %w", j.path, err))
	}
	j.h.Write(block)
	j.size += int64(len(block))
	j.rows += rows
	return nil
}

// undo truncates the journal back to size (the length before a failed
// request) and returns cause. The digest restarts from the file, which is
// rare enough not to matter.
func (j *journal) undo(size int64, cause error) error {
	if err := j.f.Truncate(size); err != nil {
		return fmt.Errorf("%w; cutting the journal back also failed (%v): the partial request stays and may be stored twice if retried", cause, err)
	}
	if size != j.size {
		data, err := os.ReadFile(j.path)
		if err != nil {
			return fmt.Errorf("%w; re-reading the journal failed: %v", cause, err)
		}
		j.h.Reset()
		j.h.Write(data)
		j.size = size
	}
	return cause
}

// seal finishes the journal and renames it to a segment named by its
// digest: wal/<seq>-<token>.<table>.native.
func (j *journal) seal(fsync bool) (seg, token string, err error) {
	if fsync {
		err = j.f.Sync()
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", fmt.Errorf("lakehouse: wal seal %s: %w", j.path, err)
	}
	sum := j.h.Sum(nil)
	token = hex.EncodeToString(sum[:16])
	seg = segmentPath(filepath.Dir(j.path), j.seq, token, j.c.Table.Name)
	if err := os.Rename(j.path, seg); err != nil {
		return "", "", fmt.Errorf("lakehouse: wal seal %s: %w", j.path, err)
	}
	return seg, token, nil
}

func segmentPath(dir string, seq int64, token, table string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d-%s.%s.native", seq, token, table))
}

// journalName splits wal/<seq>.<table>.open.
func journalName(path string) (seq int64, table string, ok bool) {
	base := strings.TrimSuffix(filepath.Base(path), journalSuffix)
	dot := strings.IndexByte(base, '.')
	if dot <= 0 {
		return 0, "", false
	}
	if _, err := fmt.Sscanf(base[:dot], "%d", &seq); err != nil {
		return 0, "", false
	}
	return seq, base[dot+1:], true
}

// salvageJournal turns a journal left open by a crash into a segment: the
// whole blocks it holds are what was acknowledged; a torn tail (a request
// cut short by the crash, never acknowledged) is cut off and kept beside it
// as <journal>.tail-<time>.corrupt for an operator. It returns "" when the
// journal held no whole block.
func (s *Store) salvageJournal(path string) (string, error) {
	seq, table, ok := journalName(path)
	c := s.codecs[table]
	if !ok || c == nil {
		return "", fmt.Errorf("lakehouse: %s is not a WAL journal name", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("lakehouse: wal journal %s: %w", path, err)
	}
	_, n, derr := c.decodePrefix(data)
	if n < len(data) {
		tail := fmt.Sprintf("%s.tail-%d.corrupt", path, time.Now().UnixNano())
		if err := os.WriteFile(tail, data[n:], 0o600); err != nil {
			return "", fmt.Errorf("lakehouse: wal journal %s: keeping its torn tail: %w", path, err)
		}
		s.log.Warn("lakehouse: WAL journal had a torn tail (a request cut short by a crash, never acknowledged); the whole blocks before it are kept and loaded, the tail is set aside",
			zap.String("journal", path), zap.Int("kept_bytes", n), zap.Int("tail_bytes", len(data)-n), zap.String("tail_file", tail), zap.Error(derr))
		if err := os.Truncate(path, int64(n)); err != nil {
			return "", fmt.Errorf("lakehouse: wal journal %s: %w", path, err)
		}
	}
	if n == 0 {
		return "", os.Remove(path)
	}
	sum := sha256.Sum256(data[:n])
	seg := segmentPath(filepath.Dir(path), seq, hex.EncodeToString(sum[:16]), table)
	if err := os.Rename(path, seg); err != nil {
		return "", fmt.Errorf("lakehouse: wal journal %s: %w", path, err)
	}
	return seg, nil
}

// lockWAL takes an exclusive lock on the WAL directory for this process:
// two collectors appending to and replaying the same WAL would store rows
// twice or lose them.
func lockWAL(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lakehouse: wal lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lakehouse: the WAL directory %s is in use by another process (%v): one collector per data_dir", dir, err)
	}
	return f, nil
}
