package lakehousestore

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// TestCPUBreakdown is a manual measurement (CPU_BREAKDOWN=1), not a test:
// process CPU (Go and chDB threads, merges included) per row of inserting
// the same 32768-row Native blocks into events (dedup token, rollup MV,
// skip indexes) and into copies without the MV, without the token, and
// without the skip indexes, one table after the other, each measured from
// an idle engine until its merges have settled. chDB's background work
// makes single figures noisy (BENCHMARKS.md quotes the collector-level
// A/B runs instead); this is for a first look.
func TestCPUBreakdown(t *testing.T) {
	if os.Getenv("CPU_BREAKDOWN") == "" {
		t.Skip("manual measurement: CPU_BREAKDOWN=1")
	}
	s := testStore(t)
	c := s.codecs["events"]
	conn := s.sink.(chdbSink).c
	for _, q := range []string{
		"CREATE TABLE nomv AS events",
		"CREATE TABLE nomv_notoken AS events",
		"CREATE TABLE bare AS events",
		"ALTER TABLE bare DROP INDEX idx_session",
		"ALTER TABLE bare DROP INDEX idx_user",
	} {
		if err := conn.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	const per, batches = 32768, 12
	var files []string
	t0 := cpuNow()
	for k := 0; k < batches; k++ {
		rows := benchEvents(per)
		for i := range rows {
			rows[i].EventID[3] = byte(k)
			rows[i].Tenant = "cpu"
		}
		data, err := c.EncodeNative(rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(sharedDir, fmt.Sprintf("b%d.native", k))
		os.WriteFile(f, data, 0o600)
		files = append(files, f)
	}
	enc := cpuNow() - t0
	idle := func() {
		// Merges are scheduled a little after an insert: idle means no
		// merge running for 2 s in a row.
		quiet := 0
		for i := 0; i < 400 && quiet < 20; i++ {
			out, _ := conn.Query("SELECT count() FROM system.merges", "TSV")
			if string(out) == "0\n" {
				quiet++
			} else {
				quiet = 0
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	n := float64(per * batches)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / n / 1000 }
	t.Logf("encode (benchEvents + Native) %.2f µs/row", us(enc))
	for round := 0; round < 2; round++ {
		for _, v := range []struct{ table, token string }{{"events", "tok"}, {"nomv", "tok"}, {"nomv_notoken", ""}, {"bare", ""}} {
			idle()
			t0 := cpuNow()
			for k, f := range files {
				tok := ""
				if v.token != "" {
					tok = fmt.Sprintf("%s%d_%d", v.token, round, k)
				}
				if _, err := conn.InsertNativeFile(v.table, f, tok); err != nil {
					t.Fatal(err)
				}
			}
			idle()
			t.Logf("round %d: %-13s %.2f CPU µs/row (inserts and their merges)", round, v.table, us(cpuNow()-t0))
		}
	}
}
