package lakehousestore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wardenhq/warden/internal/chdb"
	"github.com/wardenhq/warden/schema"
)

// Batch is what the exporter hands the store: canonical rows per table.
type Batch struct {
	Events  []schema.Event
	Metrics []schema.MetricPoint
	Blocks  []schema.PromptBlock
	Keys    []schema.PromptKey
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int { return len(b.Events) + len(b.Metrics) + len(b.Blocks) + len(b.Keys) }

// Stats are the store's counters (exported as metrics by the exporter).
type Stats struct {
	RowsWritten atomic.Int64 // rows inserted (all tables)
	Suppressed  atomic.Int64 // redelivered rows dropped: already in a replayed WAL segment
	Replayed    atomic.Int64 // rows replayed from the WAL at start-up
	LakeFiles   atomic.Int64 // Parquet files committed
	WALSegments atomic.Int64 // WAL segment files written
}

// Store owns the ClickHouse session (embedded chDB or a server) and the
// Parquet lake writer. Write is the one way rows enter both.
//
// Durability, per Write:
//  1. each table's rows are encoded once into a Native block; its sha256 is
//     the block's insert_deduplication_token;
//  2. the block is written to wal/<time>-<token>.<table>.native (temp name
//     + rename): the WAL of the lake and the INFILE of chDB at once;
//  3. INSERT ... FROM INFILE with the token (a retry stores nothing new);
//  4. the rows are appended to the open Parquet files.
//
// When the open Parquet generation rolls, its files are finished and
// fsynced, a manifest naming them and the WAL segments they cover is
// written, the files are renamed to their final names, the covered
// segments are marked done (kept a few seconds more for suppression, then
// deleted) and the manifest is removed. On start-up a leftover manifest
// completes its renames; segments not done are replayed into ClickHouse
// (same token: deduplicated) and into a new Parquet generation; the ids of
// all leftover segments form a suppression set, so queue items redelivered
// after a crash (possibly re-batched) that are already stored are dropped.
type Store struct {
	cfg    *Config
	log    *zap.Logger
	sink   sink
	ro     *chdb.Conn // read-only SQL session (embedded)
	codecs map[string]*Codec

	mu       sync.Mutex
	lake     *lake
	pending  []string // WAL segments covered by the open generation
	done     []doneSeg
	suppress map[[16]byte]struct{}
	written  map[string]struct{} // tokens stored by this process: a retried request skips them in both stores
	buf      []byte
	closed   bool
	stopRoll chan struct{}
	rollWG   sync.WaitGroup

	Stats Stats
}

type doneSeg struct {
	path string
	at   time.Time
}

type sink interface {
	schema.Execer
	insert(c *Codec, rows any, native []byte, walPath, token string) error
	close()
}

type chdbSink struct{ c *chdb.Conn }

func (s chdbSink) Exec(q string) error               { return s.c.Exec(q) }
func (s chdbSink) Query(q, f string) ([]byte, error) { return s.c.Query(q, f) }
func (s chdbSink) close()                            { s.c.Close() }
func (s chdbSink) insert(c *Codec, rows any, native []byte, walPath, token string) error {
	_, err := s.c.InsertNativeFile(c.Table.Name, walPath, token)
	return err
}

// Open starts the store: connects, migrates, finishes an interrupted roll,
// replays the WAL.
func Open(cfg *Config, log *zap.Logger) (*Store, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: log, codecs: map[string]*Codec{}, suppress: map[[16]byte]struct{}{}, written: map[string]struct{}{}, stopRoll: make(chan struct{})}
	for _, t := range []*schema.Table{schema.EventsTable, schema.MetricPointsTable, schema.PromptBlocksTable, schema.PromptKeysTable} {
		c, err := NewCodec(t)
		if err != nil {
			return nil, err
		}
		s.codecs[t.Name] = c
	}
	for _, d := range []string{cfg.walDir(), cfg.lakeDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("lakehouse: %w", err)
		}
	}
	ro := schema.RenderOptions{Database: cfg.ClickHouse.Database, NoCodecs: cfg.NoCodecs, RetentionDays: cfg.RetentionDays}
	switch cfg.ClickHouse.Mode {
	case ModeServer:
		sk, err := openServer(cfg)
		if err != nil {
			return nil, err
		}
		s.sink = sk
	default:
		conn, err := chdb.Open(chdb.Options{
			LibPath: cfg.ClickHouse.LibPath,
			Path:    cfg.chPath(),
			Settings: map[string]string{
				// Deduplicated blocks must not feed the rollups twice.
				"deduplicate_blocks_in_dependent_materialized_views": "1",
			},
		})
		if err != nil {
			return nil, fmt.Errorf("lakehouse: clickhouse.mode embedded: %w", err)
		}
		s.sink = chdbSink{conn}
		if _, err := schema.Migrate(s.sink, ro, schema.Migrations); err != nil {
			conn.Close()
			return nil, err
		}
		if cfg.SQL.Endpoint != "" {
			r, err := conn.Session(map[string]string{"readonly": "1", "max_execution_time": "60", "max_result_bytes": "268435456"})
			if err != nil {
				conn.Close()
				return nil, err
			}
			s.ro = r
		}
	}
	if cfg.ClickHouse.Mode == ModeServer {
		if _, err := schema.Migrate(s.sink, ro, schema.Migrations); err != nil {
			s.sink.close()
			return nil, err
		}
	}
	s.lake = newLake(cfg.lakeDir(), !cfg.NoCodecs)
	if err := s.recover(); err != nil {
		s.closeSinks()
		return nil, err
	}
	s.rollWG.Add(1)
	go s.rollLoop()
	return s, nil
}

func (s *Store) closeSinks() {
	if s.ro != nil {
		s.ro.Close()
	}
	s.sink.close()
}

// Write stores a batch in both stores. It returns the number of rows
// dropped as already stored (redelivered after a crash).
func (s *Store) Write(b *Batch) (suppressed int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("lakehouse: store closed")
	}
	if len(s.suppress) > 0 {
		suppressed = s.filterSuppressed(b)
	}
	for _, item := range []struct {
		name string
		rows any
		n    int
	}{
		// Keys and blocks before the events that reference them: a reader
		// never sees a prompt_ref whose block is not stored yet.
		{schema.PromptKeysTable.Name, b.Keys, len(b.Keys)},
		{schema.PromptBlocksTable.Name, b.Blocks, len(b.Blocks)},
		{schema.MetricPointsTable.Name, b.Metrics, len(b.Metrics)},
		{schema.EventsTable.Name, b.Events, len(b.Events)},
	} {
		if item.n == 0 {
			continue
		}
		if err := s.writeTable(s.codecs[item.name], item.rows, item.n); err != nil {
			return suppressed, err
		}
	}
	if s.lake.rows > 0 && (s.lake.bytes() >= s.cfg.Lake.RollBytes || s.lake.rows >= s.cfg.Lake.RollRows) {
		if err := s.rollLocked(); err != nil {
			return suppressed, err
		}
	}
	return suppressed, nil
}

func (s *Store) writeTable(c *Codec, rows any, n int) error {
	native, err := c.EncodeNative(rows, s.buf)
	if err != nil {
		return fmt.Errorf("lakehouse: encode %s: %w", c.Table.Name, err)
	}
	s.buf = native[:0]
	sum := sha256.Sum256(native)
	token := hex.EncodeToString(sum[:16])
	if _, dup := s.written[token]; dup {
		return nil // a retry of a request whose rows this table already stored
	}
	seg := filepath.Join(s.cfg.walDir(), fmt.Sprintf("%020d-%s.%s.native", time.Now().UnixNano(), token, c.Table.Name))
	if err := writeFileAtomic(seg, native, s.cfg.WALFsync); err != nil {
		return fmt.Errorf("lakehouse: wal: %w", err)
	}
	s.Stats.WALSegments.Add(1)
	if err := s.sink.insert(c, rows, native, seg, token); err != nil {
		// The segment stays: the queue retries the request (same rows, same
		// token), and a crash before that replays it.
		os.Remove(seg)
		return fmt.Errorf("lakehouse: insert %s: %w", c.Table.Name, err)
	}
	if err := s.lake.append(c, rows); err != nil {
		// ClickHouse has the rows; the segment stays pending so the lake
		// gets them at the next start even if this process dies now.
		s.pending = append(s.pending, seg)
		return err
	}
	s.pending = append(s.pending, seg)
	if len(s.written) > 100_000 {
		clear(s.written)
	}
	s.written[token] = struct{}{}
	s.Stats.RowsWritten.Add(int64(n))
	return nil
}

func (s *Store) filterSuppressed(b *Batch) int {
	dropped := 0
	keepE := b.Events[:0]
	for _, e := range b.Events {
		if _, ok := s.suppress[e.EventID]; ok {
			dropped++
			continue
		}
		keepE = append(keepE, e)
	}
	b.Events = keepE
	keepM := b.Metrics[:0]
	for _, m := range b.Metrics {
		if _, ok := s.suppress[m.PointID]; ok {
			dropped++
			continue
		}
		keepM = append(keepM, m)
	}
	b.Metrics = keepM
	s.Stats.Suppressed.Add(int64(dropped))
	return dropped
}

func writeFileAtomic(path string, data []byte, fsync bool) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

type manifest struct {
	Files    [][2]string `json:"files"`
	Segments []string    `json:"segments"`
}

// Roll commits the open Parquet generation now.
func (s *Store) Roll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rollLocked()
}

func (s *Store) rollLocked() error {
	if len(s.lake.files) == 0 {
		s.expireDone(false)
		return nil
	}
	files, err := s.lake.closeAll()
	if err != nil {
		return err
	}
	m := manifest{Files: files, Segments: s.pending}
	mb, _ := json.Marshal(m)
	mpath := filepath.Join(s.cfg.walDir(), fmt.Sprintf("roll-%020d.json", time.Now().UnixNano()))
	if err := writeFileAtomic(mpath, mb, true); err != nil {
		return fmt.Errorf("lakehouse: roll manifest: %w", err)
	}
	if err := s.commitManifest(mpath, m); err != nil {
		return err
	}
	s.pending = nil
	s.expireDone(false)
	return nil
}

// commitManifest renames the files of a finished generation and marks its
// segments done. Idempotent: start-up re-runs it for a leftover manifest.
func (s *Store) commitManifest(mpath string, m manifest) error {
	dirs := map[string]bool{}
	for _, f := range m.Files {
		if _, err := os.Stat(f[0]); err == nil {
			if err := os.Rename(f[0], f[1]); err != nil {
				return fmt.Errorf("lakehouse: commit %s: %w", f[1], err)
			}
		} else if _, err := os.Stat(f[1]); err != nil {
			return fmt.Errorf("lakehouse: manifest %s names %s, which is gone", mpath, f[1])
		}
		dirs[filepath.Dir(f[1])] = true
		s.Stats.LakeFiles.Add(1)
	}
	for d := range dirs {
		syncDir(d)
	}
	now := time.Now()
	for _, seg := range m.Segments {
		done := seg + ".done"
		if err := os.Rename(seg, done); err == nil || fileExists(done) {
			s.done = append(s.done, doneSeg{path: done, at: now})
		}
	}
	syncDir(s.cfg.walDir())
	return os.Remove(mpath)
}

// expireDone deletes done segments older than the suppression grace (all of
// them when force is set, at shutdown).
func (s *Store) expireDone(force bool) {
	keep := s.done[:0]
	for _, d := range s.done {
		if force || time.Since(d.at) >= s.cfg.WALGrace {
			os.Remove(d.path)
			continue
		}
		keep = append(keep, d)
	}
	s.done = keep
}

func (s *Store) rollLoop() {
	defer s.rollWG.Done()
	t := time.NewTicker(s.cfg.Lake.RollInterval / 4)
	defer t.Stop()
	for {
		select {
		case <-s.stopRoll:
			return
		case <-t.C:
			s.mu.Lock()
			if !s.closed && (len(s.lake.files) > 0 && time.Since(s.lake.started) >= s.cfg.Lake.RollInterval || len(s.lake.files) == 0) {
				if err := s.rollLocked(); err != nil {
					s.log.Error("lakehouse: roll failed; will retry", zap.Error(err))
				}
			}
			s.mu.Unlock()
		}
	}
}

// recover finishes an interrupted roll and replays WAL segments.
func (s *Store) recover() error {
	wal := s.cfg.walDir()
	entries, err := os.ReadDir(wal)
	if err != nil {
		return fmt.Errorf("lakehouse: wal: %w", err)
	}
	keepTmp := map[string]bool{}
	var manifests []string
	var segs, done []string
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "roll-") && strings.HasSuffix(n, ".json"):
			manifests = append(manifests, filepath.Join(wal, n))
		case strings.HasSuffix(n, ".native"):
			segs = append(segs, filepath.Join(wal, n))
		case strings.HasSuffix(n, ".native.done"):
			done = append(done, filepath.Join(wal, n))
		case strings.HasSuffix(n, ".tmp"):
			os.Remove(filepath.Join(wal, n)) // a segment that never finished: its request was never acknowledged
		}
	}
	sort.Strings(manifests)
	for _, mp := range manifests {
		data, err := os.ReadFile(mp)
		var m manifest
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err != nil {
			// A manifest is written atomically; a bad one is corruption.
			return fmt.Errorf("lakehouse: roll manifest %s is unreadable (%v): move it away to start, its files stay as .tmp", mp, err)
		}
		for _, f := range m.Files {
			keepTmp[f[0]] = true
		}
		if err := s.commitManifest(mp, m); err != nil {
			return err
		}
		// Segments covered by this manifest are done now.
		covered := map[string]bool{}
		for _, sg := range m.Segments {
			covered[sg] = true
		}
		rest := segs[:0]
		for _, sg := range segs {
			if covered[sg] {
				done = append(done, sg+".done")
			} else {
				rest = append(rest, sg)
			}
		}
		segs = rest
	}
	if err := cleanTemps(s.cfg.lakeDir(), nil); err != nil {
		return fmt.Errorf("lakehouse: clean lake temp files: %w", err)
	}
	sort.Strings(segs)
	for _, d := range done {
		if err := s.loadSuppression(d); err != nil {
			s.log.Warn("lakehouse: unreadable done WAL segment skipped", zap.String("segment", d), zap.Error(err))
		}
		s.done = append(s.done, doneSeg{path: d, at: time.Now()})
	}
	for _, sg := range segs {
		if err := s.replay(sg); err != nil {
			return err
		}
	}
	if len(segs) > 0 {
		s.log.Info("lakehouse: replayed WAL", zap.Int("segments", len(segs)), zap.Int64("rows", s.Stats.Replayed.Load()))
		return s.rollLocked()
	}
	return nil
}

func segTable(path string) (table, token string, ok bool) {
	base := filepath.Base(path)
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".done"), ".native")
	dash := strings.IndexByte(base, '-')
	dot := strings.IndexByte(base, '.')
	if dash < 0 || dot < dash {
		return "", "", false
	}
	return base[dot+1:], base[dash+1 : dot], true
}

func (s *Store) decodeSeg(path string) (*Codec, any, string, error) {
	table, token, ok := segTable(path)
	c := s.codecs[table]
	if !ok || c == nil {
		return nil, nil, "", fmt.Errorf("not a WAL segment name")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, "", err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:16]) != token {
		return nil, nil, "", fmt.Errorf("checksum mismatch (torn or corrupt segment)")
	}
	rows, err := c.DecodeNative(data)
	return c, rows, token, err
}

func (s *Store) loadSuppression(path string) error {
	_, rows, _, err := s.decodeSeg(path)
	if err != nil {
		return err
	}
	s.addSuppression(rows)
	return nil
}

func (s *Store) addSuppression(rows any) {
	switch r := rows.(type) {
	case []schema.Event:
		for _, e := range r {
			s.suppress[e.EventID] = struct{}{}
		}
	case []schema.MetricPoint:
		for _, m := range r {
			s.suppress[m.PointID] = struct{}{}
		}
	}
}

func (s *Store) replay(path string) error {
	c, rows, token, err := s.decodeSeg(path)
	if err != nil {
		// A segment is renamed into place only when complete, so this is
		// disk corruption: keep it aside for an operator, never guess.
		bad := path + ".corrupt"
		os.Rename(path, bad)
		s.log.Error("lakehouse: WAL segment is corrupt; moved aside, its rows were not replayed", zap.String("segment", bad), zap.Error(err))
		return nil
	}
	if err := s.sink.insert(c, rows, nil, path, token); err != nil {
		return fmt.Errorf("lakehouse: replay %s into ClickHouse: %w", path, err)
	}
	if err := s.lake.append(c, rows); err != nil {
		return fmt.Errorf("lakehouse: replay %s into the lake: %w", path, err)
	}
	s.pending = append(s.pending, path)
	s.addSuppression(rows)
	s.Stats.Replayed.Add(int64(reflectLen(rows)))
	return nil
}

// Query runs read-only SQL (the SQL endpoint's session, readonly=1).
func (s *Store) Query(sql, format string) ([]byte, error) {
	if s.ro == nil {
		return nil, errors.New("lakehouse: read-only SQL is not available in this mode")
	}
	return s.ro.Query(sql, format)
}

// Close commits the open generation and closes the sessions.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	err := s.rollLocked()
	s.expireDone(true)
	s.closed = true
	s.mu.Unlock()
	close(s.stopRoll)
	s.rollWG.Wait()
	s.closeSinks()
	return err
}

func syncDir(d string) {
	if f, err := os.Open(d); err == nil {
		f.Sync()
		f.Close()
	}
}

func reflectLen(rows any) int { return reflect.ValueOf(rows).Len() }

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
