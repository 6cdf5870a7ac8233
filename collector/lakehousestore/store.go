package lakehousestore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
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
	RowsWritten atomic.Int64 // rows accepted into the WAL (all tables)
	Suppressed  atomic.Int64 // redelivered rows dropped: already in a replayed WAL segment
	Replayed    atomic.Int64 // rows replayed from the WAL at start-up
	LakeFiles   atomic.Int64 // Parquet files committed
	WALSegments atomic.Int64 // WAL segments loaded into ClickHouse
}

// Store owns the ClickHouse session (embedded chDB or a server) and the
// Parquet lake writer. Write is the one way rows enter both.
//
// Durability, per Write:
//  1. each table's rows are encoded once into a Native block and appended
//     to the table's open WAL journal (journal.go); when Write returns, the
//     rows survive a crash of the process (with wal_fsync, of the machine)
//     and the request may be acknowledged;
//  2. the rows are appended to the open Parquet files.
//
// When a journal has wal_seal_rows rows or is wal_seal_interval old, all
// open journals are sealed into segments wal/<seq>-<token>.<table>.native
// (token: the digest of the segment) and loaded into ClickHouse with
// INSERT ... FROM INFILE and the token as insert_deduplication_token: many
// small requests become one MergeTree part, and loading a segment twice
// stores it once. A segment ClickHouse refuses stays queued in order and is
// retried; the WAL is bounded by wal_max_bytes, past which Write refuses
// (retryably) instead of growing without end.
//
// When the open Parquet generation rolls, the journals are sealed and
// loaded first, its files are finished and fsynced, a manifest naming them
// and the WAL segments they cover is written, the files are renamed to
// their final names, the covered segments are marked done (kept a while
// for suppression, then deleted) and the manifest is removed. On start-up
// a leftover manifest completes its renames; journals left open by a crash
// keep their whole blocks and are sealed; segments not done are replayed
// into ClickHouse (same token: deduplicated) and into a new Parquet
// generation; the ids of all leftover segments form a suppression set, so
// requests resent after a crash that are already stored are dropped.
type Store struct {
	cfg    *Config
	log    *zap.Logger
	sink   sink
	ro     *chdb.Conn // read-only SQL session (embedded)
	codecs map[string]*Codec

	mu            sync.Mutex
	lake          *lake
	walLock       *os.File
	journals      map[string]*journal // table -> open journal
	unloaded      []walSeg            // sealed, not in ClickHouse yet, oldest first
	unloadedBytes int64
	loadErr       error // why the oldest unloaded segment was refused
	loadErrAt     time.Time
	loadLogged    time.Time
	retryRoll     time.Time // no roll attempt before this (one just failed)
	sinkErr       error // the engine could not be opened: WAL only until a restart
	lakeOff       bool  // the open generation lacks rows: rebuilt from the WAL at the next roll
	pending       []string // WAL segments in ClickHouse and covered by the open generation
	done          []doneSeg
	suppress      map[[16]byte]struct{}
	recent        map[blockDigest]struct{} // blocks written lately: a resent request is stored once
	seeds         [2]maphash.Seed
	buf           []byte
	closed        bool
	stopRoll      chan struct{}
	rollWG        sync.WaitGroup

	Stats Stats
}

// walSeg is a sealed WAL segment.
type walSeg struct {
	path, token string
	c           *Codec
	size        int64
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
	s := &Store{cfg: cfg, log: log, codecs: map[string]*Codec{}, journals: map[string]*journal{}, suppress: map[[16]byte]struct{}{}, recent: map[blockDigest]struct{}{}, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, stopRoll: make(chan struct{})}
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
	lock, err := lockWAL(cfg.walDir())
	if err != nil {
		return nil, err
	}
	s.walLock = lock
	if err := s.openSinks(); err != nil {
		// The WAL does not need the engine: keep accepting into it, and
		// load it when the collector restarts with a working engine.
		s.sinkErr, s.lakeOff = err, true
		log.Error("lakehouse: ClickHouse is unavailable; records are still accepted into the WAL ("+cfg.walDir()+", up to wal_max_bytes) and are loaded into ClickHouse and the lake when the collector restarts with a working engine", zap.Error(err))
	}
	s.lake = newLake(cfg.lakeDir(), !cfg.NoCodecs)
	if err := s.recover(); err != nil {
		s.closeSinks()
		lock.Close()
		return nil, err
	}
	s.rollWG.Add(1)
	go s.rollLoop()
	return s, nil
}

// openSinks connects to the engine, migrates, and opens the read-only SQL
// session.
func (s *Store) openSinks() error {
	cfg := s.cfg
	ro := schema.RenderOptions{Database: cfg.ClickHouse.Database, NoCodecs: cfg.NoCodecs, RetentionDays: cfg.RetentionDays}
	switch cfg.ClickHouse.Mode {
	case ModeServer:
		sk, err := openServer(cfg)
		if err != nil {
			return err
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
			return fmt.Errorf("lakehouse: clickhouse.mode embedded: %w", err)
		}
		s.sink = chdbSink{conn}
		if _, err := schema.Migrate(s.sink, ro, schema.Migrations); err != nil {
			conn.Close()
			s.sink = nil
			return err
		}
		if cfg.SQL.Endpoint != "" {
			r, err := conn.Session(map[string]string{"readonly": "1", "max_execution_time": "60", "max_result_bytes": "268435456"})
			if err != nil {
				conn.Close()
				s.sink = nil
				return err
			}
			s.ro = r
		}
	}
	if cfg.ClickHouse.Mode == ModeServer {
		if _, err := schema.Migrate(s.sink, ro, schema.Migrations); err != nil {
			s.sink.close()
			s.sink = nil
			return err
		}
	}
	return nil
}

func (s *Store) closeSinks() {
	if s.ro != nil {
		s.ro.Close()
	}
	if s.sink != nil {
		s.sink.close()
	}
}

// Write appends a batch to the WAL and to the open Parquet generation.
// When it returns nil the rows are durable (see Store) and reach ClickHouse
// when their journal seals; on error nothing of the batch is kept, so a
// retry cannot store it twice. It returns the number of rows dropped as
// already stored (resent after a crash).
func (s *Store) Write(b *Batch) (suppressed int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("lakehouse: store closed")
	}
	if len(s.suppress) > 0 {
		suppressed = s.filterSuppressed(b)
	}
	if held := s.walHeld(); held >= s.cfg.WALMaxBytes {
		why := s.sinkErr
		if why == nil {
			why = s.loadErr
		}
		return suppressed, fmt.Errorf("lakehouse: the WAL holds %d bytes that ClickHouse has not taken (wal_max_bytes %d), so new records are refused until it does: %v", held, s.cfg.WALMaxBytes, why)
	}
	tables := [...]struct {
		c    *Codec
		rows any
		n    int
	}{
		// Keys and blocks before the events that reference them: a reader
		// never sees a prompt_ref whose block is not stored yet.
		{s.codecs[schema.PromptKeysTable.Name], b.Keys, len(b.Keys)},
		{s.codecs[schema.PromptBlocksTable.Name], b.Blocks, len(b.Blocks)},
		{s.codecs[schema.MetricPointsTable.Name], b.Metrics, len(b.Metrics)},
		{s.codecs[schema.EventsTable.Name], b.Events, len(b.Events)},
	}
	type mark struct {
		j    *journal
		size int64
		rows int
	}
	var marks []mark
	var digests [len(tables)]blockDigest
	var retried [len(tables)]bool
	undo := func(cause error) error {
		for _, m := range marks {
			cause = m.j.undo(m.size, cause)
			m.j.rows = m.rows
		}
		return cause
	}
	due := false
	for i, t := range tables {
		if t.n == 0 {
			continue
		}
		native, err := t.c.EncodeNative(t.rows, s.buf)
		if err != nil {
			return suppressed, undo(fmt.Errorf("lakehouse: encode %s: %w", t.c.Table.Name, err))
		}
		s.buf = native[:0]
		// The same rows again (a client resending a request whose answer
		// it lost) encode to the same bytes: stored once.
		digests[i] = s.digest(native)
		if _, dup := s.recent[digests[i]]; dup {
			retried[i] = true
			continue
		}
		j := s.journals[t.c.Table.Name]
		if j == nil {
			if j, err = openJournal(s.cfg.walDir(), t.c); err != nil {
				return suppressed, undo(err)
			}
			s.journals[t.c.Table.Name] = j
		}
		size, rows := j.size, j.rows
		if err := j.append(native, t.n); err != nil {
			return suppressed, undo(err)
		}
		marks = append(marks, mark{j, size, rows})
		due = due || j.rows >= s.cfg.WALSealRows || j.size >= sealBytes
	}
	if s.cfg.WALFsync {
		for _, m := range marks {
			if err := m.j.f.Sync(); err != nil {
				return suppressed, undo(fmt.Errorf("lakehouse: wal fsync %s: %w", m.j.path, err))
			}
		}
	}
	// Durable from here: whatever happens to the sinks, the request may be
	// acknowledged.
	n := 0
	for i, t := range tables {
		if t.n == 0 || retried[i] {
			continue
		}
		n += t.n
		if len(s.recent) >= 100_000 {
			clear(s.recent)
		}
		s.recent[digests[i]] = struct{}{}
		if s.lakeOff {
			continue
		}
		if err := s.lake.append(t.c, t.rows); err != nil {
			// The open files cannot be trusted now; the WAL can.
			s.lakeOff = true
			s.log.Error("lakehouse: writing the lake failed; its open generation is rebuilt from the WAL at the next roll", zap.Error(err))
		}
	}
	s.Stats.RowsWritten.Add(int64(n))
	if due {
		s.flushLocked()
	}
	if s.lake.rows > 0 && (s.lake.bytes() >= s.cfg.Lake.RollBytes || s.lake.rows >= s.cfg.Lake.RollRows) {
		s.tryRollLocked()
	}
	return suppressed, nil
}

// blockDigest identifies an encoded block among recent ones: 128 bits of
// two seeded maphashes, an order of magnitude cheaper than sha256 (this is
// a retry check, not a commitment; the segment's token is sha256).
type blockDigest [2]uint64

func (s *Store) digest(b []byte) blockDigest {
	return blockDigest{maphash.Bytes(s.seeds[0], b), maphash.Bytes(s.seeds[1], b)}
}

// sealBytes seals a journal whatever its row count: segments stay a size
// one INSERT reads comfortably.
const sealBytes = 256 << 20

// WALWaiting is what the WAL holds that ClickHouse has not taken, in bytes.
func (s *Store) WALWaiting() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.walHeld()
}

// walHeld is what the WAL holds that ClickHouse has not taken.
func (s *Store) walHeld() int64 {
	n := s.unloadedBytes
	for _, j := range s.journals {
		n += j.size
	}
	return n
}

// sealOrder: prompt keys and blocks load before the events that reference
// them.
var sealOrder = []string{schema.PromptKeysTable.Name, schema.PromptBlocksTable.Name, schema.MetricPointsTable.Name, schema.EventsTable.Name}

// Flush seals the open journals and loads them into ClickHouse now.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
	if len(s.unloaded) > 0 {
		return fmt.Errorf("%w: %v", errLoadPending, s.loadErr)
	}
	return nil
}

// flushLocked seals every open journal and loads what ClickHouse has not
// taken yet.
func (s *Store) flushLocked() {
	for _, name := range sealOrder {
		j := s.journals[name]
		if j == nil {
			continue
		}
		delete(s.journals, name)
		seg, token, err := j.seal(s.cfg.WALFsync)
		if err != nil {
			// The journal stays under its name and is salvaged at the next
			// start; the lake must not keep its rows meanwhile.
			s.lakeOff = true
			s.log.Error("lakehouse: sealing a WAL journal failed; it is loaded at the next start", zap.Error(err))
			continue
		}
		s.unloaded = append(s.unloaded, walSeg{path: seg, token: token, c: j.c, size: j.size})
		s.unloadedBytes += j.size
	}
	s.loadLocked()
}

// errLoadPending: sealed segments wait for ClickHouse.
var errLoadPending = errors.New("lakehouse: WAL segments are waiting for ClickHouse")

// loadLocked inserts sealed segments into ClickHouse, oldest first; it
// stops at the first refusal and keeps the rest for the next attempt.
func (s *Store) loadLocked() {
	for len(s.unloaded) > 0 {
		u := s.unloaded[0]
		err := s.sinkErr
		if err == nil {
			err = s.sink.insert(u.c, nil, nil, u.path, u.token)
		}
		if err != nil {
			if s.loadErr == nil || time.Since(s.loadLogged) >= time.Minute {
				s.log.Error("lakehouse: ClickHouse refused a WAL segment; it stays in the WAL and is retried", zap.String("segment", u.path), zap.Int("waiting_segments", len(s.unloaded)), zap.Error(err))
				s.loadLogged = time.Now()
			}
			s.loadErr, s.loadErrAt = err, time.Now()
			return
		}
		s.unloaded = s.unloaded[1:]
		s.unloadedBytes -= u.size
		s.pending = append(s.pending, u.path)
		s.Stats.WALSegments.Add(1)
	}
	if s.loadErr != nil {
		s.log.Info("lakehouse: ClickHouse takes the WAL again")
		s.loadErr = nil
	}
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
	// The manifest marks the segments it covers done: every one of them
	// must be in ClickHouse first.
	s.flushLocked()
	if len(s.unloaded) > 0 {
		s.expireDone(false)
		return fmt.Errorf("%w (%d waiting): %v", errLoadPending, len(s.unloaded), s.loadErr)
	}
	if s.lakeOff && s.sinkErr == nil {
		if err := s.rebuildLake(); err != nil {
			return err
		}
	}
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

// rebuildLake throws the open generation away and writes it again from the
// WAL segments it covers: after a lake write failed part-way, its open files
// cannot be trusted, the WAL can.
func (s *Store) rebuildLake() error {
	s.lake.abort()
	for _, p := range s.pending {
		c, rows, _, err := s.decodeSeg(p)
		if err == nil {
			err = s.lake.append(c, rows)
		}
		if err != nil {
			s.lake.abort()
			return fmt.Errorf("lakehouse: rebuilding the lake's open generation from %s: %w", p, err)
		}
	}
	s.lakeOff = false
	s.log.Info("lakehouse: the lake's open generation was rebuilt from the WAL", zap.Int("segments", len(s.pending)))
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
	every := min(s.cfg.WALSealInterval/2, s.cfg.Lake.RollInterval/4)
	t := time.NewTicker(max(every, 20*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stopRoll:
			return
		case <-t.C:
			s.mu.Lock()
			if !s.closed {
				s.tickLocked()
			}
			s.mu.Unlock()
		}
	}
}

// tickLocked seals journals that are old enough, retries refused segments
// (at most once a second) and rolls the lake when its generation is old.
func (s *Store) tickLocked() {
	old := false
	for _, j := range s.journals {
		old = old || time.Since(j.opened) >= s.cfg.WALSealInterval
	}
	if old || len(s.unloaded) > 0 && time.Since(s.loadErrAt) >= time.Second {
		s.flushLocked()
	}
	switch {
	case s.sinkErr != nil:
		return // nothing reaches ClickHouse or the lake before a restart
	case len(s.lake.files) == 0 && !s.lakeOff:
		s.expireDone(false)
		return
	case !s.lakeOff && time.Since(s.lake.started) < s.cfg.Lake.RollInterval:
		return
	}
	s.tryRollLocked()
}

// tryRollLocked rolls unless a roll failed less than a quarter of
// lake.roll_interval ago: each attempt seals the open journals, and a
// failing one must not cut them into tiny segments.
func (s *Store) tryRollLocked() {
	if time.Now().Before(s.retryRoll) {
		return
	}
	if err := s.rollLocked(); err != nil {
		s.retryRoll = time.Now().Add(s.cfg.Lake.RollInterval / 4)
		if !errors.Is(err, errLoadPending) {
			s.log.Error("lakehouse: roll failed; will retry", zap.Error(err))
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
	var segs, done, journals []string
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, journalSuffix):
			journals = append(journals, filepath.Join(wal, n))
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
	// Journals left open by a crash: what they hold whole was acknowledged.
	for _, j := range journals {
		seg, err := s.salvageJournal(j)
		if err != nil {
			return err
		}
		if seg != "" {
			segs = append(segs, seg)
		}
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
		if s.sinkErr != nil {
			s.queueUnloaded(sg)
			continue
		}
		if err := s.replay(sg); err != nil {
			return err
		}
	}
	if s.sinkErr != nil {
		return nil
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

// queueUnloaded keeps a leftover segment for when ClickHouse is back (the
// next start) and suppresses its rows meanwhile.
func (s *Store) queueUnloaded(path string) {
	c, rows, token, err := s.decodeSeg(path)
	if err != nil {
		s.setAside(path, err)
		return
	}
	s.addSuppression(rows)
	st, _ := os.Stat(path)
	s.unloaded = append(s.unloaded, walSeg{path: path, token: token, c: c, size: st.Size()})
	s.unloadedBytes += st.Size()
}

func (s *Store) setAside(path string, err error) {
	// A segment is renamed into place only when complete, so this is disk
	// corruption: keep it aside for an operator, never guess.
	bad := path + ".corrupt"
	os.Rename(path, bad)
	s.log.Error("lakehouse: WAL segment is corrupt; moved aside, its rows were not replayed", zap.String("segment", bad), zap.Error(err))
}

func (s *Store) replay(path string) error {
	c, rows, token, err := s.decodeSeg(path)
	if err != nil {
		s.setAside(path, err)
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
	if errors.Is(err, errLoadPending) {
		s.log.Warn("lakehouse: WAL segments ClickHouse has not taken stay in the WAL and are loaded at the next start", zap.Int("segments", len(s.unloaded)), zap.Int64("bytes", s.unloadedBytes), zap.Error(s.loadErr))
		err = nil
	}
	s.expireDone(true)
	s.closed = true
	s.mu.Unlock()
	close(s.stopRoll)
	s.rollWG.Wait()
	s.closeSinks()
	s.walLock.Close()
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
