package lakehousestore

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenhq/warden/schema"
)

func mkEvents(tenant string, from, n int) []schema.Event {
	out := make([]schema.Event, n)
	for i := range out {
		var id [16]byte
		copy(id[:], tenant)
		binary.BigEndian.PutUint64(id[8:], uint64(from+i))
		out[i] = schema.Event{EventID: id, Tenant: tenant, TS: time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC).Add(time.Duration(i) * time.Second),
			SchemaVersion: 1, Kind: schema.KindModelCall, Model: "m", InputTokens: uint64(from + i), CostUSD: 0.5,
			Attributes: map[string]string{"i": fmt.Sprint(from + i)}}
	}
	return out
}

func countBoth(t *testing.T, s *Store, tenant string) (ch, lake string) {
	t.Helper()
	out, err := s.sink.Query("SELECT count(), uniqExact(event_id), sum(input_tokens) FROM events WHERE tenant='"+tenant+"'", "TSV")
	if err != nil {
		t.Fatal(err)
	}
	glob := filepath.Join(s.cfg.lakeDir(), "events", "tenant="+tenant, "*", "*.parquet")
	files, _ := filepath.Glob(glob)
	lk := "0\t0\t0"
	if len(files) > 0 {
		o, err := s.sink.Query("SELECT count(), uniqExact(event_id), sum(input_tokens) FROM file('"+glob+"', Parquet)", "TSV")
		if err != nil {
			t.Fatal(err)
		}
		lk = strings.TrimSpace(string(o))
	}
	return strings.TrimSpace(string(out)), lk
}

// Small requests gather in the journal, reach ClickHouse as one segment
// when it seals, and the lake when its generation rolls; loading the same
// segment again (a retry after an unanswered insert) stores nothing new.
func TestWriteSealRollExactlyOnce(t *testing.T) {
	s := testStore(t)
	tn := uniqTenant("tw")
	for i := 0; i < 100; i += 10 {
		if _, err := s.Write(&Batch{Events: mkEvents(tn, i, 10)}); err != nil {
			t.Fatal(err)
		}
	}
	if ch, _ := countBoth(t, s, tn); ch != "0\t0\t0" {
		t.Fatalf("ClickHouse has %q before the journal sealed", ch)
	}
	s.mu.Lock()
	s.flushLocked()
	seg := s.pending[len(s.pending)-1]
	s.mu.Unlock()
	if ch, lk := countBoth(t, s, tn); ch != "100\t100\t4950" || lk != "0\t0\t0" {
		t.Fatalf("after the seal: clickhouse %q lake %q", ch, lk)
	}
	_, _, token, err := s.decodeSeg(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sink.insert(s.codecs["events"], nil, nil, seg, token); err != nil {
		t.Fatal(err)
	}
	if err := s.Roll(); err != nil {
		t.Fatal(err)
	}
	ch, lk := countBoth(t, s, tn)
	if ch != "100\t100\t4950" || lk != ch {
		t.Fatalf("clickhouse %q lake %q", ch, lk)
	}
	// A reader never sees temp files: none are left after a roll.
	tmps, _ := filepath.Glob(filepath.Join(s.cfg.lakeDir(), "events", "tenant="+tn, "*", ".*.tmp"))
	if len(tmps) != 0 {
		t.Fatalf("temp files after roll: %v", tmps)
	}
}

func TestCrashReplaysWALAndSuppressesRedelivery(t *testing.T) {
	s := testStore(t)
	tn := uniqTenant("tc")
	if _, err := s.Write(&Batch{Events: mkEvents(tn, 0, 50)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Roll(); err != nil {
		t.Fatal(err)
	}
	// Acknowledged but only in the open (unrolled) Parquet file when the
	// process dies.
	if _, err := s.Write(&Batch{Events: mkEvents(tn, 50, 50)}); err != nil {
		t.Fatal(err)
	}
	crashStore(t)
	s = testStore(t)
	if got := s.Stats.Replayed.Load(); got < 50 {
		t.Fatalf("replayed %d rows, want >= 50", got)
	}
	// The queue redelivers items 40..99, re-batched differently.
	if _, err := s.Write(&Batch{Events: mkEvents(tn, 40, 30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(&Batch{Events: mkEvents(tn, 70, 30)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Roll(); err != nil {
		t.Fatal(err)
	}
	ch, lk := countBoth(t, s, tn)
	want := fmt.Sprintf("100\t100\t%d", 99*100/2)
	if ch != want || lk != want {
		t.Fatalf("after crash: clickhouse %q lake %q, want %q", ch, lk, want)
	}
	if s.Stats.Suppressed.Load() < 50 {
		t.Fatalf("suppressed %d", s.Stats.Suppressed.Load())
	}
}

func TestInterruptedRollCompletesOnStart(t *testing.T) {
	s := testStore(t)
	tn := uniqTenant("tr")
	if _, err := s.Write(&Batch{Events: mkEvents(tn, 0, 20)}); err != nil {
		t.Fatal(err)
	}
	// Crash after the manifest was written but before any rename.
	s.mu.Lock()
	s.flushLocked()
	files, err := s.lake.closeAll()
	if err != nil {
		t.Fatal(err)
	}
	m := manifest{Files: files, Segments: s.pending}
	s.pending = nil
	mb := fmt.Sprintf(`{"files":[["%s","%s"]],"segments":["%s"]}`, files[0][0], files[0][1], m.Segments[0])
	os.WriteFile(filepath.Join(s.cfg.walDir(), "roll-00000000000000000001.json"), []byte(mb), 0o600)
	s.mu.Unlock()
	crashStore(t)
	s = testStore(t)
	ch, lk := countBoth(t, s, tn)
	if ch != "20\t20\t190" || lk != ch {
		t.Fatalf("clickhouse %q lake %q", ch, lk)
	}
}

// A journal left open by a crash in the middle of an append keeps its whole
// blocks (the acknowledged requests): they are loaded into both stores, and
// the torn tail is set aside, never loaded.
func TestTornJournalKeepsWholeBlocks(t *testing.T) {
	s := testStore(t)
	tn := uniqTenant("tj")
	for i := 0; i < 30; i += 10 {
		if _, err := s.Write(&Batch{Events: mkEvents(tn, i, 10)}); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	path := s.journals["events"].path
	s.mu.Unlock()
	crashStore(t)
	half, err := s.codecs["events"].EncodeNative(mkEvents(tn, 30, 10), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(half[:len(half)/2])
	f.Close()
	s = testStore(t)
	ch, lk := countBoth(t, s, tn)
	if ch != "30\t30\t435" || lk != ch {
		t.Fatalf("after the torn journal: clickhouse %q lake %q", ch, lk)
	}
	tails, _ := filepath.Glob(path + ".tail-*.corrupt")
	if len(tails) != 1 {
		t.Fatalf("torn tail not set aside: %v", tails)
	}
	if b, _ := os.ReadFile(tails[0]); len(b) != len(half)/2 {
		t.Fatalf("tail file holds %d bytes, want %d", len(b), len(half)/2)
	}
}

// sealAt makes the shared store's journals seal at rows rows for this test.
func sealAt(t *testing.T, s *Store, rows int) {
	s.mu.Lock()
	was := s.cfg.WALSealRows
	s.cfg.WALSealRows = rows
	s.mu.Unlock()
	t.Cleanup(func() { s.mu.Lock(); s.cfg.WALSealRows = was; s.mu.Unlock() })
}

// A journal seals by itself when it holds wal_seal_rows rows, or when it is
// wal_seal_interval old.
func TestJournalSealsByRowsAndAge(t *testing.T) {
	s := testStore(t)
	tn := uniqTenant("ts")
	sealAt(t, s, 25)
	if _, err := s.Write(&Batch{Events: mkEvents(tn, 0, 30)}); err != nil {
		t.Fatal(err)
	}
	if ch, _ := countBoth(t, s, tn); ch != "30\t30\t435" {
		t.Fatalf("a journal past wal_seal_rows was not loaded: %q", ch)
	}
	if _, err := s.Write(&Batch{Events: mkEvents(tn, 30, 3)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ch, _ := countBoth(t, s, tn)
		if ch == "33\t33\t528" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a journal older than wal_seal_interval (%v) was not loaded: %q", s.cfg.WALSealInterval, ch)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Without a working engine (a missing libchdb.so) the store still accepts
// records into the WAL, up to wal_max_bytes, then refuses with an error that
// says why; the next start with a working engine loads every accepted one.
func TestUnavailableEngineKeepsRecordsInWAL(t *testing.T) {
	testStore(t)
	crashStore(t)
	cfg := testConfig("/nonexistent/libchdb.so")
	cfg.WALMaxBytes = 1 << 20
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatalf("open without an engine: %v", err)
	}
	degraded := s
	t.Cleanup(func() { degraded.Close() })
	if s.sinkErr == nil {
		t.Fatal("no engine error")
	}
	tn := uniqTenant("tu")
	accepted := 0
	var refused error
	for i := 0; i < 10000 && refused == nil; i += 100 {
		if _, refused = s.Write(&Batch{Events: mkEvents(tn, i, 100)}); refused == nil {
			accepted += 100
		}
	}
	if refused == nil || !strings.Contains(refused.Error(), "wal_max_bytes") || !strings.Contains(refused.Error(), s.sinkErr.Error()) {
		t.Fatalf("no clear refusal past wal_max_bytes after %d rows: %v", accepted, refused)
	}
	if w := s.WALWaiting(); w < cfg.WALMaxBytes {
		t.Fatalf("WAL waiting %d bytes at the refusal, want >= %d", w, cfg.WALMaxBytes)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = testStore(t)
	ch, lk := countBoth(t, s, tn)
	want := fmt.Sprintf("%d\t%d\t%d", accepted, accepted, accepted*(accepted-1)/2)
	if ch != want || lk != want {
		t.Fatalf("after the engine came back: clickhouse %q lake %q, want %q", ch, lk, want)
	}
}

func TestCorruptSegmentIsSetAsideNotFatal(t *testing.T) {
	s := testStore(t)
	bad := filepath.Join(s.cfg.walDir(), "00000000000000000001-0123456789abcdef0123456789abcdef.events.native")
	os.WriteFile(bad, []byte("garbage"), 0o600)
	crashStore(t)
	s = testStore(t)
	if _, err := os.Stat(bad + ".corrupt"); err != nil {
		t.Fatalf("corrupt segment not set aside: %v", err)
	}
	if _, err := s.Write(&Batch{Events: mkEvents("tk", 0, 3)}); err != nil {
		t.Fatal(err)
	}
}

func TestSQLEndpointReadOnlyWithToken(t *testing.T) {
	s := testStore(t)
	tokPath := filepath.Join(sharedDir, "sql.token")
	tok, err := EnsureToken(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(tokPath); st.Mode().Perm() != 0o600 {
		t.Fatalf("token mode %v", st.Mode().Perm())
	}
	srv, err := startSQL(s, "127.0.0.1:0", tok)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	if _, err := startSQL(s, "0.0.0.0:0", tok); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("non-loopback accepted: %v", err)
	}
	do := func(tk, q string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+srv.Addr()+"/v1/sql?format=TSV", strings.NewReader(q))
		req.Header.Set("Authorization", "Bearer "+tk)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, _ := do("wrong", "SELECT 1"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, body := do(tok, "SELECT 1+1"); code != 200 || strings.TrimSpace(body) != "2" {
		t.Fatalf("%d %q", code, body)
	}
	for _, q := range []string{"INSERT INTO events (tenant) SELECT 'x'", "DROP TABLE events", "SET readonly = 0", "CREATE TABLE z (a Int8) ENGINE = Memory"} {
		if code, body := do(tok, q); code != 400 || !strings.Contains(strings.ToLower(body), "readonly") {
			t.Fatalf("%q: %d %q", q, code, body)
		}
	}
	os.Chmod(tokPath, 0o644)
	defer os.Chmod(tokPath, 0o600) // the package shares its data dir across runs
	if _, err := EnsureToken(tokPath); err == nil {
		t.Fatal("group-readable token file accepted")
	}
}

var tenantSeq atomic.Int64

// uniqTenant gives each test invocation its own tenant (at most 8 bytes, the
// width mkEvents copies into event ids): the package shares one store (one
// chDB engine per process), so `go test -count=N` would otherwise see the
// previous run's rows and dedup tokens.
func uniqTenant(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, tenantSeq.Add(1))
}

// Concurrent writers while journals seal (by rows and by age) and the lake
// rolls: every row lands exactly once in both stores.
func TestConcurrentWritesWhileSealing(t *testing.T) {
	s := testStore(t)
	tn := uniqTenant("tp")
	sealAt(t, s, 700)
	const writers, each, per = 8, 20, 37
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; i < each; i++ {
				from := (w*each + i) * per
				if _, err := s.Write(&Batch{Events: mkEvents(tn, from, per)}); err != nil {
					errs <- err
					return
				}
				if i%7 == 0 {
					if err := s.Roll(); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < writers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Roll(); err != nil {
		t.Fatal(err)
	}
	n := writers * each * per
	want := fmt.Sprintf("%d\t%d\t%d", n, n, n*(n-1)/2)
	if ch, lk := countBoth(t, s, tn); ch != want || lk != want {
		t.Fatalf("clickhouse %q lake %q, want %q", ch, lk, want)
	}
}
